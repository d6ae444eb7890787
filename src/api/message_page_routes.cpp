#include "api/message_page_routes.hpp"

#include <algorithm>

#include "api/route_support.hpp"
#include "messaging/consent.hpp"
#include "surveys/page.hpp"

namespace treu::api {
namespace {

using messaging::LinkKind;
using messaging::LinkTarget;


// The page texts, German and English.
enum class Text {
  kUnsubscribeTitle, kUnsubscribeAll, kUnsubscribeTopic, kUnsubscribeButton, kUnsubscribedTitle,
  kUnsubscribedAll, kUnsubscribedTopic, kManage, kPrefsTitle, kPrefsEmail, kPrefsTopics, kPrefsPause,
  kPrefsTracking, kPrefsSave, kPrefsSaved, kConfirmTitle, kConfirmText, kConfirmButton, kConfirmedTitle,
  kConfirmedText, kInvalidTitle, kInvalidText, kExpiredTitle, kExpiredText,
};
std::string_view T(std::string_view lang, Text t) {
  const bool de = lang == "de";
  switch (t) {
    case Text::kUnsubscribeTitle: return de ? "Abmelden" : "Unsubscribe";
    case Text::kUnsubscribeAll: return de ? "Sie erhalten dann keine Marketing-E-Mails mehr von uns." : "You will no longer receive marketing email from us.";
    case Text::kUnsubscribeTopic: return de ? "Sie erhalten dann keine E-Mails mehr zu diesem Thema:" : "You will no longer receive email about this topic:";
    case Text::kUnsubscribeButton: return de ? "Abmelden" : "Unsubscribe";
    case Text::kUnsubscribedTitle: return de ? "Sie sind abgemeldet" : "You are unsubscribed";
    case Text::kUnsubscribedAll: return de ? "Sie erhalten keine Marketing-E-Mails mehr von uns." : "You will no longer receive marketing email from us.";
    case Text::kUnsubscribedTopic: return de ? "Sie erhalten keine E-Mails mehr zu diesem Thema:" : "You will no longer receive email about this topic:";
    case Text::kManage: return de ? "Einstellungen verwalten" : "Manage your preferences";
    case Text::kPrefsTitle: return de ? "Ihre E-Mail-Einstellungen" : "Your email preferences";
    case Text::kPrefsEmail: return de ? "E-Mails erhalten" : "Receive email";
    case Text::kPrefsTopics: return de ? "Themen" : "Topics";
    case Text::kPrefsPause: return de ? "30 Tage pausieren" : "Pause for 30 days";
    case Text::kPrefsTracking: return de ? "Öffnungen und Klicks messen" : "Measure opens and clicks";
    case Text::kPrefsSave: return de ? "Speichern" : "Save";
    case Text::kPrefsSaved: return de ? "Ihre Einstellungen sind gespeichert." : "Your preferences are saved.";
    case Text::kConfirmTitle: return de ? "Anmeldung bestätigen" : "Confirm your subscription";
    case Text::kConfirmText: return de ? "Bitte bestätigen Sie, dass Sie unsere E-Mails erhalten möchten." : "Please confirm that you want to receive our email.";
    case Text::kConfirmButton: return de ? "Bestätigen" : "Confirm";
    case Text::kConfirmedTitle: return de ? "Danke!" : "Thank you!";
    case Text::kConfirmedText: return de ? "Ihre Anmeldung ist bestätigt." : "Your subscription is confirmed.";
    case Text::kInvalidTitle: return de ? "Dieser Link ist ungültig" : "This link is not valid";
    case Text::kInvalidText: return de ? "Bitte verwenden Sie den Link aus Ihrer neuesten E-Mail." : "Please use the link in your latest email.";
    case Text::kExpiredTitle: return de ? "Dieser Link ist abgelaufen" : "This link has expired";
    case Text::kExpiredText: return de ? "Bitte fordern Sie eine neue E-Mail an." : "Please ask for a new email.";
  }
  return "";
}

std::string_view LangOf(const Customer& c, const HttpRequest& req) {
  if (!c.locale.empty()) return survey::PageLanguage(c.locale);
  return survey::PageLanguage(req.Header("accept-language").substr(0, 2));
}

messaging::Requester Who(const RequestContext& ctx) {
  return {ctx.request.remote, std::string(ctx.request.Header("user-agent"))};
}


// The page for a link that can't be used (malformed, forged, expired, or what it names is gone).
HttpResponse LinkProblem(const RequestContext& ctx, const Error& e) {
  const std::string_view lang = survey::PageLanguage(ctx.request.Header("accept-language").substr(0, 2));
  const bool expired = e.code() == ErrorCode::kFailedPrecondition && e.detail() == "expired";
  return PublicPage(expired ? 410 : 404,
              survey::RenderMessagePage(lang, "", "", T(lang, expired ? Text::kExpiredTitle : Text::kInvalidTitle),
                                        T(lang, expired ? Text::kExpiredText : Text::kInvalidText)));
}

Result<LinkTarget> Open(RequestContext& ctx, LinkKind kind, std::string_view bound = "") {
  if (ctx.signing_secret == nullptr) return Unavailable("messaging", "this server has no signing secret");
  return messaging::OpenLink(ctx.store, ctx.params.at("token"), kind, bound, Secret(ctx), ctx.clock.Now());
}

// A token-link error renders as a page; storage errors stay errors (problem+json 5xx).
bool IsLinkError(const Error& e) {
  return e.context() == "link" || e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kPermissionDenied;
}

// The preference page link of the same customer (preference links don't expire).
std::string PreferencesPath(const RequestContext& ctx, const LinkTarget& t) {
  messaging::LinkClaims c{LinkKind::kPreferences, t.workspace.id, t.customer.id, 0, Timestamp{}};
  return "/m/p/" + messaging::SignLink(c, "", Secret(ctx));
}

std::string TopicOf(RequestContext& ctx, const LinkTarget& t) {
  if (t.claims.ref == 0) return "";
  auto tmpl = ctx.store.FindMessageTemplateById(t.workspace.id, t.claims.ref);
  return tmpl && *tmpl ? (*tmpl)->topic : "";
}

HttpResponse SimplePage(const LinkTarget& t, std::string_view lang, std::string_view title,
                        std::initializer_list<std::string_view> paragraphs, std::string_view link = "",
                        std::string_view link_text = "") {
  survey::Html h;
  survey::WritePageStart(h, lang, t.workspace.name, t.workspace.brand_colour, title);
  h.Open("main").Raw("\n").Open("h1").Text(title).Close("h1").Raw("\n");
  for (std::string_view p : paragraphs) {
    if (!p.empty()) h.Open("p").Attr("class", "message").Text(p).Close("p").Raw("\n");
  }
  if (!link.empty()) h.Open("p").Open("a").UrlAttr("href", link).Text(link_text).Close("a").Close("p").Raw("\n");
  h.Close("main").Raw("\n").Close("body").Raw("\n").Close("html").Raw("\n");
  return PublicPage(200, h.Take());
}

HttpResponse ButtonPage(const LinkTarget& t, std::string_view lang, std::string_view title,
                        std::initializer_list<std::string_view> paragraphs, std::string_view button) {
  survey::Html h;
  survey::WritePageStart(h, lang, t.workspace.name, t.workspace.brand_colour, title);
  h.Open("main").Raw("\n").Open("h1").Text(title).Close("h1").Raw("\n");
  for (std::string_view p : paragraphs) {
    if (!p.empty()) h.Open("p").Attr("class", "message").Text(p).Close("p").Raw("\n");
  }
  h.Open("form").Attr("method", "post").Open("button").Attr("type", "submit").Text(button).Close("button");
  h.Close("form").Raw("\n").Close("main").Raw("\n").Close("body").Raw("\n").Close("html").Raw("\n");
  return PublicPage(200, h.Take());
}

Result<HttpResponse> ShowUnsubscribe(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kUnsubscribe);
  if (!t) return IsLinkError(t.error()) ? Result<HttpResponse>(LinkProblem(ctx, t.error())) : std::unexpected(t.error());
  const std::string_view lang = LangOf(t->customer, ctx.request);
  const std::string topic = TopicOf(ctx, *t);
  return ButtonPage(*t, lang, T(lang, Text::kUnsubscribeTitle),
                    {T(lang, topic.empty() ? Text::kUnsubscribeAll : Text::kUnsubscribeTopic), topic},
                    T(lang, Text::kUnsubscribeButton));
}

Result<HttpResponse> DoUnsubscribe(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kUnsubscribe);
  if (!t) return IsLinkError(t.error()) ? Result<HttpResponse>(LinkProblem(ctx, t.error())) : std::unexpected(t.error());
  // RFC 8058: mail clients POST "List-Unsubscribe=One-Click"; the page's button posts nothing.
  const bool one_click = ctx.request.body.find("List-Unsubscribe=One-Click") != std::string::npos;
  TREU_ASSIGN_OR_RETURN(std::string topic,
                        messaging::Unsubscribe(ctx.store, *t, one_click ? "one_click" : "page", Who(ctx), ctx.clock.Now()));
  const std::string_view lang = LangOf(t->customer, ctx.request);
  return SimplePage(*t, lang, T(lang, Text::kUnsubscribedTitle),
                    {T(lang, topic.empty() ? Text::kUnsubscribedAll : Text::kUnsubscribedTopic), topic},
                    PreferencesPath(ctx, *t), T(lang, Text::kManage));
}

