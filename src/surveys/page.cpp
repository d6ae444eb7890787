#include "surveys/page.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <set>
#include <string>

#include "surveys/html.hpp"

namespace treu::survey {
namespace {

// ---- Colours -------------------------------------------------------------------------------

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The linear-light value of an sRGB channel (WCAG 2.x; its 0.03928 threshold and the sRGB
// standard's 0.04045 agree for every 8-bit value).
double LinearChannel(std::uint8_t channel) {
  const double c = channel / 255.0;
  return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

// ---- UI strings ----------------------------------------------------------------------------

struct UiRow {
  UiKey key;
  std::string_view en;
  std::string_view de;
};

constexpr std::array kUiTable = {
    UiRow{UiKey::kSubmit, "Submit", "Absenden"},
    UiRow{UiKey::kRequired, "required", "Pflichtfeld"},
    UiRow{UiKey::kErrorSummaryTitle, "There is a problem", "Bitte prüfen Sie Ihre Angaben"},
    UiRow{UiKey::kErrorPrefix, "Error", "Fehler"},
    UiRow{UiKey::kThankYouTitle, "Thank you", "Vielen Dank"},
    UiRow{UiKey::kThankYouMessage, "Your answer has been recorded.",
          "Ihre Antwort wurde gespeichert."},
    UiRow{UiKey::kExpiredTitle, "This link has expired", "Dieser Link ist abgelaufen"},
    UiRow{UiKey::kExpiredMessage, "No answer was recorded. The survey is no longer open.",
          "Es wurde keine Antwort gespeichert. Die Umfrage ist nicht mehr geöffnet."},
    UiRow{UiKey::kInvalidTitle, "This link is not valid", "Dieser Link ist ungültig"},
    UiRow{UiKey::kInvalidMessage, "No answer was recorded. Please check the link you followed.",
          "Es wurde keine Antwort gespeichert. Bitte prüfen Sie den aufgerufenen Link."},
    UiRow{UiKey::kNpsLow, "Not at all likely", "Sehr unwahrscheinlich"},
    UiRow{UiKey::kNpsHigh, "Extremely likely", "Sehr wahrscheinlich"},
    UiRow{UiKey::kCsatLow, "Very dissatisfied", "Sehr unzufrieden"},
    UiRow{UiKey::kCsatHigh, "Very satisfied", "Sehr zufrieden"},
    UiRow{UiKey::kCesLow, "Very difficult", "Sehr schwierig"},
    UiRow{UiKey::kCesHigh, "Very easy", "Sehr einfach"},
    UiRow{UiKey::kScoreSaved, "Thank you, your rating has been saved. You can change it below.",
          "Danke, Ihre Bewertung ist gespeichert. Sie können sie unten noch ändern."},
    UiRow{UiKey::kFollowUpIntro, "Thank you. One more question:", "Danke. Noch eine Frage:"},
};

constexpr bool UiTableIsInKeyOrder() {
  for (std::size_t i = 0; i < kUiTable.size(); ++i) {
    if (static_cast<std::size_t>(kUiTable[i].key) != i) return false;
  }
  return true;
}
static_assert(UiTableIsInKeyOrder(), "kUiTable rows must be in UiKey order, one per key");
static_assert(kUiTable.size() == static_cast<std::size_t>(UiKey::kFollowUpIntro) + 1,
              "every UiKey needs a row in kUiTable");

// ---- CSS -----------------------------------------------------------------------------------

constexpr char kSurveyPageCss[] =
    "*,*::before,*::after{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,"
    "sans-serif;font-size:1rem;line-height:1.5;color:#111827;background:#f9fafb}"
    ".brand{background:var(--brand);color:var(--on-brand);padding:1rem}"
    ".brand p{max-width:40rem;margin:0 auto;font-weight:600}"
    "main{display:block;max-width:40rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}"
    ".intro,.message{white-space:pre-line;margin:0 0 1.5rem}"
    ".notice{border-left:4px solid currentColor;padding:.5rem .75rem;margin:0 0 1.5rem}"
    ".visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;"
    "overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}"
    ".error-summary{border:3px solid #b91c1c;background:#fff;padding:1rem;margin:0 0 1.5rem}"
    ".error-summary h2{font-size:1.125rem;margin:0 0 .5rem}"
    ".error-summary ul{margin:0;padding-left:1.25rem}"
    ".error-summary a{color:#b91c1c;font-weight:600}"
    ".field-error{color:#b91c1c;font-weight:600;margin:0 0 .5rem}"
    "fieldset{border:0;margin:0 0 2rem;padding:0;min-width:0}"
    "legend{font-weight:600;font-size:1.0625rem;padding:0;margin:0 0 .75rem}"
    "legend label{cursor:pointer}"
    ".required{font-weight:400;font-size:.875rem;color:#4b5563}"
    ".scale-options{display:flex;flex-wrap:wrap;gap:.375rem}"
    ".scale-option{position:relative}"
    ".scale-option input{position:absolute;top:0;left:0;width:1px;height:1px;margin:0;"
    "opacity:0}"
    ".scale-option label{display:flex;align-items:center;justify-content:center;"
    "min-width:2.75rem;min-height:2.75rem;padding:0 .5rem;border:2px solid #6b7280;"
    "border-radius:.375rem;background:#fff;font-weight:600;cursor:pointer}"
    ".scale-option input:checked+label{background:var(--brand);color:var(--on-brand);"
    "border-color:#111827}"
    ".scale-ends{display:flex;justify-content:space-between;gap:1rem;margin-top:.5rem;"
    "font-size:.875rem;color:#4b5563}"
    ".scale-ends span:last-child{text-align:right}"
    ".choice{display:flex;align-items:flex-start;gap:.5rem;margin:0 0 .5rem}"
    ".choice input{flex:none;width:1.25rem;height:1.25rem;margin:.15rem 0 0;"
    "accent-color:var(--brand)}"
    ".choice label{cursor:pointer}"
    "textarea{display:block;width:100%;min-height:7rem;padding:.5rem;font:inherit;"
    "border:2px solid #6b7280;border-radius:.375rem;background:#fff;color:#111827}"
    "[aria-invalid=\"true\"]+label,textarea[aria-invalid=\"true\"]{border-color:#b91c1c}"
    "button{min-height:2.75rem;padding:.625rem 1.5rem;font:inherit;font-weight:600;"
    "background:var(--brand);color:var(--on-brand);border:2px solid #111827;"
    "border-radius:.375rem;cursor:pointer}"
    ":focus-visible,.scale-option input:focus-visible+label{outline:3px solid #111827;"
    "outline-offset:2px;box-shadow:0 0 0 6px #fde68a}"
    "@media (max-width:30rem){main{padding:1rem .75rem 2rem}"
    ".scale-option label{min-width:2.5rem;min-height:2.5rem}}"
    "@media (forced-colors:active){.scale-option input:checked+label{border-width:5px;"
    "text-decoration:underline}}";

// ---- Rendering helpers ---------------------------------------------------------------------

// The scale points actually rendered: [first, last], at most 11 of them; empty (last < first)
// when max < min.
struct ScaleRange {
  int first;
  int last;
};

ScaleRange ClampScale(int min, int max) {
  if (max < min) return {min, min - 1};
  const long long span = std::min(static_cast<long long>(max) - min, 10LL);
  return {min, static_cast<int>(min + span)};
}

std::string DomId(std::size_t number, std::string_view suffix) {
  std::string id = "q" + std::to_string(number);
  if (!suffix.empty()) {
    id += '-';
    id += suffix;
  }
  return id;
}

std::string ScaleOptionId(std::size_t number, int score) {
  return DomId(number, "s" + std::to_string(score));
}

std::string ChoiceOptionId(std::size_t number, std::size_t index) {
  return DomId(number, "c" + std::to_string(index));
}

const std::string& QuestionId(const PageQuestion& question) {
  return std::visit([](const auto& q) -> const std::string& { return q.id; }, question);
}

// The id of the element an error summary link focuses: the question's first control.
std::string FirstControlId(const PageQuestion& question, std::size_t number) {
  if (const auto* scale = std::get_if<ScaleQuestion>(&question)) {
    const ScaleRange range = ClampScale(scale->min, scale->max);
    return range.last >= range.first ? ScaleOptionId(number, range.first) : DomId(number, "");
  }
  if (const auto* choice = std::get_if<ChoiceQuestion>(&question)) {
    return choice->choices.empty() ? DomId(number, "") : ChoiceOptionId(number, 0);
  }
  return DomId(number, "text");
}

// Space-separated ids for aria-describedby, skipping empty ones.
std::string JoinIds(std::initializer_list<std::string_view> ids) {
  std::string out;
  for (std::string_view id : ids) {
    if (id.empty()) continue;
    if (!out.empty()) out += ' ';
    out += id;
  }
  return out;
}

// Adds aria-describedby and aria-invalid to the start tag being written.
void DescribeControl(Html& h, const std::string& described_by, bool invalid) {
  if (!described_by.empty()) h.Attr("aria-describedby", described_by);
  if (invalid) h.Attr("aria-invalid", "true");
}

// What each question renderer needs besides the question itself.
struct QuestionContext {
  std::size_t number;                    // 1-based position, the base of DOM ids
  std::string_view lang;                 // "de" or "en"
  std::vector<std::string_view> errors;  // messages for this question
};

std::string ErrorId(const QuestionContext& ctx) {
  return ctx.errors.empty() ? std::string() : DomId(ctx.number, "error");
}

void WriteRequiredMarker(Html& h, bool required, std::string_view lang) {
  if (!required) return;
  h.Text(" ").Open("span").Attr("class", "required");
  h.Text("(").Text(UiText(lang, UiKey::kRequired)).Text(")").Close("span");
}

void WriteFieldError(Html& h, const QuestionContext& ctx) {
  if (ctx.errors.empty()) return;
  h.Open("p").Attr("class", "field-error").Attr("id", ErrorId(ctx));
  h.Open("span").Attr("class", "visually-hidden");
  h.Text(UiText(ctx.lang, UiKey::kErrorPrefix)).Text(": ").Close("span");
  for (std::size_t i = 0; i < ctx.errors.size(); ++i) {
    if (i > 0) h.Text(" ");
    h.Text(ctx.errors[i]);
  }
  h.Close("p");
}

void WriteQuestion(Html& h, const ScaleQuestion& q, const QuestionContext& ctx) {
  const ScaleRange range = ClampScale(q.min, q.max);
  const std::string error_id = ErrorId(ctx);
  const std::string low_id = q.low_label.empty() ? std::string() : DomId(ctx.number, "low");
  const std::string high_id = q.high_label.empty() ? std::string() : DomId(ctx.number, "high");

  h.Open("fieldset").Attr("id", DomId(ctx.number, "")).Attr("class", "question scale");
  h.Open("legend").Text(q.text);
  WriteRequiredMarker(h, q.required, ctx.lang);
  h.Close("legend");
  WriteFieldError(h, ctx);

  h.Open("div").Attr("class", "scale-options");
  for (int score = range.first; score <= range.last; ++score) {
    const std::string id = ScaleOptionId(ctx.number, score);
    std::string_view end_id;
    if (score == range.first) end_id = low_id;
    if (score == range.last) end_id = high_id;
    h.Open("span").Attr("class", "scale-option");
    h.Open("input").Attr("type", "radio").Attr("id", id).Attr("name", q.id).Attr("value", score);
    h.Flag("checked", q.selected == score).Flag("required", q.required);
    DescribeControl(h, JoinIds({end_id, error_id}), !ctx.errors.empty());
    h.Open("label").Attr("for", id).Text(std::to_string(score)).Close("label");
    h.Close("span");
  }
  h.Close("div");

  if (!low_id.empty() || !high_id.empty()) {
    h.Open("div").Attr("class", "scale-ends");
    if (!low_id.empty()) {
      h.Open("span").Attr("id", low_id);
      h.Text(std::to_string(range.first)).Text(" – ").Text(q.low_label).Close("span");
    } else {
      h.Open("span").Close("span");
    }
    if (!high_id.empty()) {
      h.Open("span").Attr("id", high_id);
      h.Text(std::to_string(range.last)).Text(" – ").Text(q.high_label).Close("span");
    }
    h.Close("div");
  }
  h.Close("fieldset");
}

void WriteQuestion(Html& h, const ChoiceQuestion& q, const QuestionContext& ctx) {
  const std::string error_id = ErrorId(ctx);
  h.Open("fieldset").Attr("id", DomId(ctx.number, "")).Attr("class", "question choices");
  h.Open("legend").Text(q.text);
  WriteRequiredMarker(h, q.required, ctx.lang);
  h.Close("legend");
  WriteFieldError(h, ctx);

  bool checked_one = false;  // a single choice checks at most one, the first selected
  for (std::size_t i = 0; i < q.choices.size(); ++i) {
    const auto& [choice_id, label] = q.choices[i];
    const std::string id = ChoiceOptionId(ctx.number, i);
    bool checked = std::find(q.selected.begin(), q.selected.end(), choice_id) != q.selected.end();
    if (!q.multiple) {
      checked = checked && !checked_one;
      checked_one = checked_one || checked;
    }
    h.Open("div").Attr("class", "choice");
    h.Open("input").Attr("type", q.multiple ? "checkbox" : "radio").Attr("id", id);
    h.Attr("name", q.id).Attr("value", choice_id).Flag("checked", checked);
    // A required checkbox would demand every box; only a radio group can be required natively.
    h.Flag("required", q.required && !q.multiple);
    DescribeControl(h, error_id, !ctx.errors.empty());
    h.Open("label").Attr("for", id).Text(label).Close("label");
    h.Close("div");
  }
  h.Close("fieldset");
}

void WriteQuestion(Html& h, const TextQuestion& q, const QuestionContext& ctx) {
  const std::string id = DomId(ctx.number, "text");
  h.Open("fieldset").Attr("id", DomId(ctx.number, "")).Attr("class", "question text");
  h.Open("legend").Open("label").Attr("for", id).Text(q.text);
  WriteRequiredMarker(h, q.required, ctx.lang);
  h.Close("label").Close("legend");
  WriteFieldError(h, ctx);
  h.Open("textarea").Attr("id", id).Attr("name", q.id).Attr("rows", 5);
  h.Flag("required", q.required);
  DescribeControl(h, ErrorId(ctx), !ctx.errors.empty());
  // The parser drops one newline right after <textarea>; keep a leading newline of the value.
  if (!q.value.empty() && q.value.front() == '\n') h.Raw("\n");
  h.Text(q.value).Close("textarea");
  h.Close("fieldset");
}

// <!DOCTYPE html> up to and including <body>.
void WriteDocumentStart(Html& h, std::string_view lang, std::string_view title,
                        std::string_view brand_colour) {
  h.Raw("<!DOCTYPE html>\n");
  h.Open("html").Attr("lang", lang).Raw("\n");
  h.Open("head").Raw("\n");
  h.Open("meta").Attr("charset", "utf-8").Raw("\n");
  h.Open("meta").Attr("name", "viewport").Attr("content", "width=device-width, initial-scale=1");
  h.Raw("\n");
  h.Open("meta").Attr("name", "referrer").Attr("content", "no-referrer").Raw("\n");
  h.Open("meta").Attr("name", "robots").Attr("content", "noindex, nofollow").Raw("\n");
  h.Open("title").Text(title).Close("title").Raw("\n");
  h.Style(SurveyPageCss()).Raw("\n");
  h.Style(BrandCss(brand_colour)).Raw("\n");
  h.Close("head").Raw("\n");
  h.Open("body").Raw("\n");
}

void WriteWorkspaceHeader(Html& h, std::string_view workspace_name) {
  h.Open("header").Attr("class", "brand");
  if (!workspace_name.empty()) h.Open("p").Text(workspace_name).Close("p");
  h.Close("header").Raw("\n");
}

std::string DocumentTitle(std::string_view title, std::string_view workspace_name) {
  std::string out(title);
  if (!workspace_name.empty()) {
    if (!out.empty()) out += " – ";
    out += workspace_name;
  }
  return out;
}

std::string QuestionContextName(const PageQuestion& question, std::size_t index) {
  const std::string& id = QuestionId(question);
  return id.empty() ? "question " + std::to_string(index + 1) : "question '" + id + "'";
}

}  // namespace

// ---- Colours -------------------------------------------------------------------------------

Result<Rgb> ParseBrandColour(std::string_view text) {
  const auto invalid = [&] {
    return InvalidArgument("brand_colour", "'" + std::string(text) + "' is not a #RRGGBB colour");
  };
  if (text.size() != 7 || text[0] != '#') return invalid();
  std::array<int, 6> digits{};
  for (std::size_t i = 0; i < 6; ++i) {
    digits[i] = HexValue(text[i + 1]);
    if (digits[i] < 0) return invalid();
  }
  return Rgb{static_cast<std::uint8_t>(digits[0] * 16 + digits[1]),
             static_cast<std::uint8_t>(digits[2] * 16 + digits[3]),
             static_cast<std::uint8_t>(digits[4] * 16 + digits[5])};
}

Rgb BrandColourOrDefault(std::string_view text) {
  if (auto parsed = ParseBrandColour(text)) return *parsed;
  return *ParseBrandColour(kDefaultBrandColour);
}

std::string FormatColour(Rgb colour) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "#";
  for (std::uint8_t channel : {colour.r, colour.g, colour.b}) {
    out += kHex[channel >> 4];
    out += kHex[channel & 0x0F];
  }
  return out;
}

double RelativeLuminance(Rgb colour) {
  return 0.2126 * LinearChannel(colour.r) + 0.7152 * LinearChannel(colour.g) +
         0.0722 * LinearChannel(colour.b);
}

double ContrastRatio(Rgb a, Rgb b) {
  const double la = RelativeLuminance(a);
  const double lb = RelativeLuminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

Rgb TextColourOn(Rgb background) {
  return ContrastRatio(background, kWhite) >= ContrastRatio(background, kBlack) ? kWhite : kBlack;
}

// ---- UI strings ----------------------------------------------------------------------------

std::string_view PageLanguage(std::string_view locale) {
  if (locale.size() >= 2 && (locale[0] == 'd' || locale[0] == 'D') &&
      (locale[1] == 'e' || locale[1] == 'E') &&
      (locale.size() == 2 || locale[2] == '-' || locale[2] == '_')) {
    return "de";
  }
  return "en";
}

std::pair<std::string_view, std::string_view> ScaleEndLabels(std::string_view locale, QuestionKind kind) {
  switch (kind) {
    case QuestionKind::kNps: return {UiText(locale, UiKey::kNpsLow), UiText(locale, UiKey::kNpsHigh)};
    case QuestionKind::kCsat: return {UiText(locale, UiKey::kCsatLow), UiText(locale, UiKey::kCsatHigh)};
    case QuestionKind::kCes: return {UiText(locale, UiKey::kCesLow), UiText(locale, UiKey::kCesHigh)};
    default: return {};
  }
}

std::string_view UiText(std::string_view locale, UiKey key) {
  const UiRow& row = kUiTable[static_cast<std::size_t>(key)];
  if (PageLanguage(locale) == "de" && !row.de.empty()) return row.de;
  return row.en;
}

// ---- The survey page -----------------------------------------------------------------------

Status ValidateSurveyPage(const SurveyPage& page) {
  if (!page.brand_colour.empty()) TREU_RETURN_IF_ERROR(ParseBrandColour(page.brand_colour));

  std::set<std::string_view> ids;
  for (std::size_t i = 0; i < page.questions.size(); ++i) {
    const PageQuestion& question = page.questions[i];
    const std::string context = QuestionContextName(question, i);
    const std::string& id = QuestionId(question);
    if (id.empty()) return InvalidArgument(context, "the question id is empty");
    if (id == kTokenFieldName) {
      return InvalidArgument(context, "the id '" + id + "' is reserved for the token field");
    }
    if (!ids.insert(id).second) return InvalidArgument(context, "the question id is not unique");

    if (const auto* scale = std::get_if<ScaleQuestion>(&question)) {
      const long long points = static_cast<long long>(scale->max) - scale->min + 1;
      if (points < 2 || points > 11) {
        return InvalidArgument(context,
                               "a scale needs 2 to 11 points, not " + std::to_string(points));
      }
      if (scale->selected && (*scale->selected < scale->min || *scale->selected > scale->max)) {
        return InvalidArgument(context, "the selected value " + std::to_string(*scale->selected) +
                                            " is outside the scale");
      }
    } else if (const auto* choice = std::get_if<ChoiceQuestion>(&question)) {
      if (choice->choices.empty()) return InvalidArgument(context, "there are no choices");
      std::set<std::string_view> choice_ids;
      for (const auto& [choice_id, label] : choice->choices) {
        if (choice_id.empty()) return InvalidArgument(context, "a choice id is empty");
        if (!choice_ids.insert(choice_id).second) {
          return InvalidArgument(context, "the choice id '" + choice_id + "' is not unique");
        }
      }
      if (!choice->multiple && choice->selected.size() > 1) {
        return InvalidArgument(context, "a single choice has more than one selected choice");
      }
      for (const std::string& selected : choice->selected) {
        if (!choice_ids.contains(selected)) {
          return InvalidArgument(context, "the selected choice '" + selected + "' is unknown");
        }
      }
    }
  }

  for (const FieldError& error : page.errors) {
    if (!error.question_id.empty() && !ids.contains(error.question_id)) {
      return InvalidArgument("errors",
                             "the error names an unknown question '" + error.question_id + "'");
    }
  }
  return Ok();
}

std::string RenderSurveyPage(const SurveyPage& page) {
  const std::string_view lang = PageLanguage(page.locale);

  std::string title = DocumentTitle(page.title, page.workspace_name);
  if (!page.errors.empty()) {
    title = std::string(UiText(lang, UiKey::kErrorPrefix)) + ": " + title;
  }

  Html h;
  WriteDocumentStart(h, lang, title, page.brand_colour);
  WriteWorkspaceHeader(h, page.workspace_name);
  h.Open("main").Raw("\n");

  // Where each question's errors go, by question id (the first question with an id wins).
  std::vector<QuestionContext> contexts;
  contexts.reserve(page.questions.size());
  for (std::size_t i = 0; i < page.questions.size(); ++i) {
    contexts.push_back(QuestionContext{i + 1, lang, {}});
  }
  const auto find_question = [&](std::string_view id) -> std::ptrdiff_t {
    if (id.empty()) return -1;
    for (std::size_t i = 0; i < page.questions.size(); ++i) {
      if (QuestionId(page.questions[i]) == id) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
  };

  if (!page.errors.empty()) {
    h.Open("div").Attr("class", "error-summary").Attr("role", "alert");
    h.Attr("aria-labelledby", "error-summary-title").Attr("tabindex", -1);
    h.Open("h2").Attr("id", "error-summary-title");
    h.Text(UiText(lang, UiKey::kErrorSummaryTitle)).Close("h2");
    h.Open("ul");
    for (const FieldError& error : page.errors) {
      h.Open("li");
      const std::ptrdiff_t index = find_question(error.question_id);
      if (index >= 0) {
        const auto i = static_cast<std::size_t>(index);
        contexts[i].errors.push_back(error.message);
        h.Open("a").Attr("href", "#" + FirstControlId(page.questions[i], i + 1));
        h.Text(error.message).Close("a");
      } else {
        h.Text(error.message);
      }
      h.Close("li");
    }
    h.Close("ul").Close("div").Raw("\n");
  }

  h.Open("h1").Text(page.title).Close("h1").Raw("\n");
  if (!page.intro.empty()) h.Open("p").Attr("class", "intro").Text(page.intro).Close("p").Raw("\n");
  if (!page.notice.empty()) {
    h.Open("p").Attr("class", "notice").Attr("role", "status").Text(page.notice).Close("p").Raw("\n");
  }

  h.Open("form").Attr("method", "post");
  if (!page.action_url.empty()) h.UrlAttr("action", page.action_url);
  h.Attr("accept-charset", "UTF-8").Raw("\n");
  h.Open("input").Attr("type", "hidden").Attr("name", kTokenFieldName);
  h.Attr("value", page.csrf_or_token_field).Raw("\n");
  for (std::size_t i = 0; i < page.questions.size(); ++i) {
    std::visit([&](const auto& q) { WriteQuestion(h, q, contexts[i]); }, page.questions[i]);
    h.Raw("\n");
  }
  h.Open("button").Attr("type", "submit").Text(UiText(lang, UiKey::kSubmit)).Close("button");
  h.Raw("\n");
  h.Close("form").Raw("\n");
  h.Close("main").Raw("\n");
  h.Close("body").Raw("\n");
  h.Close("html").Raw("\n");
  return h.Take();
}

std::string RenderMessagePage(std::string_view locale, std::string_view workspace_name,
                              std::string_view brand_colour, std::string_view title,
                              std::string_view message) {
  const std::string_view lang = PageLanguage(locale);
  Html h;
  WriteDocumentStart(h, lang, DocumentTitle(title, workspace_name), brand_colour);
  WriteWorkspaceHeader(h, workspace_name);
  h.Open("main").Raw("\n");
  h.Open("h1").Text(title).Close("h1").Raw("\n");
  if (!message.empty()) h.Open("p").Attr("class", "message").Text(message).Close("p").Raw("\n");
  h.Close("main").Raw("\n");
  h.Close("body").Raw("\n");
  h.Close("html").Raw("\n");
  return h.Take();
}

void WritePageStart(Html& h, std::string_view locale, std::string_view workspace_name, std::string_view brand_colour,
                    std::string_view title) {
  WriteDocumentStart(h, PageLanguage(locale), DocumentTitle(title, workspace_name), brand_colour);
  WriteWorkspaceHeader(h, workspace_name);
}

std::string_view SurveyPageCss() { return kSurveyPageCss; }

std::string BrandCss(std::string_view brand_colour) {
  const Rgb brand = BrandColourOrDefault(brand_colour);
  return ":root{--brand:" + FormatColour(brand) +
         ";--on-brand:" + FormatColour(TextColourOn(brand)) + "}";
}

// ---- The scale inside an e-mail ------------------------------------------------------------

namespace {

constexpr std::string_view kEmailFont = "font-family:Arial,Helvetica,sans-serif;";

std::string EmailLink(const EmailScale& scale, int score) {
  return SafeUrl(scale.link_for ? scale.link_for(score) : std::string());
}

}  // namespace

std::string RenderEmailScale(const EmailScale& scale) {
  const Rgb brand = BrandColourOrDefault(scale.brand_colour);
  const std::string background = FormatColour(brand);
  const std::string foreground = FormatColour(TextColourOn(brand));
  const ScaleRange range = ClampScale(scale.min, scale.max);
  const int points = range.last - range.first + 1;
  const std::string font(kEmailFont);

  Html h;
  h.Open("table").Attr("role", "presentation").Attr("width", "100%").Attr("cellpadding", "0");
  h.Attr("cellspacing", "0").Attr("border", "0");
  h.Attr("style", "max-width:480px;border-collapse:separate;border-spacing:3px 0;").Raw("\n");
  if (!scale.question.empty()) {
    h.Open("tr").Open("td").Attr("colspan", std::max(points, 1));
    h.Attr("style", font + "font-size:16px;line-height:1.4;color:#111827;padding:0 0 12px 0;");
    h.Text(scale.question).Close("td").Close("tr").Raw("\n");
  }
  h.Open("tr").Raw("\n");
  for (int score = range.first; score <= range.last; ++score) {
    h.Open("td").Attr("align", "center").Attr("bgcolor", background);
    h.Attr("style", "background-color:" + background + ";border-radius:4px;");
    h.Open("a").Attr("href", EmailLink(scale, score));
    h.Attr("style", "display:block;padding:10px 0;" + font +
                        "font-size:16px;font-weight:bold;line-height:1;color:" + foreground +
                        ";text-decoration:none;");
    h.Text(std::to_string(score)).Close("a").Close("td").Raw("\n");
  }
  h.Close("tr").Raw("\n");
  if (!scale.low_label.empty() || !scale.high_label.empty()) {
    const int left = (points + 1) / 2;
    const int right = points - left;
    const std::string label_style = font +
                                    "font-size:13px;line-height:1.3;color:#4b5563;"
                                    "padding:8px 0 0 0;";
    h.Open("tr");
    h.Open("td").Attr("colspan", std::max(left, 1)).Attr("align", "left");
    h.Attr("style", label_style).Text(scale.low_label).Close("td");
    if (right > 0) {
      h.Open("td").Attr("colspan", right).Attr("align", "right");
      h.Attr("style", label_style).Text(scale.high_label).Close("td");
    }
    h.Close("tr").Raw("\n");
  }
  h.Close("table").Raw("\n");
  return h.Take();
}

std::string RenderEmailScaleText(const EmailScale& scale) {
  const ScaleRange range = ClampScale(scale.min, scale.max);
  std::string out;
  if (!scale.question.empty()) out += SanitizeUtf8(scale.question) + "\n";
  std::string legend;
  if (!scale.low_label.empty()) {
    legend += std::to_string(range.first) + " = " + SanitizeUtf8(scale.low_label);
  }
  if (!scale.high_label.empty()) {
    if (!legend.empty()) legend += ", ";
    legend += std::to_string(range.last) + " = " + SanitizeUtf8(scale.high_label);
  }
  if (!legend.empty()) out += "(" + legend + ")\n";
  for (int score = range.first; score <= range.last; ++score) {
    out += std::to_string(score) + ": " + SanitizeUtf8(EmailLink(scale, score)) + "\n";
  }
  return out;
}

}  // namespace treu::survey
