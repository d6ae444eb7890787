#include "messaging/delivery.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "core/html_escape.hpp"
#include "messaging/html_text.hpp"
#include "messaging/links.hpp"
#include "messaging/mime.hpp"
#include "messaging/sealed.hpp"
#include "messaging/settings.hpp"
#include "messaging/tracking.hpp"

namespace treu::messaging {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

MessageOutcome OutcomeOf(const OutboxMessage& m, MessageState state, std::string log_kind,
                         std::string detail, Timestamp now) {
  MessageOutcome o;
  o.id = m.id;
  o.worker = m.claimed_by;
  o.state = state;
  o.next_attempt_at = now;
  o.error = state == MessageState::kSent ? "" : detail;
  o.log_kind = std::move(log_kind);
  o.log_detail = std::move(detail);
  o.at = now;
  return o;
}

// 16 hex digits of FNV-1a over the idempotency key: stable across retries and restarts.
std::string KeyDigest(std::string_view key) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 0xf];
  return out;
}

std::string LinkBase(const MessagingSettingsRecord& s) {
  std::string base = s.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

}  // namespace

Timestamp NextAttemptAt(int attempts, Timestamp now, double unit) {
  double delay = static_cast<double>(kFirstRetryMicros) * std::pow(2.0, std::max(0, attempts - 1));
  delay = std::min(delay, static_cast<double>(kMaxRetryMicros));
  unit = std::clamp(unit, 0.0, 1.0);
  return Timestamp{now.micros + static_cast<std::int64_t>(delay / 2 + unit * delay / 2)};
}

Result<EmailSetup> MakeEmailSetup(const MessagingSettingsRecord& settings,
                                  std::span<const std::uint8_t> secret,
                                  const std::filesystem::path& mail_dir, const Clock& clock) {
  EmailSetup setup;
  setup.settings = settings;
  if (settings.transport == "smtp") {
    SmtpSettings smtp;
    smtp.url = settings.smtp_url;
    smtp.username = settings.smtp_username;
    { TREU_ASSIGN_OR_RETURN(smtp.password, Unseal(settings.smtp_password_sealed, secret)); }
    smtp.tls = settings.smtp_tls == "none"  ? SmtpTls::kNone
               : settings.smtp_tls == "tls" ? SmtpTls::kImplicit
                                            : SmtpTls::kStartTls;
    TREU_ASSIGN_OR_RETURN(auto transport, SmtpTransport::Create(smtp));
    setup.transport = std::move(transport);
  } else {
    TREU_ASSIGN_OR_RETURN(
        auto transport,
        FileTransport::Create(mail_dir / std::to_string(settings.workspace.value), clock));
    setup.transport = std::move(transport);
  }
  if (!settings.dkim_domain.empty() && !settings.dkim_key_sealed.empty()) {
    TREU_ASSIGN_OR_RETURN(std::string pem, Unseal(settings.dkim_key_sealed, secret));
    TREU_ASSIGN_OR_RETURN(auto signer,
                          DkimSigner::Create(settings.dkim_domain, settings.dkim_selector, pem));
    setup.dkim = std::make_shared<const DkimSigner>(std::move(signer));
  }
  return setup;
}

Result<const Customer*> MessageCustomer::Get() {
  if (!read_) {
    TREU_ASSIGN_OR_RETURN(auto external, store_.CustomerExternalId(message_.workspace, message_.customer));
    if (external) {
      TREU_ASSIGN_OR_RETURN(customer_, store_.FindCustomer(message_.workspace, *external));
    }
    read_ = true;
  }
  return customer_ ? &*customer_ : nullptr;
}

