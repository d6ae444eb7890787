#include "api/messaging_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/route_support.hpp"
#include "api/problem.hpp"
#include "messaging/composer.hpp"
#include "messaging/consent.hpp"
#include "messaging/delivery.hpp"
#include "messaging/mime.hpp"
#include "messaging/settings.hpp"

namespace treu::api {
namespace {

using nlohmann::json;



json OptionalTime(const std::optional<Timestamp>& t) { return t ? json(FormatTimestamp(*t)) : json(nullptr); }

// ---- Settings ----

json SettingsJson(const MessagingSettingsRecord& s) {
  return {{"from_name", s.from_name},
          {"from_address", s.from_address},
          {"reply_to", s.reply_to},
          {"transport", s.transport},
          {"smtp_url", s.smtp_url},
          {"smtp_tls", s.smtp_tls},
          {"smtp_username", s.smtp_username},
          {"smtp_password_set", !s.smtp_password_sealed.empty()},
          {"dkim_domain", s.dkim_domain},
          {"dkim_selector", s.dkim_selector},
          {"dkim_key_set", !s.dkim_key_sealed.empty()},
          {"public_url", s.public_url},
          {"track_engagement", s.track_engagement},
          {"consent_text_version", s.consent_text_version},
          {"max_attempts", s.max_attempts},
          {"updated_at", s.updated_at.micros == 0 ? json(nullptr) : json(FormatTimestamp(s.updated_at))}};
}

Result<HttpResponse> GetSettings(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto s, messaging::LoadMessagingSettings(ctx.store, ctx.workspace()));
  return JsonResponse(SettingsJson(s));
}

Result<HttpResponse> PatchSettings(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "messaging"));
  static constexpr std::string_view kStrings[] = {
      "from_name", "from_address", "reply_to", "transport", "smtp_url", "smtp_tls", "smtp_username",
      "smtp_password", "dkim_domain", "dkim_selector", "dkim_private_key", "consent_text_version", "public_url"};
  TREU_ASSIGN_OR_RETURN(json body,
                        BodyObject(ctx.request, {"from_name", "from_address", "reply_to", "transport", "smtp_url",
                                                 "smtp_tls", "smtp_username", "smtp_password", "dkim_domain",
                                                 "dkim_selector", "dkim_private_key", "consent_text_version",
                                                 "public_url", "track_engagement", "max_attempts"}));
  messaging::SettingsChange change;
  std::optional<std::string>* fields[] = {
      &change.from_name,   &change.from_address,  &change.reply_to,    &change.transport,
      &change.smtp_url,    &change.smtp_tls,      &change.smtp_username, &change.smtp_password,
      &change.dkim_domain, &change.dkim_selector, &change.dkim_private_key, &change.consent_text_version,
      &change.public_url};
  for (std::size_t i = 0; i < std::size(kStrings); ++i) {
    TREU_ASSIGN_OR_RETURN(*fields[i], OptionalString(body, std::string(kStrings[i])));
  }
  if (body.contains("track_engagement") && !body["track_engagement"].is_null()) {
    if (!body["track_engagement"].is_boolean()) return InvalidArgument("track_engagement", "must be true or false");
    change.track_engagement = body["track_engagement"].get<bool>();
  }
  if (body.contains("max_attempts") && !body["max_attempts"].is_null()) {
    if (!body["max_attempts"].is_number_integer()) return InvalidArgument("max_attempts", "must be an integer");
    change.max_attempts = body["max_attempts"].get<int>();
  }
  TREU_ASSIGN_OR_RETURN(auto current, messaging::LoadMessagingSettings(ctx.store, ctx.workspace()));
  TREU_ASSIGN_OR_RETURN(auto next, messaging::ApplySettingsChange(current, change, Secret(ctx), ctx.clock.Now()));
  TREU_RETURN_IF_ERROR(ctx.store.SaveMessagingSettings(next));
  return JsonResponse(SettingsJson(next));
}

