#include "messaging/mime.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace treu::messaging {
namespace {

const Timestamp kDate = Timestamp::FromSeconds(1'709'296'200);  // 2024-03-01 12:30 UTC

// Test-side decoders, written from RFC 2045 and RFC 2047 independently of the encoders.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string DecodeBase64(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const auto v = kAlphabet.find(c);
    EXPECT_NE(v, std::string::npos) << c;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// Decodes a header value made only of encoded-words separated by folding white space, or
// returns it unfolded when it has none.
std::string DecodeHeaderValue(std::string value) {
  std::string unfolded;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += value[i];
  }
  if (unfolded.find("=?") == std::string::npos) return unfolded;
  std::string out;
  std::size_t pos = 0;
  while ((pos = unfolded.find("=?UTF-8?", pos)) != std::string::npos) {
    const char encoding = unfolded[pos + 8];
    const std::size_t start = pos + 10;
    const std::size_t end = unfolded.find("?=", start);
    EXPECT_NE(end, std::string::npos);
    const std::string payload = unfolded.substr(start, end - start);
    if (encoding == 'B') {
      out += DecodeBase64(payload);
    } else {
      for (std::size_t i = 0; i < payload.size(); ++i) {
        if (payload[i] == '_') {
          out += ' ';
        } else if (payload[i] == '=') {
          out += static_cast<char>(HexValue(payload[i + 1]) * 16 + HexValue(payload[i + 2]));
          i += 2;
        } else {
          out += payload[i];
        }
      }
    }
    pos = end + 2;
  }
  return out;
}

std::string DecodeQuotedPrintable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (text.substr(i + 1, 2) == "\r\n") {
        i += 2;
        continue;
      }
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

// The value of header `name` (folded as in the message) of a built message.
std::string HeaderValue(const std::string& mime, const std::string& name) {
  const std::string headers = mime.substr(0, mime.find("\r\n\r\n") + 2);
  const std::size_t start = headers.find(name + ": ");
  if (start == std::string::npos) return "<missing>";
  std::size_t end = start;
  while (true) {
    end = headers.find("\r\n", end);
    if (end + 2 < headers.size() && headers[end + 2] == ' ') {
      end += 2;
      continue;
    }
    break;
  }
  return headers.substr(start + name.size() + 2, end - start - name.size() - 2);
}

EmailMessage Sample() {
  EmailMessage m;
  m.from = {"Shop", "news@shop.example"};
  m.to = {"Ada", "ada@example.com"};
  m.subject = "Hello";
  m.text = "Hi Ada";
  return m;
}

void ExpectLinesWithin(const std::string& mime, std::size_t limit) {
  for (const std::string& line : Lines(mime)) {
    EXPECT_LE(line.size(), limit) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
  }
}

TEST(EncodedWordTest, LongMultiByteSubjectRoundTripsAndFolds) {
  std::string subject;
  for (int i = 0; i < 12; ++i) subject += "Grüße 🎉 日本語テキスト ";
  subject += "Ende";
  const std::string header = EncodeUnstructuredHeader("Subject", subject);
  ExpectLinesWithin(header, 78);
  EXPECT_EQ(DecodeHeaderValue(header.substr(9)), subject);
  // Every encoded-word decodes to complete UTF-8 on its own.
  std::size_t pos = 0;
  int words = 0;
  while ((pos = header.find("=?UTF-8?", pos)) != std::string::npos) {
    const std::size_t end = header.find("?=", pos + 10);
    const std::string word = header.substr(pos, end + 2 - pos);
    EXPECT_LE(word.size(), 75u);
    EXPECT_TRUE(IsValidUtf8(DecodeHeaderValue(word))) << word;
    pos = end + 2;
    ++words;
  }
  EXPECT_GT(words, 5);
}

TEST(EncodedWordTest, TheShorterOfQAndB) {
  EXPECT_EQ(EncodeUnstructuredHeader("Subject", "Café open today"),
            "Subject: =?UTF-8?Q?Caf=C3=A9_open_today?=");
  EXPECT_EQ(EncodeUnstructuredHeader("Subject", "Grüße aus Köln"),
            "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=");
  EXPECT_EQ(EncodeUnstructuredHeader("Subject", "🎉🎉🎉"),
            "Subject: =?UTF-8?B?8J+OifCfjonwn46J?=");
}

TEST(EncodedWordTest, PlainAsciiStaysReadableAndFoldsAtSpaces) {
  EXPECT_EQ(EncodeUnstructuredHeader("Subject", "Your order has shipped"),
            "Subject: Your order has shipped");
  const std::string long_subject =
      "This is a rather long subject line that certainly needs folding somewhere near the end "
      "of the first line";
  const std::string header = EncodeUnstructuredHeader("Subject", long_subject);
  ExpectLinesWithin(header, 78);
  EXPECT_NE(header.find("\r\n "), std::string::npos);
  EXPECT_EQ(DecodeHeaderValue(header.substr(9)), long_subject);
  // Double spaces survive folding.
  const std::string spaced = std::string(70, 'a') + "  b";
  EXPECT_EQ(DecodeHeaderValue(EncodeUnstructuredHeader("Subject", spaced).substr(9)), spaced);
}

TEST(EncodedWordTest, TextThatLooksEncodedIsEncoded) {
  const std::string header = EncodeUnstructuredHeader("Subject", "=?UTF-8?B?aGk=?=");
  EXPECT_NE(header, "Subject: =?UTF-8?B?aGk=?=");
  EXPECT_EQ(DecodeHeaderValue(header.substr(9)), "=?UTF-8?B?aGk=?=");
}

TEST(QuotedPrintableTest, LinesAtMost76AndRoundTrip) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Zeile mit Ümläuten, = Zeichen und 🎉 Emoji, ziemlich lang geschrieben. ";
  text += "\nzweite Zeile   \nkurz\r\n\r\nende\t";
  const std::string qp = EncodeQuotedPrintable(text);
  for (const std::string& line : Lines(qp)) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t')) << line;
    for (char c : line) EXPECT_TRUE((c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t');
  }
  std::string expected = text;
  // Line breaks come out as CRLF.
  std::string crlf;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] == '\r') continue;
    if (expected[i] == '\n') {
      crlf += "\r\n";
    } else {
      crlf += expected[i];
    }
  }
  EXPECT_EQ(DecodeQuotedPrintable(qp), crlf);
}

