#include "app/messaging_commands.hpp"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "access/secrets.hpp"
#include "api/survey_json.hpp"
#include "app/progress.hpp"
#include "analytics/model_fits.hpp"
#include "campaigns/service.hpp"
#include "messaging/composer.hpp"
#include "messaging/consent.hpp"
#include "messaging/delivery.hpp"
#include "messaging/dkim.hpp"
#include "messaging/settings.hpp"

namespace treu::app {
namespace {

// ---- treu messaging ----

struct MessagingFlags {
  std::string action;
  bool ed25519 = false;
  messaging::SettingsChange change;
  std::string password_file, dkim_key_file;
  bool track = false, no_track = false;
};

void PrintSettings(const MessagingSettingsRecord& s) {
  std::printf("from            %s <%s>\n", s.from_name.c_str(), s.from_address.c_str());
  if (!s.reply_to.empty()) std::printf("reply-to        %s\n", s.reply_to.c_str());
  std::printf("transport       %s\n", s.transport.c_str());
  if (s.transport == "smtp" || !s.smtp_url.empty()) {
    std::printf("smtp            %s (tls %s)%s%s%s\n", s.smtp_url.c_str(), s.smtp_tls.c_str(),
                s.smtp_username.empty() ? "" : ", user ", s.smtp_username.c_str(),
                s.smtp_password_sealed.empty() ? "" : ", password set");
  }
  if (!s.dkim_domain.empty()) std::printf("dkim            %s, selector %s\n", s.dkim_domain.c_str(), s.dkim_selector.c_str());
  std::printf("links           %s\n", s.public_url.c_str());
  std::printf("tracking        %s\n", s.track_engagement ? "opens and clicks" : "off");
  std::printf("max attempts    %d\n", s.max_attempts);
  std::printf("consent text    version %s\n", s.consent_text_version.c_str());
}

int RunMessaging(MessagingFlags& f, Context& ctx) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  auto current = messaging::LoadMessagingSettings(**store, ws->id);
  if (!current) return Fail(current.error());
  if (f.action == "show") {
    PrintSettings(*current);
    return 0;
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  if (!f.password_file.empty()) {
    auto text = ReadTextFile(f.password_file, "--smtp-password-file");
    if (!text) return Fail(text.error());
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    f.change.smtp_password = *text;
  }
  if (!f.dkim_key_file.empty()) {
    auto text = ReadTextFile(f.dkim_key_file, "--dkim-key-file");
    if (!text) return Fail(text.error());
    f.change.dkim_private_key = *text;
  }
  if (f.action == "dkim-key") {
    // A new key pair: the private key is sealed into the settings, the DNS record printed.
    if (!f.change.dkim_domain || !f.change.dkim_selector) {
      return Fail(InvalidArgument("--dkim-domain", "dkim-key needs --dkim-domain and --dkim-selector").error());
    }
    auto pem = messaging::GenerateDkimKey(f.ed25519 ? messaging::DkimKeyType::kEd25519
                                                    : messaging::DkimKeyType::kRsa2048);
    if (!pem) return Fail(pem.error());
    f.change.dkim_private_key = *pem;
  }
  if (f.track) f.change.track_engagement = true;
  if (f.no_track) f.change.track_engagement = false;
  auto next = messaging::ApplySettingsChange(*current, f.change, *secret, ctx.clock.Now());
  if (!next) return Fail(next.error());
  if (auto s = (*store)->SaveMessagingSettings(*next); !s) return Fail(s.error());
  PrintSettings(*next);
  if (f.action == "dkim-key") {
    auto signer = messaging::DkimSigner::Create(next->dkim_domain, next->dkim_selector, *f.change.dkim_private_key);
    if (!signer) return Fail(signer.error());
    std::printf("\npublish this DNS TXT record, then email is signed %s:\n%s  IN TXT  \"%s\"\n",
                std::string(signer->algorithm()).c_str(), signer->DnsName().c_str(), signer->DnsRecord().c_str());
  }
  return 0;
}

// ---- treu outbox ----

struct OutboxFlags {
  std::string action;
  std::string campaign;
  int threads = 2;
  int lease_seconds = 120;
  bool until_empty = false;
  int max_seconds = 0;
};

int RunOutbox(const OutboxFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  auto print_counts = [&]() -> int {
    auto c = store.CountMessages(ws.id, f.campaign);
    if (!c) return Fail(c.error());
    std::printf("queued %lld  sending %lld  sent %lld  bounced %lld  failed %lld  suppressed %lld  cancelled %lld\n",
                static_cast<long long>(c->queued), static_cast<long long>(c->sending), static_cast<long long>(c->sent),
                static_cast<long long>(c->bounced), static_cast<long long>(c->failed),
                static_cast<long long>(c->suppressed), static_cast<long long>(c->cancelled));
    return 0;
  };
  if (f.action == "status") return print_counts();

  // deliver: the server's workers, in this process, until stopped (or the outbox is empty).
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  messaging::OutboxWorker::Options o;
  o.threads = f.threads;
  o.lease_micros = static_cast<std::int64_t>(f.lease_seconds) * 1'000'000;
  o.mail_dir = ctx.MailDir();
  o.poll_ms = 100;
  o.hold = campaigns::QuietHoursHolds;  // marketing waits out the recipient's quiet hours
  auto worker = messaging::OutboxWorker::Start([&ctx] { return ctx.OpenStore(); }, ctx.clock, *secret, o);
  if (!worker) return Fail(worker.error());
  const auto start = std::chrono::steady_clock::now();
  ProgressBar bar("delivering");
  // Campaigns' planned messages are rendered into the outbox as they come due, as the server's
  // scheduler does.
  SnapshotCache snapshots;
  auto materialize = [&]() -> Result<std::int64_t> {
    TREU_ASSIGN_OR_RETURN(auto done,
                          campaigns::MaterializeDue(store, snapshots, nullptr, *secret, SurveyOf, ctx.clock.Now()));
    return done.members;
  };
  for (;;) {
    auto materialized = materialize();
    if (!materialized) return Fail(materialized.error());
    timespec wait{0, 200'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) break;
    bar.Update(0, 0, (*worker)->finished());
    if (f.max_seconds > 0 && std::chrono::steady_clock::now() - start >= std::chrono::seconds(f.max_seconds)) break;
    if (f.until_empty && *materialized == 0) {
      auto c = store.CountMessages(ws.id, "");
      if (!c) return Fail(c.error());
      if (c->queued == 0 && c->sending == 0) break;
    }
  }
  worker->reset();
  bar.Clear();
  return print_counts();
}

// ---- treu consent ----

struct ConsentFlags {
  std::string action;
  std::string customer;
  std::string ip, user_agent;
};

int RunConsent(const ConsentFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  if (f.action == "request") {
    if (f.customer.empty()) return Fail(InvalidArgument("CUSTOMER", "name the customer by id").error());
    auto secret = LoadOrCreateSecret(ctx.SecretPath());
    if (!secret) return Fail(secret.error());
    auto key = messaging::RequestEmailConsent(store, ws, f.customer, {f.ip, f.user_agent}, *secret, ctx.clock.Now());
    if (!key) return Fail(key.error());
    std::printf("confirmation email queued for %s (%s)\n", f.customer.c_str(), key->c_str());
    return 0;
  }
  // export: every proof record as JSON lines.
  std::int64_t after = 0;
  std::map<std::int64_t, std::string> names;
  for (;;) {
    auto page = store.ListConsentRecords(ws.id, CustomerId{}, after, 1000);
    if (!page) return Fail(page.error());
    for (const ConsentRecord& r : *page) {
      auto name = names.find(r.customer.value);
      if (name == names.end()) {
        auto ext = store.CustomerExternalId(ws.id, r.customer);
        if (!ext) return Fail(ext.error());
        name = names.emplace(r.customer.value, ext->value_or("")).first;
      }
      nlohmann::json j = {{"id", r.id},
                          {"customer_id", name->second},
                          {"channel", std::string(ChannelName(r.channel))},
                          {"action", r.action},
                          {"at", FormatTimestamp(r.at)},
                          {"ip", r.ip},
                          {"user_agent", r.user_agent},
                          {"text_version", r.text_version},
                          {"source", r.source}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      after = r.id;
    }
    if (page->size() < 1000) break;
  }
  return 0;
}

// ---- treu template ----

struct TemplateFlags {
  std::string action;
  std::string name;
  std::string subject;
  std::string html_file, text_file;
  std::string topic;
  std::string channel;
  std::string link_url, layout, endpoint;
  std::string customer;
  bool json = false;
};

void PrintProblems(const std::vector<messaging::PartError>& problems) {
  for (const auto& p : problems) {
    std::fprintf(stderr, "treu: %s:%d:%d: %s\n", p.part.c_str(), p.error.line, p.error.column, p.error.message.c_str());
  }
}

Result<MessageTemplateRecord> TemplateOfFlags(const TemplateFlags& f, WorkspaceId ws) {
  MessageTemplateRecord t;
  t.workspace = ws;
  t.name = f.name;
  t.topic = f.topic;
  t.subject = f.subject;
  t.link_url = f.link_url;
  t.layout = f.layout;
  t.endpoint = f.endpoint;
  if (!f.channel.empty()) {
    auto channel = ParseChannel(f.channel);
    if (!channel) return InvalidArgument("--channel", channel.error().detail());
    t.channel = *channel;
  }
  if (!f.html_file.empty()) {
    TREU_ASSIGN_OR_RETURN(t.html, ReadTextFile(f.html_file, "--html"));
  }
  if (!f.text_file.empty()) {
    TREU_ASSIGN_OR_RETURN(t.text, ReadTextFile(f.text_file, "--text"));
  }
  return t;
}

int RunTemplate(const TemplateFlags& f, Context& ctx) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  Store& s = **store;
  if (f.action == "list") {
    auto all = s.ListMessageTemplates(ws->id);
    if (!all) return Fail(all.error());
    std::printf("%-24s %-8s %-16s %s\n", "NAME", "CHANNEL", "TOPIC", "SUBJECT");
    for (const auto& t : *all) {
      std::printf("%-24s %-8s %-16s %s\n", t.name.c_str(), std::string(ChannelName(t.channel)).c_str(),
                  t.topic.empty() ? "-" : t.topic.c_str(), t.subject.c_str());
    }
    return 0;
  }
  if (f.name.empty()) return Fail(InvalidArgument("NAME", "name the template").error());
  if (f.action == "save" || f.action == "check") {
    auto t = TemplateOfFlags(f, ws->id);
    if (!t) return Fail(t.error());
    if (f.action == "save") {
      // The stored parts stay where no new one is given.
      auto existing = s.FindMessageTemplate(ws->id, f.name);
      if (!existing) return Fail(existing.error());
      if (*existing) {
        if (f.subject.empty()) t->subject = (*existing)->subject;
        if (f.html_file.empty()) t->html = (*existing)->html;
        if (f.text_file.empty()) t->text = (*existing)->text;
        if (f.topic.empty()) t->topic = (*existing)->topic;
        if (f.channel.empty()) t->channel = (*existing)->channel;
        if (f.link_url.empty()) t->link_url = (*existing)->link_url;
        if (f.layout.empty()) t->layout = (*existing)->layout;
        if (f.endpoint.empty()) t->endpoint = (*existing)->endpoint;
      }
    }
    const auto problems = messaging::CheckTemplate(*t);
    if (!problems.empty()) {
      PrintProblems(problems);
      return 1;
    }
    if (f.action == "check") {
      std::printf("template %s is fine\n", f.name.c_str());
      return 0;
    }
    auto saved = messaging::SaveTemplate(s, *t, ctx.clock.Now());
    if (!saved) return Fail(saved.error());
    std::printf("saved template %s (id %lld)\n", saved->name.c_str(), static_cast<long long>(saved->id));
    return 0;
  }
  auto found = s.FindMessageTemplate(ws->id, f.name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(NotFound("template " + f.name, "no such template in workspace " + ws->name).error());
  if (f.action == "delete") {
    if (auto d = s.DeleteMessageTemplate(ws->id, f.name); !d) return Fail(d.error());
    std::printf("deleted template %s\n", f.name.c_str());
    return 0;
  }
  if (f.action == "show") {
    std::printf("subject: %s\ntopic: %s\n\n%s\n", (*found)->subject.c_str(), (*found)->topic.c_str(),
                (*found)->html.c_str());
    if (!(*found)->text.empty()) std::printf("\n-- text --\n%s\n", (*found)->text.c_str());
    return 0;
  }
  // preview
  if (f.customer.empty()) return Fail(InvalidArgument("--customer", "name whose data to preview with").error());
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  auto shared = BuildSnapshot(s, ws->id);
  if (!shared) return Fail(shared.error());
  PredictionCache predictions;
  auto r = messaging::PreviewTemplate(s, *ws, *shared, &predictions, **found, f.customer, *secret, ctx.clock.Now());
  if (!r) return Fail(r.error());
  if (f.json) {
    nlohmann::json j = {{"subject", r->subject}, {"html", r->html}, {"text", r->text}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("subject: %s\n\n%s\n", r->subject.c_str(), r->html.c_str());
    if (!r->text.empty()) std::printf("\n-- text --\n%s\n", r->text.c_str());
  }
  return 0;
}

// ---- treu send ----

struct SendFlags {
  messaging::SendRequest request;
  std::string customers;  // comma-separated
};

int RunSend(SendFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& s = *opened->store;
  for (std::size_t at = 0; at < f.customers.size();) {
    const auto comma = f.customers.find(',', at);
    const std::string id = f.customers.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!id.empty()) f.request.customers.push_back(id);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  auto shared = BuildSnapshot(s, opened->ws.id);
  if (!shared) return Fail(shared.error());
  PredictionCache predictions;
  ProgressBar bar("rendering");
  auto report = messaging::SendTemplate(s, opened->ws, *shared, &predictions, f.request, *secret, ctx.clock.Now(),
                                        [&bar](std::int64_t done, std::int64_t total) { bar.Update(done, total, done); });
  bar.Clear();
  if (!report) return Fail(report.error());
  std::printf("audience %s: queued %s, already queued %s; skipped: no address %s, no consent %s, suppressed %s "
              "(key %s)\n",
              GroupDigits(report->audience).c_str(), GroupDigits(report->queued).c_str(),
              GroupDigits(report->duplicates).c_str(), GroupDigits(report->no_email + report->no_address).c_str(),
              GroupDigits(report->no_consent).c_str(), GroupDigits(report->suppressed).c_str(), report->key.c_str());
  return 0;
}

}  // namespace

std::function<int()> SetupMessaging(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<MessagingFlags>();
  cmd.add_option("ACTION", f->action, "show, set, or dkim-key (make a DKIM key pair and print its DNS record)")
      ->required()
      ->check(CLI::IsMember({"show", "set", "dkim-key"}));
  cmd.add_flag("--ed25519", f->ed25519, "dkim-key: an Ed25519 key instead of RSA 2048");
  auto opt = [&](const char* name, std::optional<std::string>& field, const char* help) {
    cmd.add_option_function<std::string>(name, [&field](const std::string& v) { field = v; }, help);
  };
  opt("--from-name", f->change.from_name, "the sender's name");
  opt("--from-address", f->change.from_address, "the sender's address (also where bounces go)");
  opt("--reply-to", f->change.reply_to, "the Reply-To address (\"\" for none)");
  opt("--transport", f->change.transport, "file (write .eml files beside the database) or smtp");
  opt("--smtp-url", f->change.smtp_url, "smtp://host:587 (STARTTLS) or smtps://host:465");
  opt("--smtp-tls", f->change.smtp_tls, "starttls (default), tls or none");
  opt("--smtp-user", f->change.smtp_username, "the SMTP user name");
  cmd.add_option("--smtp-password-file", f->password_file, "a file holding the SMTP password (sealed when stored)");
  opt("--dkim-domain", f->change.dkim_domain, "the DKIM signing domain (d=)");
  opt("--dkim-selector", f->change.dkim_selector, "the DKIM selector (s=)");
  cmd.add_option("--dkim-key-file", f->dkim_key_file, "the DKIM private key, PEM (sealed when stored)");
  opt("--public-url", f->change.public_url, "where customers reach this server, for links in messages");
  opt("--consent-text-version", f->change.consent_text_version, "the version of the consent text customers see");
  cmd.add_flag("--track", f->track, "track opens and clicks (pixel and redirects)");
  cmd.add_flag("--no-track", f->no_track, "don't track opens and clicks");
  cmd.add_option_function<int>("--max-attempts", [f](int v) { f->change.max_attempts = v; },
                               "delivery attempts before a message is given up (1..50, default 8)");
  return [f, &ctx]() -> int { return RunMessaging(*f, ctx); };
}

std::function<int()> SetupOutbox(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<OutboxFlags>();
  cmd.add_option("ACTION", f->action, "status (messages per state) or deliver (run the delivery workers here)")
      ->required()
      ->check(CLI::IsMember({"status", "deliver"}));
  cmd.add_option("--campaign", f->campaign, "status: only this campaign's messages");
  cmd.add_option("--threads", f->threads, "deliver: worker threads (default 2)")->check(CLI::Range(1, 64));
  cmd.add_option("--lease", f->lease_seconds, "deliver: seconds a claim lasts (default 120)")->check(CLI::Range(1, 3600));
  cmd.add_flag("--until-empty", f->until_empty, "deliver: stop when the workspace has nothing queued or sending");
  cmd.add_option("--max-seconds", f->max_seconds, "deliver: stop after this many seconds")->check(CLI::Range(1, 86400));
  return [f, &ctx]() -> int { return RunOutbox(*f, ctx); };
}

std::function<int()> SetupConsent(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<ConsentFlags>();
  cmd.add_option("ACTION", f->action, "request (send a double opt-in email) or export (proof as JSON lines)")
      ->required()
      ->check(CLI::IsMember({"request", "export"}));
  cmd.add_option("CUSTOMER", f->customer, "request: the customer's id");
  cmd.add_option("--ip", f->ip, "request: the address the sign-up came from");
  cmd.add_option("--user-agent", f->user_agent, "request: the sign-up's browser");
  return [f, &ctx]() -> int { return RunConsent(*f, ctx); };
}

std::function<int()> SetupTemplate(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<TemplateFlags>();
  cmd.add_option("ACTION", f->action, "save, check, list, show, preview or delete")
      ->required()
      ->check(CLI::IsMember({"save", "check", "list", "show", "preview", "delete"}));
  cmd.add_option("NAME", f->name, "the template's name");
  cmd.add_option("--subject", f->subject, "save, check: the subject (template language, text)");
  cmd.add_option("--html", f->html_file, "save, check: a file with the HTML body (template language)");
  cmd.add_option("--text", f->text_file, "save, check: a file with the plain-text body (else derived from the HTML)");
  cmd.add_option("--topic", f->topic, "save: the topic customers can opt out of");
  cmd.add_option("--channel", f->channel, "save, check: email (default), push, inapp or webhook")
      ->check(CLI::IsMember({"email", "push", "inapp", "webhook"}));
  cmd.add_option("--link-url", f->link_url, "save, check: push and in-app: where a click leads (template language)");
  cmd.add_option("--layout", f->layout, "save, check: in-app: banner or modal")
      ->check(CLI::IsMember({"banner", "modal"}));
  cmd.add_option("--endpoint", f->endpoint, "save, check: webhook: the endpoint's name (treu channels webhook save)");
  cmd.add_option("--customer", f->customer, "preview: the customer whose data to render with");
  cmd.add_flag("--json", f->json, "preview: print {subject, html, text} as JSON");
  return [f, &ctx]() -> int { return RunTemplate(*f, ctx); };
}

std::function<int()> SetupSend(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<SendFlags>();
  cmd.add_option("TEMPLATE", f->request.template_name, "the template to send")->required();
  cmd.add_option("--customers", f->customers, "comma-separated customer ids");
  cmd.add_option("--segment", f->request.segment, "a saved segment's name");
  cmd.add_option("--where", f->request.where, "a segment expression (with --segment: members of both)");
  cmd.add_option("--category", f->request.category, "marketing (default; needs consent) or transactional")
      ->check(CLI::IsMember({"marketing", "transactional"}));
  cmd.add_option("--campaign", f->request.campaign, "a campaign name the messages are counted under");
  cmd.add_option("--key", f->request.key, "makes the send repeatable: the same key never queues a customer twice");
  return [f, &ctx]() -> int { return RunSend(*f, ctx); };
}

}  // namespace treu::app