// Sends a short test email through the workspace's transport now (not through the outbox),
// and answers with the transport's result.
Result<HttpResponse> TestSend(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "messaging"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"to"}));
  TREU_ASSIGN_OR_RETURN(auto to, OptionalString(body, "to"));
  if (!to) return InvalidArgument("to", "is required: the address to send the test to");
  TREU_RETURN_IF_ERROR(messaging::ValidateAddress(*to, "to"));
  TREU_ASSIGN_OR_RETURN(auto settings, messaging::LoadMessagingSettings(ctx.store, ctx.workspace()));
  TREU_ASSIGN_OR_RETURN(auto setup, messaging::MakeEmailSetup(settings, Secret(ctx), ctx.mail_dir, ctx.clock));
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  messaging::EmailMessage email;
  email.from = {settings.from_name, settings.from_address};
  email.to = {"", *to};
  email.subject = "treu test email (" + ws.name + ")";
  email.text = "This is a test email from treu, workspace " + ws.name +
               ". Your sending settings work.\n\nDies ist eine Test-E-Mail von treu; die Versandeinstellungen "
               "funktionieren.\n";
  TREU_ASSIGN_OR_RETURN(auto built, messaging::BuildMime(email, ctx.clock.Now()));
  std::string bytes = std::move(built.mime);
  if (setup.dkim) {
    TREU_ASSIGN_OR_RETURN(bytes, setup.dkim->Sign(bytes));
  }
  const auto r = setup.transport->Send({settings.from_address, *to}, bytes);
  return JsonResponse({{"outcome", std::string(messaging::SendOutcomeName(r.outcome))},
                       {"smtp_code", r.smtp_code},
                       {"detail", r.detail},
                       {"message_id", built.message_id}},
                      r.outcome == messaging::SendOutcome::kSent ? 200 : 502);
}

// ---- Templates ----

json TemplateJson(const MessageTemplateRecord& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"channel", std::string(ChannelName(t.channel))},
          {"topic", t.topic},
          {"subject", t.subject},
          {"html", t.html},
          {"text", t.text},
          {"link_url", t.link_url},
          {"layout", t.layout},
          {"endpoint", t.endpoint},
          {"created_at", FormatTimestamp(t.created_at)},
          {"updated_at", FormatTimestamp(t.updated_at)}};
}

json ProblemsJson(const std::vector<messaging::PartError>& problems) {
  json out = json::array();
  for (const auto& p : problems) {
    out.push_back({{"part", p.part}, {"line", p.error.line}, {"column", p.error.column}, {"message", p.error.message}});
  }
  return out;
}

// The parts of a template from a body: subject, html, text, topic (and the name when given).
Result<MessageTemplateRecord> TemplateOfBody(RequestContext& ctx, const json& body) {
  MessageTemplateRecord t;
  t.workspace = ctx.workspace();
  std::string* fields[] = {&t.name, &t.topic, &t.subject, &t.html, &t.text, &t.link_url, &t.layout, &t.endpoint};
  const char* names[] = {"name", "topic", "subject", "html", "text", "link_url", "layout", "endpoint"};
  for (std::size_t i = 0; i < std::size(names); ++i) {
    TREU_ASSIGN_OR_RETURN(auto v, OptionalString(body, names[i]));
    if (v) *fields[i] = std::move(*v);
  }
  TREU_ASSIGN_OR_RETURN(auto channel, OptionalString(body, "channel"));
  if (channel) {
    auto parsed = ParseChannel(*channel);
    if (!parsed) return InvalidArgument("channel", parsed.error().detail());
    t.channel = *parsed;
  }
  return t;
}