HttpResponse PreferencesPage(const LinkTarget& t, std::string_view lang, const messaging::PreferenceView& v,
                             std::string_view notice, Timestamp now) {
  survey::Html h;
  survey::WritePageStart(h, lang, t.workspace.name, t.workspace.brand_colour, T(lang, Text::kPrefsTitle));
  h.Open("main").Raw("\n").Open("h1").Text(T(lang, Text::kPrefsTitle)).Close("h1").Raw("\n");
  if (!notice.empty()) h.Open("p").Attr("class", "message").Attr("role", "status").Text(notice).Close("p").Raw("\n");
  h.Open("form").Attr("method", "post").Raw("\n");
  auto checkbox = [&](std::string_view name, std::string_view value, std::string_view id, std::string_view label,
                      bool checked) {
    h.Open("p").Open("input").Attr("type", "checkbox").Attr("name", name).Attr("value", value).Attr("id", id);
    h.Flag("checked", checked);
    h.Open("label").Attr("for", id).Text(label).Close("label").Close("p").Raw("\n");
  };
  checkbox("email", "on", "email", T(lang, Text::kPrefsEmail), v.email);
  if (!v.topics.empty()) {
    h.Open("fieldset").Open("legend").Text(T(lang, Text::kPrefsTopics)).Close("legend").Raw("\n");
    for (std::size_t i = 0; i < v.topics.size(); ++i) {
      const bool on = !std::binary_search(v.topics_off.begin(), v.topics_off.end(), v.topics[i]);
      checkbox("topic", v.topics[i], "topic-" + std::to_string(i), v.topics[i], on);
    }
    h.Close("fieldset").Raw("\n");
  }
  checkbox("pause", "30", "pause", T(lang, Text::kPrefsPause), v.paused_until && now < *v.paused_until);
  checkbox("tracking", "on", "tracking", T(lang, Text::kPrefsTracking), v.tracking);
  h.Open("button").Attr("type", "submit").Text(T(lang, Text::kPrefsSave)).Close("button").Raw("\n");
  h.Close("form").Raw("\n").Close("main").Raw("\n").Close("body").Raw("\n").Close("html").Raw("\n");
  return PublicPage(200, h.Take());
}