TEST(QuotedPrintableTest, EdgeCases) {
  EXPECT_EQ(EncodeQuotedPrintable("a=b"), "a=3Db");
  EXPECT_EQ(EncodeQuotedPrintable("end "), "end=20");
  EXPECT_EQ(EncodeQuotedPrintable("x \ny"), "x=20\r\ny");
  EXPECT_EQ(EncodeQuotedPrintable("ä"), "=C3=A4");
  // Exactly 76 characters fit without a soft break; 77 do not.
  EXPECT_EQ(EncodeQuotedPrintable(std::string(76, 'a')), std::string(76, 'a'));
  EXPECT_EQ(EncodeQuotedPrintable(std::string(77, 'a')),
            std::string(75, 'a') + "=\r\naa");
  // An escape is never split by a soft break.
  const std::string qp = EncodeQuotedPrintable(std::string(74, 'a') + "ää");
  EXPECT_EQ(qp, std::string(74, 'a') + "=\r\n=C3=A4=C3=A4");
}

TEST(BuildMimeTest, SinglePartLayout) {
  auto built = BuildMime(Sample(), kDate);
  ASSERT_TRUE(built) << built.error().ToString();
  const std::string& mime = built->mime;
  EXPECT_TRUE(mime.starts_with("Date: Fri, 01 Mar 2024 12:30:00 +0000\r\n"
                               "From: Shop <news@shop.example>\r\n"
                               "To: Ada <ada@example.com>\r\n"
                               "Subject: Hello\r\n"
                               "Message-ID: <"))
      << mime;
  EXPECT_NE(mime.find("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi Ada\r\n"),
            std::string::npos)
      << mime;
  EXPECT_TRUE(built->message_id.ends_with("@shop.example"));
  EXPECT_EQ(HeaderValue(mime, "Message-ID"), "<" + built->message_id + ">");
}