Result<HttpResponse> ListTemplates(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListMessageTemplates(ctx.workspace()));
  json data = json::array();
  for (const auto& t : all) data.push_back(TemplateJson(t));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> SaveTemplateRoute(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"name", "channel", "topic", "subject", "html", "text", "link_url", "layout", "endpoint"}));
  TREU_ASSIGN_OR_RETURN(MessageTemplateRecord t, TemplateOfBody(ctx, body));
  if (t.name.empty()) return InvalidArgument("name", "is required");
  const auto problems = messaging::CheckTemplate(t);
  if (!problems.empty()) {
    // Every problem, each at its part and position, so the editor can mark them all.
    std::vector<FieldError> errors;
    for (const auto& p : problems) {
      errors.push_back({"/" + p.part, std::to_string(p.error.line) + ":" + std::to_string(p.error.column) + ": " +
                                          p.error.message});
    }
    return ProblemResponse(400, "invalid_argument", "the template has " + std::to_string(problems.size()) +
                                                        " problem(s); the first: " + errors.front().detail,
                           ctx.request.path, errors);
  }
  TREU_ASSIGN_OR_RETURN(auto existing, ctx.store.FindMessageTemplate(ctx.workspace(), t.name));
  TREU_ASSIGN_OR_RETURN(auto saved, messaging::SaveTemplate(ctx.store, t, ctx.clock.Now()));
  return JsonResponse(TemplateJson(saved), existing ? 200 : 201);
}

Result<MessageTemplateRecord> TemplateOfPath(RequestContext& ctx) {
  const std::string& name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto t, ctx.store.FindMessageTemplate(ctx.workspace(), name));
  if (!t) return NotFound("template " + name, "no such template in this workspace");
  return std::move(*t);
}

Result<HttpResponse> GetTemplate(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto t, TemplateOfPath(ctx));
  return JsonResponse(TemplateJson(t));
}

Result<HttpResponse> DeleteTemplate(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(ctx.store.DeleteMessageTemplate(ctx.workspace(), ctx.params.at("name")));
  HttpResponse r;
  r.status = 204;
  return r;
}

// The editor's live check: every problem with its position; 200 whether or not there are any.
Result<HttpResponse> CheckTemplateRoute(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"name", "channel", "topic", "subject", "html", "text", "link_url", "layout", "endpoint"}));
  TREU_ASSIGN_OR_RETURN(MessageTemplateRecord t, TemplateOfBody(ctx, body));
  const auto problems = messaging::CheckTemplate(t);
  return JsonResponse({{"ok", problems.empty()}, {"errors", ProblemsJson(problems)}});
}

// A template (saved, by "template", or given inline) rendered for a real customer.
Result<HttpResponse> PreviewRoute(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "messaging"));
  TREU_ASSIGN_OR_RETURN(json body,
                        BodyObject(ctx.request, {"template", "customer_id", "channel", "topic", "subject", "html", "text",
                                                 "link_url", "layout", "endpoint"}));
  TREU_ASSIGN_OR_RETURN(auto name, OptionalString(body, "template"));
  TREU_ASSIGN_OR_RETURN(auto customer, OptionalString(body, "customer_id"));
  if (!customer) return InvalidArgument("customer_id", "is required: whose data to preview with");
  MessageTemplateRecord t;
  if (name) {
    TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindMessageTemplate(ctx.workspace(), *name));
    if (!found) return InvalidArgument("template", "no template '" + *name + "' in this workspace");
    t = std::move(*found);
  } else {
    TREU_ASSIGN_OR_RETURN(t, TemplateOfBody(ctx, body));
  }
  const auto problems = messaging::CheckTemplate(t);
  if (!problems.empty()) return JsonResponse({{"ok", false}, {"errors", ProblemsJson(problems)}}, 422);
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  auto rendered = messaging::PreviewTemplate(ctx.store, ws, snap, ctx.predictions, t, *customer, Secret(ctx),
                                             ctx.clock.Now());
  if (!rendered && rendered.error().code() == ErrorCode::kNotFound) {
    return InvalidArgument("customer_id", "no customer '" + *customer + "' in this workspace");
  }
  if (!rendered) return std::unexpected(rendered.error());
  return JsonResponse({{"ok", true},
                       {"customer_id", *customer},
                       {"subject", rendered->subject},
                       {"html", rendered->html},
                       {"text", rendered->text},
                       {"link_url", rendered->link_url}});
}

// ---- Sends ----