Result<HttpResponse> ShowPreferences(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kPreferences);
  if (!t) return IsLinkError(t.error()) ? Result<HttpResponse>(LinkProblem(ctx, t.error())) : std::unexpected(t.error());
  TREU_ASSIGN_OR_RETURN(auto view, messaging::LoadPreferences(ctx.store, *t));
  return PreferencesPage(*t, LangOf(t->customer, ctx.request), view, "", ctx.clock.Now());
}

Result<HttpResponse> SavePreferences(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kPreferences);
  if (!t) return IsLinkError(t.error()) ? Result<HttpResponse>(LinkProblem(ctx, t.error())) : std::unexpected(t.error());
  std::string encoded;
  for (char c : ctx.request.body) encoded += c == '+' ? std::string("%20") : std::string(1, c);
  std::string path;
  std::vector<std::pair<std::string, std::string>> fields;
  if (!ParseTarget("/?" + encoded, path, fields)) return InvalidArgument("body", "is not a valid form submission");
  TREU_ASSIGN_OR_RETURN(auto current, messaging::LoadPreferences(ctx.store, *t));
  const Timestamp now = ctx.clock.Now();
  messaging::PreferenceView v = current;
  std::vector<std::string> on_topics;
  v.email = false;
  v.tracking = false;
  bool pause = false;
  for (const auto& [name, value] : fields) {
    if (name == "email") v.email = true;
    if (name == "tracking") v.tracking = true;
    if (name == "pause") pause = true;
    if (name == "topic") on_topics.push_back(value);
  }
  v.topics_off.clear();
  for (const std::string& topic : current.topics) {
    if (std::find(on_topics.begin(), on_topics.end(), topic) == on_topics.end()) v.topics_off.push_back(topic);
  }
  const bool was_paused = current.paused_until && now < *current.paused_until;
  if (pause && !was_paused) v.paused_until = Timestamp{now.micros + 30LL * 24 * 3600 * 1'000'000};
  if (!pause) v.paused_until.reset();
  TREU_RETURN_IF_ERROR(messaging::SavePreferences(ctx.store, *t, v, Who(ctx), now));
  // The customer as stored now (consent may have changed).
  TREU_ASSIGN_OR_RETURN(auto saved, messaging::LoadPreferences(ctx.store, *t));
  saved.email = v.email;
  const std::string_view lang = LangOf(t->customer, ctx.request);
  return PreferencesPage(*t, lang, saved, T(lang, Text::kPrefsSaved), now);
}