TEST(BuildMimeTest, MessageIdsAreRandomAndCanBeGiven) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(BuildMime(Sample(), kDate)->message_id);
  EXPECT_EQ(ids.size(), 100u);
  EmailMessage m = Sample();
  m.message_id_domain = "mail.treu.example";
  EXPECT_TRUE(BuildMime(m, kDate)->message_id.ends_with("@mail.treu.example"));
  m.message_id = "order-42.retry@shop.example";
  EXPECT_EQ(BuildMime(m, kDate)->message_id, "order-42.retry@shop.example");
  m.message_id = "<x@shop.example>";
  EXPECT_EQ(BuildMime(m, kDate).error().context(), "message_id");
}

TEST(BuildMimeTest, MultipartAlternativeTextFirstWithAFreshBoundary) {
  EmailMessage m = Sample();
  m.html = "<p>Hi <b>Ada</b></p>";
  auto first = BuildMime(m, kDate);
  auto second = BuildMime(m, kDate);
  ASSERT_TRUE(first && second);
  const std::string content_type = HeaderValue(first->mime, "Content-Type");
  ASSERT_TRUE(content_type.starts_with("multipart/alternative;\r\n boundary=\"=_treu_"))
      << content_type;
  const std::string boundary =
      content_type.substr(content_type.find('"') + 1,
                          content_type.rfind('"') - content_type.find('"') - 1);
  EXPECT_NE(boundary, HeaderValue(second->mime, "Content-Type").substr(35, boundary.size()));
  const std::string body = first->mime.substr(first->mime.find("\r\n\r\n") + 4);
  const std::string expected = "--" + boundary +
                               "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                               "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi Ada\r\n--" +
                               boundary +
                               "\r\nContent-Type: text/html; charset=UTF-8\r\n"
                               "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                               "<p>Hi <b>Ada</b></p>\r\n--" +
                               boundary + "--\r\n";
  EXPECT_EQ(body, expected);
}

TEST(BuildMimeTest, BoundaryCannotOccurInBodies) {
  EmailMessage m = Sample();
  // Bodies that contain the boundary's prefix come out quoted-printable, where "=_" can't
  // appear.
  m.text = "--=_treu_0123456789abcdef0123456789abcdef\n=_treu_";
  m.html = "<p>--=_treu_</p>";
  auto built = BuildMime(m, kDate);
  ASSERT_TRUE(built);
  const std::string content_type = HeaderValue(built->mime, "Content-Type");
  const std::string boundary = content_type.substr(content_type.find('"') + 1, 39);
  std::size_t count = 0;
  for (std::size_t pos = 0; (pos = built->mime.find(boundary, pos)) != std::string::npos; ++pos) {
    ++count;
  }
  EXPECT_EQ(count, 4u);  // the header and three delimiters
}

TEST(BuildMimeTest, HtmlOnlyGetsDerivedText) {
  EmailMessage m = Sample();
  m.text.clear();
  m.html = "<h1>Hi</h1><p>See <a href=\"https://shop.example/\">the shop</a></p>";
  auto built = BuildMime(m, kDate);
  ASSERT_TRUE(built);
  EXPECT_NE(built->mime.find("Hi\r\n\r\nSee the shop (https://shop.example/)\r\n--"),
            std::string::npos)
      << built->mime;
}

TEST(BuildMimeTest, NonAsciiNamesAreEncodedAndAsciiSpecialsQuoted) {
  EmailMessage m = Sample();
  m.from = {"Jürgen Müller-Lüdenscheidt von der Großbäckerei am Marktplatz 🥨", "j@shop.example"};
  m.to = {"Lovelace, Ada \"Countess\"", "ada@example.com"};
  m.reply_to = Mailbox{"", "help@shop.example"};
  auto built = BuildMime(m, kDate);
  ASSERT_TRUE(built);
  ExpectLinesWithin(built->mime, 78);
  const std::string from = HeaderValue(built->mime, "From");
  EXPECT_TRUE(from.ends_with(" <j@shop.example>")) << from;
  EXPECT_EQ(DecodeHeaderValue(from.substr(0, from.rfind(" <"))), m.from.name);
  EXPECT_EQ(HeaderValue(built->mime, "To"), "\"Lovelace, Ada \\\"Countess\\\"\" <ada@example.com>");
  EXPECT_EQ(HeaderValue(built->mime, "Reply-To"), "<help@shop.example>");
}