Result<HttpResponse> SendRoute(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "messaging"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"template", "customers", "segment", "where", "category",
                                                            "campaign", "key"}));
  messaging::SendRequest req;
  TREU_ASSIGN_OR_RETURN(auto name, OptionalString(body, "template"));
  if (!name) return InvalidArgument("template", "is required");
  req.template_name = *name;
  for (const char* member : {"segment", "where", "category", "campaign", "key"}) {
    TREU_ASSIGN_OR_RETURN(auto v, OptionalString(body, member));
    if (!v) continue;
    std::string_view m = member;
    (m == "segment" ? req.segment : m == "where" ? req.where : m == "category" ? req.category
                                  : m == "campaign" ? req.campaign : req.key) = std::move(*v);
  }
  if (body.contains("customers") && !body["customers"].is_null()) {
    if (!body["customers"].is_array()) return InvalidArgument("customers", "must be an array of customer ids");
    for (std::size_t i = 0; i < body["customers"].size(); ++i) {
      if (!body["customers"][i].is_string()) {
        return InvalidArgument("customers." + std::to_string(i), "must be a customer id (a string)");
      }
      req.customers.push_back(body["customers"][i].get<std::string>());
    }
  }
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  auto report = messaging::SendTemplate(ctx.store, ws, snap, ctx.predictions, req, Secret(ctx), ctx.clock.Now());
  if (!report && report.error().code() == ErrorCode::kNotFound && report.error().context().starts_with("template")) {
    return InvalidArgument("template", "no template '" + req.template_name + "' in this workspace");
  }
  if (!report && report.error().code() == ErrorCode::kNotFound && report.error().context().starts_with("customer")) {
    return InvalidArgument("customers", report.error().ToString());
  }
  if (!report) return std::unexpected(report.error());
  if (ctx.outbox != nullptr) ctx.outbox->Wake();
  return JsonResponse({{"key", report->key},
                       {"audience", report->audience},
                       {"queued", report->queued},
                       {"duplicates", report->duplicates},
                       {"skipped", {{"no_email", report->no_email},
                                    {"no_subscription", report->no_address},
                                    {"no_consent", report->no_consent},
                                    {"suppressed", report->suppressed}}}},
                      202);
}

// ---- Messages ----

json MessageJson(const OutboxMessage& m, const std::string& customer) {
  return {{"id", m.id},
          {"idempotency_key", m.idempotency_key},
          {"channel", std::string(ChannelName(m.channel))},
          {"customer_id", customer},
          {"category", m.category},
          {"topic", m.topic},
          {"template_id", m.template_id == 0 ? json(nullptr) : json(m.template_id)},
          {"campaign", m.campaign},
          {"recipient", m.recipient},
          {"subject", m.subject},
          {"state", std::string(MessageStateName(m.state))},
          {"attempts", m.attempts},
          {"next_attempt_at", m.state == MessageState::kQueued ? json(FormatTimestamp(m.next_attempt_at)) : json(nullptr)},
          {"provider_id", m.provider_id},
          {"last_error", m.last_error},
          {"created_at", FormatTimestamp(m.created_at)},
          {"sent_at", OptionalTime(m.sent_at)}};
}

json LogJson(const MessageLogEntry& e) {
  return {{"message_id", e.message_id}, {"kind", e.kind}, {"at", FormatTimestamp(e.at)}, {"detail", e.detail}};
}

Result<MessageFilter> FilterOf(RequestContext& ctx) {
  MessageFilter f;
  if (const std::string* c = ctx.request.Query("customer_id")) {
    TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindCustomer(ctx.workspace(), *c));
    if (!found) return InvalidArgument("customer_id", "no customer '" + *c + "' in this workspace");
    f.customer = found->id;
  }
  if (const std::string* c = ctx.request.Query("campaign")) f.campaign = *c;
  if (const std::string* s = ctx.request.Query("state")) {
    auto state = ParseMessageState(*s);
    if (!state) return InvalidArgument("state", state.error().detail());
    f.state = *state;
  }
  return f;
}