Result<std::string> SendBlocker(Store& store, const OutboxMessage& m, MessageCustomer& recipient, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto suppressed, store.FindSuppression(m.workspace, Lower(m.recipient)));
  if (suppressed) return "the address is suppressed (" + suppressed->reason + ")";
  if (m.category != "marketing") return std::string();
  TREU_ASSIGN_OR_RETURN(const Customer* customer, recipient.Get());
  if (!customer) return std::string("the customer was deleted");
  const auto consent = customer->consent.find(m.channel);
  if (consent == customer->consent.end() || !consent->second.granted) {
    return std::string("no consent for ") + std::string(ChannelName(m.channel));
  }
  if (Lower(customer->email) != Lower(m.recipient))
    return std::string("the customer's address changed");
  TREU_ASSIGN_OR_RETURN(auto prefs, store.FindMessagePreferences(m.workspace, m.customer));
  if (prefs) {
    if (prefs->paused_until && now < *prefs->paused_until)
      return std::string("the customer paused messages");
    if (!m.topic.empty() &&
        std::binary_search(prefs->topics_off.begin(), prefs->topics_off.end(), m.topic)) {
      return "the customer turned topic '" + m.topic + "' off";
    }
  }
  return std::string();
}

Result<MessageOutcome> DeliverEmail(Store& store, const OutboxMessage& m, MessageCustomer& customer,
                                    const EmailSetup& setup, std::span<const std::uint8_t> secret, Timestamp now,
                                    double random_unit) {
  TREU_ASSIGN_OR_RETURN(std::string blocker, SendBlocker(store, m, customer, now));
  if (!blocker.empty()) return OutcomeOf(m, MessageState::kSuppressed, "suppressed", blocker, now);

  const MessagingSettingsRecord& s = setup.settings;
  const std::string base = LinkBase(s);
  EmailMessage email;
  email.from = Mailbox{s.from_name, s.from_address};
  email.to = Mailbox{"", m.recipient};
  if (!s.reply_to.empty()) email.reply_to = Mailbox{"", s.reply_to};
  email.subject = m.subject;
  // The text part is derived from the HTML before tracking rewrites its links, so it shows
  // the real addresses.
  email.text = m.text.empty() && !m.html.empty() ? HtmlToText(m.html) : m.text;
  email.html = m.html;

  bool track = s.track_engagement && m.category != "confirmation" && !m.html.empty();
  if (track) {
    TREU_ASSIGN_OR_RETURN(auto prefs, store.FindMessagePreferences(m.workspace, m.customer));
    track = !(prefs && prefs->tracking_off);
  }
  if (track) {
    LinkClaims click{LinkKind::kClick, m.workspace, m.customer, m.id, Timestamp{}};
    LinkClaims open{LinkKind::kOpen, m.workspace, m.customer, m.id, Timestamp{}};
    email.html = AddTracking(
        m.html,
        [&](std::string_view target) {
          return base + "/m/c/" + SignLink(click, target, secret) + "?u=" + UrlEncode(target);
        },
        base + "/m/o/" + SignLink(open, "", secret) + ".gif", base + "/m/");
  }
  if (m.category == "marketing") {
    LinkClaims unsubscribe{LinkKind::kUnsubscribe, m.workspace, m.customer, m.template_id,
                           Timestamp{}};
    email.extra_headers.emplace_back(
        "List-Unsubscribe", "<" + base + "/m/u/" + SignLink(unsubscribe, "", secret) + ">");
    email.extra_headers.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  }
  // One Message-ID across the retries of a message, so receivers can spot a repeat.
  email.message_id = std::to_string(m.workspace.value) + "." + std::to_string(m.id) + "." +
                     KeyDigest(m.idempotency_key) + "@" +
                     s.from_address.substr(s.from_address.find('@') + 1);

  auto built = BuildMime(email, now);
  if (!built) {
    // A message that can never be built (a bad address) is not retried.
    return OutcomeOf(m, MessageState::kFailed, "failed", built.error().ToString(), now);
  }
  std::string bytes = std::move(built->mime);
  if (setup.dkim) {
    auto signed_bytes = setup.dkim->Sign(bytes);
    if (!signed_bytes)
      return OutcomeOf(m, MessageState::kFailed, "failed", signed_bytes.error().ToString(), now);
    bytes = std::move(*signed_bytes);
  }
  const SendResult r = setup.transport->Send(Envelope{s.from_address, m.recipient}, bytes);
  MessageOutcome o;
  switch (r.outcome) {
    case SendOutcome::kSent:
      o = OutcomeOf(m, MessageState::kSent, "sent", r.detail, now);
      o.provider_id = built->message_id;
      return o;
    case SendOutcome::kPermanentFailure:
      o = OutcomeOf(m, MessageState::kBounced, "bounced", r.detail, now);
      {
        EmailSuppression sup{m.workspace, Lower(m.recipient), "bounce", r.detail, now};
        TREU_RETURN_IF_ERROR(store.SuppressEmail(sup));
      }
      return o;
    case SendOutcome::kTemporaryFailure:
      break;
  }
  if (m.attempts >= s.max_attempts) {
    return OutcomeOf(m, MessageState::kFailed, "failed",
                     r.detail + " (gave up after " + std::to_string(m.attempts) + " attempts)",
                     now);
  }
  o = OutcomeOf(m, MessageState::kQueued, "deferred", r.detail, now);
  o.next_attempt_at = NextAttemptAt(m.attempts, now, random_unit);
  return o;
}