TEST(BuildMimeTest, ExtraHeaders) {
  EmailMessage m = Sample();
  m.extra_headers = {{"List-Unsubscribe", "<https://shop.example/unsubscribe/" + std::string(80, 'x') + ">"},
                     {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
                     {"X-Campaign", "Frühling"}};
  auto built = BuildMime(m, kDate);
  ASSERT_TRUE(built) << built.error().ToString();
  EXPECT_EQ(HeaderValue(built->mime, "List-Unsubscribe"), m.extra_headers[0].second);
  EXPECT_EQ(HeaderValue(built->mime, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
  EXPECT_EQ(DecodeHeaderValue(HeaderValue(built->mime, "X-Campaign")), "Frühling");
  // The extra headers come before the content headers.
  EXPECT_LT(built->mime.find("List-Unsubscribe:"), built->mime.find("Content-Type:"));

  m.extra_headers = {{"Bcc", "x@evil.example"}};
  EXPECT_EQ(BuildMime(m, kDate).error().ToString(),
            "extra_headers[0].name: Bcc is set by the message builder, not here");
  m.extra_headers = {{"X-Bad Name", "v"}};
  EXPECT_EQ(BuildMime(m, kDate).error().context(), "extra_headers[0].name");
  m.extra_headers = {{"X-Long", std::string(1000, 'a')}};
  EXPECT_EQ(BuildMime(m, kDate).error().ToString(),
            "X-Long: would need a header line over 998 characters");
}

TEST(BuildMimeTest, HeaderInjectionIsRefusedNamingTheField) {
  struct Case {
    std::string field;
    void (*poison)(EmailMessage&);
  };
  const std::vector<Case> cases = {
      {"subject", [](EmailMessage& m) { m.subject = "Hi\r\nBcc: victim@example.com"; }},
      {"subject", [](EmailMessage& m) { m.subject = "Hi\nBcc: victim@example.com"; }},
      {"subject", [](EmailMessage& m) { m.subject = std::string("Hi\0x", 4); }},
      {"from.name", [](EmailMessage& m) { m.from.name = "Shop\r\nBcc: v@example.com"; }},
      {"from.address", [](EmailMessage& m) { m.from.address = "a@shop.example\r\nBcc: v@x.example"; }},
      {"to.name", [](EmailMessage& m) { m.to.name = "Ada\rX"; }},
      {"to.address", [](EmailMessage& m) { m.to.address = "ada@example.com\n"; }},
      {"reply_to.address", [](EmailMessage& m) { m.reply_to = Mailbox{"", "r@x.example\r\n"}; }},
      {"extra_headers[0].value",
       [](EmailMessage& m) { m.extra_headers = {{"List-Unsubscribe", "<x>\r\nBcc: v@x.example"}}; }},
      {"extra_headers[0].name",
       [](EmailMessage& m) { m.extra_headers = {{"X-A\r\nBcc", "v"}}; }},
      {"message_id", [](EmailMessage& m) { m.message_id = "a@b.example\r\nBcc: v@x.example"; }},
      {"message_id_domain", [](EmailMessage& m) { m.message_id_domain = "x.example\r\n"; }},
  };
  for (const Case& c : cases) {
    EmailMessage m = Sample();
    c.poison(m);
    auto built = BuildMime(m, kDate);
    ASSERT_FALSE(built) << c.field;
    EXPECT_EQ(built.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(built.error().context(), c.field);
    EXPECT_EQ(built.error().detail(), "contains a line break or NUL") << c.field;
  }
  EmailMessage m = Sample();
  m.subject = "bell\x07";
  EXPECT_EQ(BuildMime(m, kDate).error().ToString(), "subject: contains a control character");
  m = Sample();
  m.subject = "\xC3\x28";
  EXPECT_EQ(BuildMime(m, kDate).error().ToString(), "subject: is not valid UTF-8");
  m = Sample();
  m.text.clear();
  EXPECT_EQ(BuildMime(m, kDate).error().ToString(),
            "body: the message has neither a text nor an HTML body");
}

TEST(ValidateAddressTest, AcceptsWhatSmtpAccepts) {
  for (const char* address :
       {"ada@example.com", "ada.lovelace+news@mail.example.co.uk", "a!#$%&'*+/=?^_`{|}~-@x.example",
        "\"ada lovelace\"@example.com", "\"a\\\"b\"@example.com", "user@xn--mnchen-3ya.example",
        "1@a-b.c0"}) {
    EXPECT_TRUE(ValidateAddress(address, "to")) << address;
  }
}

TEST(ValidateAddressTest, RefusesWithClearMessages) {
  EXPECT_EQ(ValidateAddress("", "to").error().ToString(), "to: is empty");
  EXPECT_EQ(ValidateAddress("ada.example.com", "to").error().ToString(),
            "to: \"ada.example.com\" has no '@'");
  EXPECT_EQ(ValidateAddress("@example.com", "to").error().ToString(),
            "to: \"@example.com\" has an empty local part");
  EXPECT_EQ(ValidateAddress("a..b@example.com", "to").error().ToString(),
            "to: \"a..b@example.com\" has a misplaced '.' in its local part");
  EXPECT_EQ(ValidateAddress(".a@example.com", "to").error().detail(),
            "\".a@example.com\" has a misplaced '.' in its local part");
  EXPECT_EQ(ValidateAddress("a.@example.com", "to").error().detail(),
            "\"a.@example.com\" has a misplaced '.' in its local part");
  EXPECT_EQ(ValidateAddress("a b@example.com", "to").error().detail(),
            "\"a b@example.com\" has ' ' in its local part; quote the local part or remove the "
            "character");
  EXPECT_EQ(ValidateAddress("ada@localhost", "to").error().detail(),
            "\"ada@localhost\" has no valid domain (labels of letters, digits and hyphens "
            "separated by dots, e.g. example.com)");
  EXPECT_FALSE(ValidateAddress("ada@-x.example", "to"));
  EXPECT_FALSE(ValidateAddress("ada@x..example", "to"));
  EXPECT_FALSE(ValidateAddress("ada@x_y.example", "to"));
  EXPECT_FALSE(ValidateAddress("ada@[127.0.0.1]", "to"));
  EXPECT_FALSE(ValidateAddress("<ada@example.com>", "to"));
  EXPECT_FALSE(ValidateAddress("\"unterminated@example.com", "to"));
  EXPECT_EQ(ValidateAddress(std::string(65, 'a') + "@example.com", "to").error().detail(),
            "\"" + std::string(65, 'a') + "@example.com\" has a local part longer than 64 characters");
  EXPECT_EQ(ValidateAddress("jürgen@example.com", "from.address").error().ToString(),
            "from.address: \"jürgen@example.com\" has non-ASCII characters; internationalised "
            "addresses (SMTPUTF8) are not supported, write the domain in its punycode form "
            "(xn--...)");
}

TEST(FormatRfc5322DateTest, Formats) {
  EXPECT_EQ(FormatRfc5322Date(Timestamp{0}), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(kDate), "Fri, 01 Mar 2024 12:30:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(Timestamp::FromSeconds(951'782'400 - 1)),  // 2000-02-29 minus 1 s
            "Mon, 28 Feb 2000 23:59:59 +0000");
  EXPECT_EQ(FormatRfc5322Date(Timestamp{-1}), "Wed, 31 Dec 1969 23:59:59 +0000");
}

TEST(IsValidUtf8Test, RejectsMalformedSequences) {
  EXPECT_TRUE(IsValidUtf8("abc äöü 🎉"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

}  // namespace
}  // namespace treu::messaging
