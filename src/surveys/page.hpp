// Server-rendered HTML for hosted surveys: the survey form, message pages (thank you, expired
// or invalid link) and the score scale embedded in e-mails. The view model here knows nothing
// about storage; a handler fills it from whatever it loaded and renders it.
//
// The pages need no JavaScript and no external resources: all CSS is in two <style> elements,
// the fixed SurveyPageCss() and the per-brand BrandCss(), so a Content-Security-Policy of
// `default-src 'none'; style-src 'sha256-…' 'sha256-…'; form-action 'self'` can allow exactly
// them. There are no inline style attributes and no scripts.
//
// Every string in the view model is escaped on output; none may contain markup. All functions
// are pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.hpp"
#include "surveys/html.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

// ---- Colours -------------------------------------------------------------------------------

struct Rgb {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;

  bool operator==(const Rgb&) const = default;
};

inline constexpr std::string_view kDefaultBrandColour = "#1a56db";
inline constexpr Rgb kBlack = {0, 0, 0};
inline constexpr Rgb kWhite = {255, 255, 255};

// Parses "#RRGGBB" (hex digits in either case). Fails with kInvalidArgument, context
// "brand_colour", for anything else: names ("red"), "#RGB", missing '#', extra characters.
Result<Rgb> ParseBrandColour(std::string_view text);

// The brand colour to render: `text` parsed, or kDefaultBrandColour when it is empty or invalid.
Rgb BrandColourOrDefault(std::string_view text);

// "#rrggbb", lower case.
std::string FormatColour(Rgb colour);

// WCAG 2.x relative luminance, 0 (black) to 1 (white).
double RelativeLuminance(Rgb colour);

// WCAG 2.x contrast ratio of two colours, 1 to 21, independent of order.
double ContrastRatio(Rgb a, Rgb b);

// Black or white, whichever contrasts more with `background`. The ratio is always at least
// 4.58:1, so text in this colour meets WCAG AA for normal text.
Rgb TextColourOn(Rgb background);

// ---- UI strings ----------------------------------------------------------------------------

enum class UiKey {
  kSubmit,             // the submit button
  kRequired,           // marker next to a required question
  kErrorSummaryTitle,  // heading of the error summary
  kErrorPrefix,        // before each field error and the page title when there are errors
  kThankYouTitle,
  kThankYouMessage,
  kExpiredTitle,  // "This link has expired"
  kExpiredMessage,
  kInvalidTitle,  // "This link is not valid"
  kInvalidMessage,
  kNpsLow,   // the ends of the scales
  kNpsHigh,
  kCsatLow,
  kCsatHigh,
  kCesLow,
  kCesHigh,
  kScoreSaved,     // after a one-click score from an email
  kFollowUpIntro,  // above a follow-up question the last answer opened
};

// The language a page is rendered in: "de" for a locale whose language is German ("de",
// "DE", "de-AT", "de_CH"), otherwise "en".
std::string_view PageLanguage(std::string_view locale);

// The text for `key` in the language of `locale` (see PageLanguage); English for any locale
// that is not German. The returned view refers to static storage.
std::string_view UiText(std::string_view locale, UiKey key);

// What the lowest and highest score of a NPS, CSAT or CES scale mean ("Not at all likely",
// "Extremely likely"), in the language of `locale`; empty for other kinds.
std::pair<std::string_view, std::string_view> ScaleEndLabels(std::string_view locale, QuestionKind kind);

// ---- The survey page -----------------------------------------------------------------------

// A rating scale from `min` to `max` rendered as radio buttons: 0-10 (NPS), 1-5, 1-7.
struct ScaleQuestion {
  std::string id;  // form field name
  std::string text;
  int min = 0;
  int max = 10;
  std::string low_label;   // meaning of `min`, e.g. "Not at all likely"; may be empty
  std::string high_label;  // meaning of `max`; may be empty
  std::optional<int> selected;
  bool required = false;
};

// Single (radio) or multiple (checkbox) choice.
struct ChoiceQuestion {
  std::string id;  // form field name; a multiple choice submits it once per checked choice
  std::string text;
  bool multiple = false;
  std::vector<std::pair<std::string, std::string>> choices;  // (choice id = submitted value, label)
  std::vector<std::string> selected;                         // choice ids
  bool required = false;
};

