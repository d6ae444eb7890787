#include "surveys/themes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace treu::survey {
namespace {

std::string Render(const std::vector<Theme>& themes) {
  std::string out;
  for (const Theme& t : themes) {
    if (!out.empty()) out += ", ";
    out += t.text + "=" + std::to_string(t.count);
  }
  return out;
}

TEST(StopWordsTest, Lists) {
  EXPECT_TRUE(IsStopWord("die", "de"));
  EXPECT_TRUE(IsStopWord("für", "de"));
  EXPECT_TRUE(IsStopWord("daß", "de"));
  EXPECT_FALSE(IsStopWord("the", "de"));
  EXPECT_TRUE(IsStopWord("the", "en"));
  EXPECT_TRUE(IsStopWord("don't", "en"));
  EXPECT_FALSE(IsStopWord("die", "en"));
  EXPECT_TRUE(IsStopWord("die", ""));
  EXPECT_TRUE(IsStopWord("the", ""));
  EXPECT_FALSE(IsStopWord("lieferung", ""));
}

TEST(TopThemesTest, GermanDetractorComments) {
  const std::vector<std::string> comments = {
      "Die Lieferung war viel zu langsam",
      "Lieferung zu langsam!",
      "Die Lieferung kam zu spät, die Verpackung war beschädigt.",
      "Verpackung beschädigt, Ware okay",
      "Kundenservice antwortet nicht",
  };
  // lieferung 3; beschädigt 2, langsam 2, verpackung 2; the phrase "verpackung beschädigt"
  // appears twice (in the third comment only "verpackung war beschädigt", which isn't
  // adjacent, so once); the rest once.
  EXPECT_EQ(Render(TopThemes(comments, "de", 5)),
            "lieferung=3, beschädigt=2, langsam=2, verpackung=2, antwortet=1");
  EXPECT_EQ(Render(TopThemes(comments, "de", 100)),
            "lieferung=3, beschädigt=2, langsam=2, verpackung=2, antwortet=1, kam=1, "
            "kundenservice=1, okay=1, spät=1, ware=1");
}

TEST(TopThemesTest, PhrasesNeedTwoComments) {
  const std::vector<std::string> comments = {
      "Lieferung langsam",
      "LIEFERUNG LANGSAM!!!",
      "Lieferung, langsam",  // punctuation breaks the phrase
      "Versand teuer",
  };
  EXPECT_EQ(Render(TopThemes(comments, "de", 10)),
            "langsam=3, lieferung=3, lieferung langsam=2, teuer=1, versand=1");
}

TEST(TopThemesTest, CountsOncePerComment) {
  const std::vector<std::string> comments = {
      "teuer teuer teuer, viel zu teuer",
      "teuer",
      "Versand Versand",
  };
  EXPECT_EQ(Render(TopThemes(comments, "de", 10)), "teuer=2, versand=1");
}

TEST(TopThemesTest, UmlautsEszettAndNormalisation) {
  // "Größe" with a precomposed ö and with o + combining diaeresis are the same word; upper-case
  // umlauts lower to lower-case ones; ß stays ß and capital ẞ becomes ß. Ties sort by text,
  // so the phrase "größe passt" comes before "passt".
  const std::vector<std::string> comments = {
      "Größe passt nicht",
      "Gro\xCC\x88"
      "\xC3\x9F"
      "e passt nicht",
      "GRÖẞE PASST NICHT",
      "Übergröße",
  };
  EXPECT_EQ(Render(TopThemes(comments, "de", 10)), "größe=3, größe passt=3, passt=3, übergröße=1");
}

// "tagen gewartet" occurs in one comment only, so it isn't listed.
TEST(TopThemesTest, NumbersAndPunctuationAreDropped) {
  const std::vector<std::string> comments = {
      "Nach 14 Tagen immer noch nichts!!! 3,5 Sterne :-(",
      "14 Tagen gewartet... 100 %",
  };
  EXPECT_EQ(Render(TopThemes(comments, "de", 10)), "tagen=2, gewartet=1, immer=1, sterne=1");
}

TEST(TopThemesTest, EnglishAndBothLanguages) {
  const std::vector<std::string> comments = {
      "The delivery was too slow", "Delivery too slow and the app doesn't work",
      "Die App ist zu langsam",
      "I don\xE2\x80\x99t like the app",  // typographic apostrophe
  };
  EXPECT_EQ(Render(TopThemes(comments, "en", 4)), "app=3, delivery=2, slow=2, die=1");
  // With both lists "die", "ist" and "zu" go too.
  EXPECT_EQ(Render(TopThemes(comments, "", 10)),
            "app=3, delivery=2, slow=2, langsam=1, like=1, work=1");
}

TEST(TopThemesTest, EmptyInputsAndLimits) {
  EXPECT_TRUE(TopThemes({}, "de", 10).empty());
  const std::vector<std::string> blanks = {"", "   ", "!!!", "42", "und oder aber"};
  EXPECT_TRUE(TopThemes(blanks, "de", 10).empty());
  const std::vector<std::string> comments = {"Lieferung langsam"};
  EXPECT_TRUE(TopThemes(comments, "de", 0).empty());
  EXPECT_EQ(Render(TopThemes(comments, "de", 1)), "langsam=1");
}

TEST(TopThemesTest, InvalidUtf8DoesNotCrash) {
  const std::vector<std::string> comments = {"Lieferung \xFF\xFE langsam", "\xC3", "ok\x80"};
  std::vector<Theme> themes = TopThemes(comments, "de", 10);
  EXPECT_FALSE(themes.empty());
}

TEST(CommentSearchTest, EveryQueryWordBeginsAWordOfTheComment) {
  CommentSearch liefer("liefer");
  EXPECT_TRUE(liefer.Matches("Die Lieferung war langsam"));
  EXPECT_TRUE(liefer.Matches("LIEFERZEIT zu lang!"));
  EXPECT_FALSE(liefer.Matches("Auslieferung"));  // inside a word: not a word start
  CommentSearch two("langsam lieferung");
  EXPECT_TRUE(two.Matches("Die Lieferung war langsam."));
  EXPECT_FALSE(two.Matches("Die Lieferung war schnell."));
  // Case folding and normalisation: ß matches ss, a decomposed umlaut the composed one.
  CommentSearch strasse("STRASSE");
  EXPECT_TRUE(strasse.Matches("Falsche Straße angegeben"));
  CommentSearch uber("u\u0308ber");
  EXPECT_TRUE(uber.Matches("\u00dcberhaupt nicht"));
  CommentSearch any("  ,. ");
  EXPECT_TRUE(any.Matches("anything"));
  CommentSearch number("404");
  EXPECT_TRUE(number.Matches("error 404 on checkout"));
  EXPECT_FALSE(number.Matches("error 500"));
}

}  // namespace
}  // namespace treu::survey