Result<HttpResponse> ListMessages(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(MessageFilter f, FilterOf(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t before, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListMessages(ctx.workspace(), f, before, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  std::map<std::int64_t, std::string> names;
  json data = json::array();
  for (const OutboxMessage& m : page) {
    auto name = names.find(m.customer.value);
    if (name == names.end()) {
      TREU_ASSIGN_OR_RETURN(auto ext, ctx.store.CustomerExternalId(ctx.workspace(), m.customer));
      name = names.emplace(m.customer.value, ext.value_or("")).first;
    }
    data.push_back(MessageJson(m, name->second));
  }
  return JsonResponse({{"data", std::move(data)},
                       {"next_cursor", more ? json(CursorAfter(page.back().id)) : json(nullptr)}});
}

Result<HttpResponse> GetMessage(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "message"));
  TREU_ASSIGN_OR_RETURN(auto m, ctx.store.FindMessage(ctx.workspace(), id));
  if (!m) return NotFound("message " + std::to_string(id), "no such message in this workspace");
  TREU_ASSIGN_OR_RETURN(auto ext, ctx.store.CustomerExternalId(ctx.workspace(), m->customer));
  TREU_ASSIGN_OR_RETURN(auto log, ctx.store.ListMessageLog(ctx.workspace(), m->id, CustomerId{}, 1000));
  json out = MessageJson(*m, ext.value_or(""));
  out["html"] = m->html;
  out["text"] = m->text;
  out["log"] = json::array();
  for (const auto& e : log) out["log"].push_back(LogJson(e));
  return JsonResponse(out);
}

Result<HttpResponse> MessageStats(RequestContext& ctx) {
  const std::string* campaign = ctx.request.Query("campaign");
  TREU_ASSIGN_OR_RETURN(auto c, ctx.store.CountMessages(ctx.workspace(), campaign ? *campaign : ""));
  return JsonResponse({{"campaign", campaign ? json(*campaign) : json(nullptr)},
                       {"queued", c.queued},
                       {"sending", c.sending},
                       {"sent", c.sent},
                       {"bounced", c.bounced},
                       {"failed", c.failed},
                       {"suppressed", c.suppressed},
                       {"cancelled", c.cancelled}});
}

Result<HttpResponse> CancelMessages(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"campaign", "customer_id"}));
  MessageFilter f;
  TREU_ASSIGN_OR_RETURN(auto campaign, OptionalString(body, "campaign"));
  TREU_ASSIGN_OR_RETURN(auto customer, OptionalString(body, "customer_id"));
  if (!campaign && !customer) return InvalidArgument("body", "name a campaign or a customer_id to cancel");
  if (campaign) f.campaign = *campaign;
  if (customer) {
    TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindCustomer(ctx.workspace(), *customer));
    if (!found) return InvalidArgument("customer_id", "no customer '" + *customer + "' in this workspace");
    f.customer = found->id;
  }
  TREU_ASSIGN_OR_RETURN(std::int64_t n, ctx.store.CancelMessages(ctx.workspace(), f, ctx.clock.Now()));
  return JsonResponse({{"cancelled", n}});
}

// ---- Suppressions ----

json SuppressionJson(const EmailSuppression& s) {
  return {{"address", s.address}, {"reason", s.reason}, {"detail", s.detail}, {"at", FormatTimestamp(s.at)}};
}

Result<HttpResponse> ListSuppressions(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  const std::string* after = ctx.request.Query("after");
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListSuppressions(ctx.workspace(), after ? *after : "", limit));
  json data = json::array();
  for (const auto& s : page) data.push_back(SuppressionJson(s));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> AddSuppression(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"address", "detail"}));
  TREU_ASSIGN_OR_RETURN(auto address, OptionalString(body, "address"));
  TREU_ASSIGN_OR_RETURN(auto detail, OptionalString(body, "detail"));
  if (!address) return InvalidArgument("address", "is required");
  TREU_RETURN_IF_ERROR(messaging::ValidateAddress(*address, "address"));
  EmailSuppression s{ctx.workspace(), *address, "manual", detail.value_or(""), ctx.clock.Now()};
  TREU_RETURN_IF_ERROR(ctx.store.SuppressEmail(s));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindSuppression(ctx.workspace(), *address));
  return JsonResponse(SuppressionJson(stored.value_or(s)), 201);
}

