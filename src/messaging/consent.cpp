#include "messaging/consent.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/html_escape.hpp"
#include "messaging/settings.hpp"

namespace treu::messaging {
namespace {

std::string Base(const MessagingSettingsRecord& s) {
  std::string base = s.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

Status WriteConsent(Store& store, WorkspaceId ws, const std::string& external_id, Channel channel, bool granted,
                    std::string_view source, Timestamp now) {
  Customer c;
  c.external_id = external_id;
  c.consent[channel] = Consent{granted, std::string(source), now};
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  std::vector<Customer> one{std::move(c)};
  TREU_RETURN_IF_ERROR(tx->UpsertCustomers(one, now));
  return tx->Commit();
}

Status Record(Store& store, WorkspaceId ws, CustomerId customer, Channel channel, std::string_view action,
              const Requester& who, std::string_view text_version, std::string_view source, Timestamp now) {
  ConsentRecord r;
  r.workspace = ws;
  r.customer = customer;
  r.channel = channel;
  r.action = std::string(action);
  r.at = now;
  r.ip = who.ip.substr(0, 64);
  r.user_agent = who.user_agent.substr(0, 512);
  r.text_version = std::string(text_version);
  r.source = std::string(source);
  TREU_RETURN_IF_ERROR(store.AddConsentRecord(r));
  return {};
}

bool Granted(const Customer& c, Channel channel) {
  auto it = c.consent.find(channel);
  return it != c.consent.end() && it->second.granted;
}

// The confirmation email in the customer's language (German or English).
std::pair<std::string, std::string> ConfirmationMail(std::string_view locale, std::string_view workspace,
                                                     std::string_view url) {
  const bool de = locale.starts_with("de");
  const std::string name = EscapeHtml(workspace);
  const std::string href = EscapeAttribute(url);
  if (de) {
    return {"Bitte bestätigen Sie Ihre Anmeldung",
            "<p>Hallo,</p><p>bitte bestätigen Sie, dass Sie E-Mails von " + name +
                " erhalten möchten:</p><p><a href=\"" + href +
                "\">Anmeldung bestätigen</a></p><p>Wenn Sie sich nicht angemeldet haben, ignorieren Sie diese "
                "E-Mail einfach; Sie erhalten dann keine weiteren Nachrichten.</p>"};
  }
  return {"Please confirm your subscription",
          "<p>Hello,</p><p>please confirm that you want to receive email from " + name + ":</p><p><a href=\"" + href +
              "\">Confirm subscription</a></p><p>If you did not sign up, just ignore this email; you will not hear "
              "from us again.</p>"};
}

}  // namespace

Status SetConsent(Store& store, WorkspaceId ws, std::string_view customer, Channel channel, bool granted,
                  std::string_view source, std::string_view action, const Requester& who,
                  std::string_view text_version, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindCustomer(ws, customer));
  if (!found) return NotFound("customer", "no customer '" + std::string(customer) + "'");
  TREU_RETURN_IF_ERROR(WriteConsent(store, ws, found->external_id, channel, granted, source, now));
  return Record(store, ws, found->id, channel, action.empty() ? (granted ? "granted" : "withdrawn") : action, who,
                text_version, source, now);
}

Result<std::string> RequestEmailConsent(Store& store, const Workspace& ws, std::string_view customer,
                                        const Requester& who, std::span<const std::uint8_t> secret, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindCustomer(ws.id, customer));
  if (!found) return NotFound("customer", "no customer '" + std::string(customer) + "'");
  if (found->email.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "customer", "'" + found->external_id + "' has no email address");
  }
  if (Granted(*found, Channel::kEmail)) {
    return MakeError(ErrorCode::kFailedPrecondition, "consent",
                     "'" + found->external_id + "' already consented to email");
  }
  TREU_ASSIGN_OR_RETURN(MessagingSettingsRecord settings, LoadMessagingSettings(store, ws.id));
  LinkClaims claims{LinkKind::kConfirm, ws.id, found->id, 0, Timestamp{now.micros + kConfirmLinkMicros}};
  const std::string url = Base(settings) + "/m/confirm/" + SignLink(claims, "", secret);
  auto [subject, html] = ConfirmationMail(found->locale, ws.name, url);

  OutboxMessage m;
  m.workspace = ws.id;
  m.idempotency_key = "confirm:" + std::to_string(found->id.value) + ":" + std::to_string(now.micros);
  m.channel = Channel::kEmail;
  m.customer = found->id;
  m.category = "confirmation";
  m.recipient = found->email;
  m.subject = std::move(subject);
  m.html = std::move(html);
  m.next_attempt_at = now;
  m.created_at = now;
  std::vector<OutboxMessage> one{m};
  TREU_RETURN_IF_ERROR(store.EnqueueMessages(ws.id, one, now));
  TREU_RETURN_IF_ERROR(Record(store, ws.id, found->id, Channel::kEmail, "requested", who,
                              settings.consent_text_version, "double_opt_in", now));
  return m.idempotency_key;
}