Result<HttpResponse> ShowConfirm(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kConfirm);
  if (!t) return IsLinkError(t.error()) || t.error().code() == ErrorCode::kFailedPrecondition
                     ? Result<HttpResponse>(LinkProblem(ctx, t.error()))
                     : std::unexpected(t.error());
  const std::string_view lang = LangOf(t->customer, ctx.request);
  // Confirming needs the button (a POST), so mail scanners that follow links confirm nothing.
  return ButtonPage(*t, lang, T(lang, Text::kConfirmTitle), {T(lang, Text::kConfirmText)},
                    T(lang, Text::kConfirmButton));
}

Result<HttpResponse> DoConfirm(RequestContext& ctx) {
  auto t = Open(ctx, LinkKind::kConfirm);
  if (!t) return IsLinkError(t.error()) || t.error().code() == ErrorCode::kFailedPrecondition
                     ? Result<HttpResponse>(LinkProblem(ctx, t.error()))
                     : std::unexpected(t.error());
  TREU_RETURN_IF_ERROR(messaging::ConfirmEmailConsent(ctx.store, *t, Who(ctx), ctx.clock.Now()));
  const std::string_view lang = LangOf(t->customer, ctx.request);
  return SimplePage(*t, lang, T(lang, Text::kConfirmedTitle), {T(lang, Text::kConfirmedText)},
                    PreferencesPath(ctx, *t), T(lang, Text::kManage));
}

// A transparent 1×1 GIF.
constexpr unsigned char kPixel[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00,
                                    0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02,
                                    0x44, 0x01, 0x00, 0x3b};

Result<HttpResponse> OpenPixel(RequestContext& ctx) {
  std::string& token = ctx.params.at("token");
  if (token.ends_with(".gif")) token.resize(token.size() - 4);
  // The pixel answers the same whatever happens; only a valid link records an open.
  if (auto t = Open(ctx, LinkKind::kOpen)) {
    (void)messaging::RecordEngagement(ctx.store, *t, "", ctx.clock.Now());
  }
  HttpResponse r;
  r.content_type = "image/gif";
  r.body.assign(reinterpret_cast<const char*>(kPixel), sizeof kPixel);
  r.headers.emplace_back("Cache-Control", "no-store, private");
  return r;
}

Result<HttpResponse> Click(RequestContext& ctx) {
  const std::string* url = ctx.request.Query("u");
  if (url == nullptr) return LinkProblem(ctx, Error(ErrorCode::kInvalidArgument, "link", "no target"));
  auto t = Open(ctx, LinkKind::kClick, *url);
  // Only the URL the token signs is followed: never an open redirect.
  if (!t) return IsLinkError(t.error()) ? Result<HttpResponse>(LinkProblem(ctx, t.error())) : std::unexpected(t.error());
  (void)messaging::RecordEngagement(ctx.store, *t, *url, ctx.clock.Now());
  HttpResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", *url);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

std::vector<Route> MessagePageRoutes() {
  return {
      {"GET", "/m/u/{token}", Access::Public(), "The unsubscribe page of a message's link (HTML); changes nothing",
       ShowUnsubscribe},
      {"POST", "/m/u/{token}", Access::Public(),
       "Unsubscribes: RFC 8058 one-click (body List-Unsubscribe=One-Click) or the page's button; HTML",
       DoUnsubscribe},
      {"GET", "/m/p/{token}", Access::Public(), "The preference page of a customer (HTML)", ShowPreferences},
      {"POST", "/m/p/{token}", Access::Public(),
       "Saves the preference page (application/x-www-form-urlencoded: email, topic…, pause, tracking); HTML",
       SavePreferences},
      {"GET", "/m/confirm/{token}", Access::Public(), "The double opt-in page (HTML); changes nothing", ShowConfirm},
      {"POST", "/m/confirm/{token}", Access::Public(), "Confirms a double opt-in; HTML", DoConfirm},
      {"GET", "/m/o/{token}", Access::Public(), "The open pixel of a message (image/gif)", OpenPixel},
      {"GET", "/m/c/{token}", Access::Public(), "A click on a message's link: recorded, then 302 to ?u", Click},
  };
}

}  // namespace treu::api