Result<HttpResponse> DeleteSuppression(RequestContext& ctx) {
  const std::string& address = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(bool deleted, ctx.store.DeleteSuppression(ctx.workspace(), address));
  if (!deleted) return NotFound("suppression " + address, "this address is not suppressed");
  HttpResponse r;
  r.status = 204;
  return r;
}

// ---- Consent ----

json ConsentRecordJson(const ConsentRecord& r, const std::string& customer) {
  return {{"id", r.id},
          {"customer_id", customer},
          {"channel", std::string(ChannelName(r.channel))},
          {"action", r.action},
          {"at", FormatTimestamp(r.at)},
          {"ip", r.ip},
          {"user_agent", r.user_agent},
          {"text_version", r.text_version},
          {"source", r.source}};
}

Result<HttpResponse> CustomerConsent(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  json consents = json::object();
  for (Channel ch : kAllChannels) {
    auto it = c.consent.find(ch);
    consents[std::string(ChannelName(ch))] =
        it == c.consent.end()
            ? json(nullptr)
            : json{{"granted", it->second.granted}, {"source", it->second.source}, {"at", FormatTimestamp(it->second.at)}};
  }
  TREU_ASSIGN_OR_RETURN(auto records, ctx.store.ListConsentRecords(ctx.workspace(), c.id, 0, 1000));
  json proof = json::array();
  for (const auto& r : records) proof.push_back(ConsentRecordJson(r, c.external_id));
  TREU_ASSIGN_OR_RETURN(auto prefs, ctx.store.FindMessagePreferences(ctx.workspace(), c.id));
  json preferences = {{"topics_off", prefs ? json(prefs->topics_off) : json::array()},
                      {"paused_until", prefs ? OptionalTime(prefs->paused_until) : json(nullptr)},
                      {"tracking", !(prefs && prefs->tracking_off)}};
  TREU_ASSIGN_OR_RETURN(auto suppressed, ctx.store.FindSuppression(ctx.workspace(), c.email));
  return JsonResponse({{"customer_id", c.external_id},
                       {"email", c.email},
                       {"consent", std::move(consents)},
                       {"email_suppressed", suppressed ? json(SuppressionJson(*suppressed)) : json(nullptr)},
                       {"preferences", std::move(preferences)},
                       {"records", std::move(proof)}});
}

Result<HttpResponse> RequestConsent(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "messaging"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"ip", "user_agent"}));
  TREU_ASSIGN_OR_RETURN(auto ip, OptionalString(body, "ip"));
  TREU_ASSIGN_OR_RETURN(auto ua, OptionalString(body, "user_agent"));
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  // The sign-up happened at the shop: its backend passes the customer's address and browser.
  messaging::Requester who{ip.value_or(""), ua.value_or("")};
  TREU_ASSIGN_OR_RETURN(std::string key, messaging::RequestEmailConsent(ctx.store, ws, ctx.params.at("id"), who,
                                                                        Secret(ctx), ctx.clock.Now()));
  if (ctx.outbox != nullptr) ctx.outbox->Wake();
  return JsonResponse({{"status", "requested"}, {"idempotency_key", key}}, 202);
}

// Every consent record of the workspace as JSON lines, oldest first (the proof for audits).
Result<HttpResponse> ExportConsent(RequestContext& ctx) {
  HttpResponse r;
  r.content_type = "application/x-ndjson";
  std::map<std::int64_t, std::string> names;
  std::int64_t after = 0;
  for (;;) {
    TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListConsentRecords(ctx.workspace(), CustomerId{}, after, 1000));
    for (const auto& rec : page) {
      auto name = names.find(rec.customer.value);
      if (name == names.end()) {
        TREU_ASSIGN_OR_RETURN(auto ext, ctx.store.CustomerExternalId(ctx.workspace(), rec.customer));
        name = names.emplace(rec.customer.value, ext.value_or("")).first;
      }
      r.body += ConsentRecordJson(rec, name->second).dump() + "\n";
      after = rec.id;
    }
    if (page.size() < 1000) break;
  }
  return r;
}

}  // namespace