// ---- OutboxWorker ----

OutboxWorker::OutboxWorker(const Clock& clock, std::span<const std::uint8_t> secret,
                           Options options)
    : clock_(clock), secret_(secret.begin(), secret.end()), options_(std::move(options)) {}

Result<std::unique_ptr<OutboxWorker>> OutboxWorker::Start(StoreOpener open, const Clock& clock,
                                                          std::span<const std::uint8_t> secret,
                                                          Options options) {
  if (options.worker_id.empty()) {
    std::random_device rd;
    char host[64] = {};
    ::gethostname(host, sizeof host - 1);
    options.worker_id =
        std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd());
  }
  options.threads = std::clamp(options.threads, 1, 64);
  options.batch = std::clamp(options.batch, 1, 1000);
  if (!options.http) options.http = std::make_shared<net::CurlHttpClient>();
  std::unique_ptr<OutboxWorker> w(new OutboxWorker(clock, secret, std::move(options)));
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < w->options_.threads; ++i) {
    TREU_ASSIGN_OR_RETURN(auto store, open());
    stores.push_back(std::move(store));
  }
  std::random_device rd;
  for (auto& store : stores) {
    w->threads_.emplace_back([raw = w.get(), s = std::move(store), seed = rd()]() mutable {
      raw->Run(std::move(s), seed);
    });
  }
  return w;
}

OutboxWorker::~OutboxWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

Result<std::shared_ptr<const EmailSetup>> OutboxWorker::SetupOf(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto settings, store.FindMessagingSettings(ws));
  MessagingSettingsRecord record = settings.value_or(DefaultMessagingSettings(ws));
  {
    std::lock_guard lock(setups_mu_);
    auto it = setups_.find(ws.value);
    if (it != setups_.end() && it->second->settings.updated_at == record.updated_at &&
        settings.has_value()) {
      return it->second;
    }
  }
  TREU_ASSIGN_OR_RETURN(EmailSetup setup,
                        MakeEmailSetup(record, secret_, options_.mail_dir, clock_));
  auto shared = std::make_shared<const EmailSetup>(std::move(setup));
  std::lock_guard lock(setups_mu_);
  setups_[ws.value] = shared;
  return shared;
}

Result<std::shared_ptr<const ChannelSetup>> OutboxWorker::ChannelSetupOf(Store& store, WorkspaceId ws) {
  // The VAPID signer is kept until the channel settings change; the workspace's outbound
  // address policy is read for every message, so turning private addresses off takes effect at
  // once.
  TREU_ASSIGN_OR_RETURN(ChannelSettingsRecord settings, LoadChannelSettings(store, ws));
  TREU_ASSIGN_OR_RETURN(const std::vector<Workspace> all, store.ListWorkspaces());
  bool allow_private = false;
  for (const Workspace& w : all) {
    if (w.id == ws) allow_private = w.allow_private_webhooks;
  }
  {
    std::lock_guard lock(setups_mu_);
    auto it = channel_setups_.find(ws.value);
    if (it != channel_setups_.end() && it->second->settings.updated_at == settings.updated_at &&
        it->second->allow_private == allow_private) {
      return it->second;
    }
  }
  TREU_ASSIGN_OR_RETURN(ChannelSetup setup, MakeChannelSetup(store, ws, secret_));
  setup.allow_private = allow_private;
  auto shared = std::make_shared<const ChannelSetup>(std::move(setup));
  std::lock_guard lock(setups_mu_);
  channel_setups_[ws.value] = shared;
  return shared;
}