// Free text (a <textarea>).
struct TextQuestion {
  std::string id;  // form field name
  std::string text;
  std::string value;
  bool required = false;
};

using PageQuestion = std::variant<ScaleQuestion, ChoiceQuestion, TextQuestion>;

// An error shown in the summary at the top of the page and next to its question.
struct FieldError {
  std::string question_id;  // the question it belongs to; empty for an error of the whole form
  std::string message;
};

// The name of the hidden form field carrying SurveyPage::csrf_or_token_field.
inline constexpr std::string_view kTokenFieldName = "token";

struct SurveyPage {
  std::string locale = "en";  // "de" or "en"; see PageLanguage
  std::string workspace_name;
  std::string brand_colour = std::string(kDefaultBrandColour);  // "#RRGGBB"
  std::string title;
  std::string intro;
  std::string notice;  // a confirmation shown above the form (role="status"), e.g. UiKey::kScoreSaved
  std::vector<PageQuestion> questions;
  std::string action_url;           // the form POSTs here; empty posts to the page's own URL
  std::string csrf_or_token_field;  // value of the hidden field kTokenFieldName
  std::vector<FieldError> errors;
};

// Checks what rendering cannot repair: the brand colour (when not empty) is "#RRGGBB";
// question ids are non-empty, unique and not kTokenFieldName; a scale has 2 to 11 points
// and its selected value lies within them; a choice question has choices with non-empty,
// unique ids, at most one selected unless `multiple`, and only known ids selected; every
// error names an existing question or none. Returns the first problem as kInvalidArgument
// with the offending question id (or field) as context.
Status ValidateSurveyPage(const SurveyPage& page);

// Renders `page` as a complete HTML5 document: <html lang> from PageLanguage, a plain
// <form method="post"> that works without JavaScript, one <fieldset> with a <legend> per
// question, radio buttons each with its own <label> for scales, required questions marked,
// and the errors in a role="alert" summary whose links point at their questions' first
// control. A page that fails ValidateSurveyPage still renders safely: an invalid brand colour
// becomes the default, a scale is cut to at most 11 points, unknown selections are ignored.
std::string RenderSurveyPage(const SurveyPage& page);

// A complete HTML5 document with the workspace header, a heading `title` and the paragraph
// `message`, for the thank-you, expired-link and invalid-link pages (UiText has their
// strings). Contains no form. An invalid `brand_colour` becomes the default.
std::string RenderMessagePage(std::string_view locale, std::string_view workspace_name,
                              std::string_view brand_colour, std::string_view title,
                              std::string_view message);

// The start of a page in the look of the survey pages, for other public pages (unsubscribe,
// preferences): doctype, <head> with `title` and the styles, <body> and the workspace header.
// The caller writes <main>…</main> and closes body and html.
void WritePageStart(Html& h, std::string_view locale, std::string_view workspace_name, std::string_view brand_colour,
                    std::string_view title);

// The fixed content of the first <style> element of every page (it contains no '<'). The
// server may hash it once for a Content-Security-Policy.
std::string_view SurveyPageCss();

// The content of the second <style> element of a page for `brand_colour` (after
// BrandColourOrDefault): ":root{--brand:#1a56db;--on-brand:#ffffff}".
std::string BrandCss(std::string_view brand_colour);

// ---- The scale inside an e-mail ------------------------------------------------------------

struct EmailScale {
  std::string question;
  std::string low_label;
  std::string high_label;
  int min = 0;
  int max = 10;
  std::function<std::string(int score)> link_for;  // the URL that records `score`
  std::string brand_colour;                        // "#RRGGBB"; invalid or empty: the default
};

// An HTML snippet for an e-mail body: a table with the question, one link per score from
// `min` to `max` (at most 11, in order) whose href is link_for(score) passed through SafeUrl
// and escaped, and the low and high labels. Uses tables and inline style attributes, as mail
// clients ignore <style>. REQUIRES: link_for is set; 2 <= max - min + 1 <= 11 (a longer
// scale is cut to 11 points).
std::string RenderEmailScale(const EmailScale& scale);

// The plain-text alternative: the question, a line "(0 = low, 10 = high)" when there are
// labels, then one line "<score>: <link>" per score. Invalid UTF-8 becomes U+FFFD.
std::string RenderEmailScaleText(const EmailScale& scale);

}  // namespace treu::survey