std::vector<Route> MessagingRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  const Access write = Access::Requires(Scope::kWrite);
  const Access admin = Access::Requires(Scope::kAdmin);
  return {
      {"GET", "/api/v1/messaging/settings", read, "The workspace's sending settings (secrets only as *_set)",
       GetSettings, "MessagingSettings"},
      {"PATCH", "/api/v1/messaging/settings", admin,
       "Changes sending settings; smtp_password and dkim_private_key are sealed, never returned", PatchSettings,
       "MessagingSettings"},
      {"POST", "/api/v1/messaging/settings/test", admin,
       "Sends a test email to {\"to\"} through the workspace's transport now; 502 with the reason when it fails",
       TestSend, "TestSendResult"},
      {"GET", "/api/v1/templates", read, "Message templates by name", ListTemplates, "MessageTemplateList"},
      {"POST", "/api/v1/templates", write,
       "Saves a template by name (checked: syntax, escaping contexts, variables; every problem with its position)",
       SaveTemplateRoute, "MessageTemplate", {}, {}, 201},
      {"POST", "/api/v1/templates/check", read,
       "Checks template parts without saving: {ok, errors: [{part, line, column, message}]}", CheckTemplateRoute,
       "TemplateCheck"},
      {"POST", "/api/v1/templates/preview", read,
       "Renders a template (saved: \"template\", or inline parts) with a customer's live data", PreviewRoute,
       "TemplatePreview"},
      {"GET", "/api/v1/templates/{name}", read, "One template", GetTemplate, "MessageTemplate"},
      {"DELETE", "/api/v1/templates/{name}", write, "Deletes a template", DeleteTemplate},
      {"POST", "/api/v1/sends", write,
       "Renders a template for an audience (customers, segment and/or where) and queues the messages", SendRoute,
       "SendReport", {}, {}, 202},
      {"GET", "/api/v1/messages", read, "Messages of the outbox, newest first; ?customer_id, ?campaign, ?state",
       ListMessages, "MessageList", {{"customer_id"}, {"campaign"}, {"state"}, {"limit"}, {"cursor"}}},
      {"GET", "/api/v1/messages/stats", read, "Messages per state; ?campaign", MessageStats, "MessageStats",
       {{"campaign"}}},
      {"POST", "/api/v1/messages/cancel", write,
       "Cancels the queued messages of {\"campaign\"} and/or {\"customer_id\"}", CancelMessages, "CancelResult"},
      {"GET", "/api/v1/messages/{id}", read, "One message with its bodies and delivery log", GetMessage,
       "MessageDetail"},
      {"GET", "/api/v1/suppressions", read, "Suppressed email addresses by address; ?after, ?limit",
       ListSuppressions, "SuppressionList", {{"after"}, {"limit"}}},
      {"POST", "/api/v1/suppressions", write, "Suppresses an address: {\"address\", \"detail\"}", AddSuppression,
       "Suppression", {}, {}, 201},
      {"DELETE", "/api/v1/suppressions/{id}", write, "Lifts a suppression", DeleteSuppression},
      {"GET", "/api/v1/customers/{id}/consent", read,
       "A customer's consents, their proof records, preferences and suppression", CustomerConsent,
       "CustomerConsent"},
      {"POST", "/api/v1/customers/{id}/consent/email/request", write,
       "Starts a double opt-in: sends the confirmation email; {\"ip\", \"user_agent\"} of the sign-up", RequestConsent,
       "ConsentRequested", {}, {}, 202},
      {"GET", "/api/v1/consent/export", read, "Every consent proof record as JSON lines, oldest first",
       ExportConsent},
  };
}

}  // namespace treu::api
