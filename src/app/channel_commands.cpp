#include "app/channel_commands.hpp"

#include <cstdio>
#include <memory>

#include "access/secrets.hpp"
#include "messaging/channels.hpp"
#include "messaging/sealed.hpp"

namespace treu::app {
namespace {

struct ChannelFlags {
  std::string action;
  std::string what;  // webhook: save, list, delete, test
  std::string name;  // webhook endpoint; user-hash: the user id
  std::string subject;
  bool new_keys = false;
  std::string url;
  std::string format = "json";
  bool new_secret = false;
};

void PrintChannelSettings(const ChannelSettingsRecord& s) {
  if (s.vapid_public_key.empty()) {
    std::printf("web push        not set up (treu channels push --subject mailto:you@example.com)\n");
  } else {
    std::printf("web push        subject %s\n", s.vapid_subject.c_str());
    std::printf("vapid key       %s\n", s.vapid_public_key.c_str());
  }
  std::printf("identity secret %s\n", s.identity_secret_sealed.empty()
                                          ? "none (treu channels identity-secret makes one)"
                                          : "set");
}

int RunWebhook(const ChannelFlags& f, Store& store, const Workspace& ws, std::span<const std::uint8_t> secret,
               Context& ctx) {
  if (f.what == "list") {
    auto all = store.ListWebhookEndpoints(ws.id);
    if (!all) return Fail(all.error());
    std::printf("%-24s %-8s %s\n", "NAME", "FORMAT", "URL");
    for (const auto& e : *all) std::printf("%-24s %-8s %s\n", e.name.c_str(), e.format.c_str(), e.url.c_str());
    return 0;
  }
  if (f.name.empty()) return Fail(InvalidArgument("NAME", "name the endpoint").error());
  if (f.what == "save") {
    auto saved = messaging::SaveWebhookEndpoint(store, ws.id, {f.name, f.url, f.format, f.new_secret}, secret,
                                                ctx.clock.Now());
    if (!saved) return Fail(saved.error());
    std::printf("endpoint %s: %s (%s)\n", saved->endpoint.name.c_str(), saved->endpoint.url.c_str(),
                saved->endpoint.format.c_str());
    if (!saved->secret.empty()) {
      std::printf("signing secret (shown once; receivers check the Treu-Signature header with it):\n%s\n",
                  saved->secret.c_str());
    }
    return 0;
  }
  if (f.what == "delete") {
    if (auto s = store.DeleteWebhookEndpoint(ws.id, f.name); !s) return Fail(s.error());
    std::printf("deleted endpoint %s\n", f.name.c_str());
    return 0;
  }
  // test
  auto endpoint = store.FindWebhookEndpoint(ws.id, f.name);
  if (!endpoint) return Fail(endpoint.error());
  if (!*endpoint) return Fail(NotFound("endpoint " + f.name, "no such webhook endpoint in this workspace").error());
  auto outcome = messaging::TestWebhook(store, ws.id, **endpoint, secret, ctx.clock.Now());
  if (!outcome) return Fail(outcome.error());
  if (outcome->state != MessageState::kSent) {
    std::fprintf(stderr, "treu: the test message failed: %s\n", outcome->log_detail.c_str());
    return 1;
  }
  std::printf("test message delivered: %s\n", outcome->log_detail.c_str());
  return 0;
}

int RunChannels(const ChannelFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  if (f.action == "show") {
    auto s = messaging::LoadChannelSettings(store, ws.id);
    if (!s) return Fail(s.error());
    PrintChannelSettings(*s);
    return 0;
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  if (f.action == "push") {
    auto current = messaging::LoadChannelSettings(store, ws.id);
    if (!current) return Fail(current.error());
    const std::string subject = f.subject.empty() ? current->vapid_subject : f.subject;
    if (subject.empty()) return Fail(InvalidArgument("--subject", "give a mailto: address or https URL").error());
    auto saved = messaging::SetUpPush(store, ws.id, subject, f.new_keys, *secret, ctx.clock.Now());
    if (!saved) return Fail(saved.error());
    PrintChannelSettings(*saved);
    return 0;
  }
  if (f.action == "identity-secret") {
    auto plain = messaging::RotateIdentitySecret(store, ws.id, *secret, ctx.clock.Now());
    if (!plain) return Fail(plain.error());
    std::printf("identity secret (shown once; your backend sends HMAC-SHA256(secret, user id) as the user's "
                "hash):\n%s\n",
                plain->c_str());
    return 0;
  }
  if (f.action == "user-hash") {
    if (f.what.empty()) return Fail(InvalidArgument("USER", "name the user id").error());
    auto s = messaging::LoadChannelSettings(store, ws.id);
    if (!s) return Fail(s.error());
    if (s->identity_secret_sealed.empty()) {
      return Fail(FailedPrecondition("identity secret", "none yet (treu channels identity-secret)").error());
    }
    auto key = messaging::Unseal(s->identity_secret_sealed, *secret);
    if (!key) return Fail(key.error());
    std::printf("%s\n", messaging::UserHash(*key, f.what).c_str());
    return 0;
  }
  return RunWebhook(f, store, ws, *secret, ctx);
}

}  // namespace

std::function<int()> SetupChannels(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<ChannelFlags>();
  cmd.add_option("ACTION", f->action,
                 "show; push (set up web push); identity-secret (make a new one); user-hash USER (the hash "
                 "of a user id, for testing); webhook save|list|delete|test NAME")
      ->required()
      ->check(CLI::IsMember({"show", "push", "identity-secret", "user-hash", "webhook"}));
  cmd.add_option("WHAT", f->what, "webhook: save, list, delete or test; user-hash: the user id");
  cmd.add_option("NAME", f->name, "webhook: the endpoint's name");
  cmd.add_option("--subject", f->subject, "push: the contact push services see (mailto: or https URL)");
  cmd.add_flag("--new-keys", f->new_keys, "push: make new VAPID keys (browsers must subscribe again)");
  cmd.add_option("--url", f->url, "webhook save: where to post (http or https)");
  cmd.add_option("--format", f->format, "webhook save: json (default), slack or discord")
      ->check(CLI::IsMember({"json", "slack", "discord"}));
  cmd.add_flag("--new-secret", f->new_secret, "webhook save: make a new signing secret");
  return [f, &ctx]() -> int {
    if (f->action == "webhook" && (f->what != "save" && f->what != "list" && f->what != "delete" && f->what != "test")) {
      return Fail(InvalidArgument("WHAT", "webhook needs save, list, delete or test").error());
    }
    return RunChannels(*f, ctx);
  };
}

}  // namespace treu::app