Result<LinkTarget> OpenLink(Store& store, std::string_view token, LinkKind kind, std::string_view bound,
                            std::span<const std::uint8_t> secret, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(LinkClaims claims, VerifyLink(token, kind, bound, secret, now));
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  auto ws = std::find_if(workspaces.begin(), workspaces.end(), [&](const Workspace& w) { return w.id == claims.workspace; });
  if (ws == workspaces.end()) return NotFound("link", "its workspace is gone");
  TREU_ASSIGN_OR_RETURN(auto external, store.CustomerExternalId(claims.workspace, claims.customer));
  if (!external) return NotFound("link", "its customer is gone");
  TREU_ASSIGN_OR_RETURN(auto customer, store.FindCustomer(claims.workspace, *external));
  if (!customer) return NotFound("link", "its customer is gone");
  return LinkTarget{*ws, std::move(*customer), claims};
}

Status ConfirmEmailConsent(Store& store, const LinkTarget& t, const Requester& who, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto current, store.FindCustomer(t.workspace.id, t.customer.external_id));
  if (current && Granted(*current, Channel::kEmail)) return {};
  TREU_ASSIGN_OR_RETURN(MessagingSettingsRecord settings, LoadMessagingSettings(store, t.workspace.id));
  return SetConsent(store, t.workspace.id, t.customer.external_id, Channel::kEmail, true, "double_opt_in", "confirmed",
                    who, settings.consent_text_version, now);
}

Result<std::string> Unsubscribe(Store& store, const LinkTarget& t, std::string_view source, const Requester& who,
                                Timestamp now) {
  std::string topic;
  if (t.claims.ref != 0) {
    TREU_ASSIGN_OR_RETURN(auto tmpl, store.FindMessageTemplateById(t.workspace.id, t.claims.ref));
    if (tmpl) topic = tmpl->topic;
  }
  TREU_ASSIGN_OR_RETURN(MessagingSettingsRecord settings, LoadMessagingSettings(store, t.workspace.id));
  if (topic.empty()) {
    TREU_RETURN_IF_ERROR(SetConsent(store, t.workspace.id, t.customer.external_id, Channel::kEmail, false, source,
                                    "unsubscribed", who, settings.consent_text_version, now));
  } else {
    TREU_ASSIGN_OR_RETURN(auto stored, store.FindMessagePreferences(t.workspace.id, t.customer.id));
    MessagePreferences p = stored.value_or(MessagePreferences{t.workspace.id, t.customer.id, {}, std::nullopt, false, now});
    if (!std::binary_search(p.topics_off.begin(), p.topics_off.end(), topic)) {
      p.topics_off.insert(std::upper_bound(p.topics_off.begin(), p.topics_off.end(), topic), topic);
    }
    p.updated_at = now;
    TREU_RETURN_IF_ERROR(store.SaveMessagePreferences(p));
    TREU_RETURN_IF_ERROR(Record(store, t.workspace.id, t.customer.id, Channel::kEmail, "unsubscribed", who,
                                settings.consent_text_version, std::string(source) + ":topic:" + topic, now));
  }
  // Queued messages the change forbids are not cancelled here: the delivery workers check
  // consent and preferences for each message and record it as suppressed.
  return topic;
}