MessageOutcome HeldOutcome(const OutboxMessage& m, const Hold& hold, Timestamp now) {
  MessageOutcome o;
  o.id = m.id;
  o.worker = m.claimed_by;
  o.state = MessageState::kQueued;
  o.next_attempt_at = hold.until;
  o.error = m.last_error;  // a hold is no failure: the last one, if any, stays
  o.log_kind = "deferred";
  o.log_detail = hold.reason;
  o.at = now;
  return o;
}

Result<MessageOutcome> OutboxWorker::Deliver(Store& store, const OutboxMessage& m, MessageCustomer& customer,
                                             Timestamp now, double unit) {
  TREU_ASSIGN_OR_RETURN(auto setup, SetupOf(store, m.workspace));
  switch (m.channel) {
    case Channel::kEmail:
      return DeliverEmail(store, m, customer, *setup, secret_, now, unit);
    case Channel::kInApp:
      return DeliverInApp(store, m, now);
    case Channel::kPush: {
      TREU_ASSIGN_OR_RETURN(auto channels, ChannelSetupOf(store, m.workspace));
      return DeliverPush(store, m, *channels, *options_.http, setup->settings.max_attempts, now,
                         unit);
    }
    case Channel::kWebhook: {
      TREU_ASSIGN_OR_RETURN(auto channels, ChannelSetupOf(store, m.workspace));
      return DeliverWebhook(store, m, *channels, *options_.http, secret_,
                            setup->settings.max_attempts, now, unit);
    }
    case Channel::kSms:
      break;
  }
  return FailedPrecondition("channel", std::string(ChannelName(m.channel)) +
                                           " messages are not delivered by this server");
}

Result<MessageOutcome> OutboxWorker::HoldOrDeliver(Store& store, const HoldCheck& hold, const OutboxMessage& m,
                                                   Timestamp now, double unit) {
  MessageCustomer customer(store, m);
  if (hold) {
    TREU_ASSIGN_OR_RETURN(const std::optional<Hold> held, hold(m, customer, now));
    if (held) return HeldOutcome(m, *held, now);
  }
  return Deliver(store, m, customer, now, unit);
}

void OutboxWorker::Run(std::unique_ptr<Store> store, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (;;) {
    std::uint64_t wakes_seen = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      wakes_seen = wakes_;
    }
    bool busy = false;
    for (const Channel channel :
         {Channel::kEmail, Channel::kPush, Channel::kInApp, Channel::kWebhook}) {
      auto claimed = store->ClaimMessages(channel, clock_.Now(), options_.lease_micros,
                                          options_.worker_id, options_.batch);
      if (claimed) {
        busy = busy || !claimed->empty();
        const HoldCheck hold = options_.hold && !claimed->empty() ? options_.hold(*store) : HoldCheck{};
        for (const OutboxMessage& m : *claimed) {
          const Timestamp now = clock_.Now();
          Result<MessageOutcome> outcome = HoldOrDeliver(*store, hold, m, now, unit(rng));
          if (!outcome) {
            // Settings that don't work (a secret that doesn't open, a bad DKIM key) or a storage
            // failure: try again later, as a temporary failure.
            MessageOutcome retry;
            retry.id = m.id;
            retry.worker = m.claimed_by;
            retry.state =
                m.attempts >= kDefaultMaxAttempts ? MessageState::kFailed : MessageState::kQueued;
            retry.next_attempt_at = NextAttemptAt(m.attempts, now, unit(rng));
            retry.error = outcome.error().ToString();
            retry.log_kind = retry.state == MessageState::kFailed ? "failed" : "deferred";
            retry.log_detail = retry.error;
            retry.at = now;
            outcome = std::move(retry);
          }
          // A lost claim (the lease lapsed and another worker took the message) records nothing.
          if (auto recorded = store->FinishMessage(*outcome); recorded && *recorded)
            finished_.fetch_add(1);
        }
      }
    }
    if (busy) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return stopping_ || wakes_ != wakes_seen; });
  }
}

}  // namespace treu::messaging