Result<PreferenceView> LoadPreferences(Store& store, const LinkTarget& t) {
  PreferenceView v;
  v.email = Granted(t.customer, Channel::kEmail);
  TREU_ASSIGN_OR_RETURN(auto templates, store.ListMessageTemplates(t.workspace.id));
  for (const auto& tmpl : templates) {
    if (!tmpl.topic.empty()) v.topics.push_back(tmpl.topic);
  }
  std::sort(v.topics.begin(), v.topics.end());
  v.topics.erase(std::unique(v.topics.begin(), v.topics.end()), v.topics.end());
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindMessagePreferences(t.workspace.id, t.customer.id));
  if (stored) {
    v.topics_off = stored->topics_off;
    v.paused_until = stored->paused_until;
    v.tracking = !stored->tracking_off;
  }
  return v;
}

Status SavePreferences(Store& store, const LinkTarget& t, const PreferenceView& view, const Requester& who,
                       Timestamp now) {
  TREU_ASSIGN_OR_RETURN(PreferenceView current, LoadPreferences(store, t));
  std::vector<std::string> off = view.topics_off;
  std::sort(off.begin(), off.end());
  off.erase(std::unique(off.begin(), off.end()), off.end());
  for (const std::string& topic : off) {
    if (!std::binary_search(current.topics.begin(), current.topics.end(), topic)) {
      return InvalidArgument("topics", "'" + topic + "' is not a topic of this workspace");
    }
  }
  MessagePreferences p{t.workspace.id, t.customer.id, std::move(off), view.paused_until, !view.tracking, now};
  TREU_RETURN_IF_ERROR(store.SaveMessagePreferences(p));
  if (view.email != current.email) {
    TREU_ASSIGN_OR_RETURN(MessagingSettingsRecord settings, LoadMessagingSettings(store, t.workspace.id));
    // Turning email on from the page is a confirmed opt-in: the page was reached through a
    // signed link sent to the address.
    TREU_RETURN_IF_ERROR(SetConsent(store, t.workspace.id, t.customer.external_id, Channel::kEmail, view.email,
                                    "preference_page", "", who, settings.consent_text_version, now));
  }
  return {};
}

Status RecordEngagement(Store& store, const LinkTarget& t, std::string_view url, Timestamp now) {
  const bool click = t.claims.kind == LinkKind::kClick;
  TREU_ASSIGN_OR_RETURN(auto message, store.FindMessage(t.workspace.id, t.claims.ref));
  if (!message || message->customer != t.customer.id) return NotFound("message", "the message is gone");
  bool first = true;
  if (!click) {
    TREU_ASSIGN_OR_RETURN(auto log, store.ListMessageLog(t.workspace.id, message->id, CustomerId{}, 1000));
    first = std::none_of(log.begin(), log.end(), [](const MessageLogEntry& e) { return e.kind == "opened"; });
  }
  MessageLogEntry e{0, t.workspace.id, message->id, t.customer.id, click ? "clicked" : "opened", now,
                    std::string(url.substr(0, 2048))};
  TREU_RETURN_IF_ERROR(store.AppendMessageLog(e));
  if (!first) return {};
  Event ev;
  ev.type = EventType::kTrack;
  ev.name = click ? "Email Link Clicked" : "Email Opened";
  ev.message_id = std::string(click ? "click:" : "open:") + std::to_string(message->id) + ":" + std::to_string(now.micros);
  ev.user_id = t.customer.external_id;
  ev.customer = t.customer.id;
  ev.timestamp = now;
  ev.received_at = now;
  nlohmann::json props = {{"email_id", std::to_string(message->id)}, {"campaign_name", message->campaign}};
  if (click) props["link_url"] = std::string(url);
  ev.properties_json = props.dump();
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(t.workspace.id));
  std::vector<Event> one{std::move(ev)};
  TREU_RETURN_IF_ERROR(tx->InsertEvents(one));
  return tx->Commit();
}

}  // namespace treu::messaging
