#include "messaging/settings.hpp"

#include "messaging/dkim.hpp"
#include "messaging/mime.hpp"
#include "messaging/sealed.hpp"

namespace treu::messaging {
namespace {

bool OneOf(const std::string& v, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (v == a) return true;
  }
  return false;
}

Status CheckUrl(const std::string& url, std::string_view field, std::initializer_list<std::string_view> schemes) {
  for (std::string_view scheme : schemes) {
    if (url.starts_with(scheme) && url.size() > scheme.size() && url.find_first_of(" \t\r\n\"<>?#") == std::string::npos) {
      return {};
    }
  }
  std::string names;
  for (std::string_view s : schemes) names += (names.empty() ? "" : " or ") + std::string(s);
  return InvalidArgument(std::string(field), "'" + url + "' must start with " + names + " and name a host");
}

}  // namespace

MessagingSettingsRecord DefaultMessagingSettings(WorkspaceId ws) {
  MessagingSettingsRecord s;
  s.workspace = ws;
  s.from_name = "treu";
  s.from_address = "noreply@treu.localhost";
  s.transport = "file";
  s.smtp_tls = "starttls";
  s.public_url = "http://127.0.0.1:8080";
  s.track_engagement = true;
  s.consent_text_version = "1";
  s.max_attempts = kDefaultMaxAttempts;
  return s;
}

Result<MessagingSettingsRecord> ApplySettingsChange(const MessagingSettingsRecord& current, const SettingsChange& c,
                                                    std::span<const std::uint8_t> secret, Timestamp now) {
  MessagingSettingsRecord s = current;
  auto take = [](std::string& field, const std::optional<std::string>& v) {
    if (v) field = *v;
  };
  take(s.from_name, c.from_name);
  take(s.from_address, c.from_address);
  take(s.reply_to, c.reply_to);
  take(s.transport, c.transport);
  take(s.smtp_url, c.smtp_url);
  take(s.smtp_tls, c.smtp_tls);
  take(s.smtp_username, c.smtp_username);
  take(s.dkim_domain, c.dkim_domain);
  take(s.dkim_selector, c.dkim_selector);
  take(s.consent_text_version, c.consent_text_version);
  take(s.public_url, c.public_url);
  if (c.track_engagement) s.track_engagement = *c.track_engagement;
  if (c.max_attempts) s.max_attempts = *c.max_attempts;

  if (s.from_name.find_first_of("\r\n") != std::string::npos || s.from_name.size() > 200) {
    return InvalidArgument("from_name", "must be one line of at most 200 bytes");
  }
  TREU_RETURN_IF_ERROR(ValidateAddress(s.from_address, "from_address"));
  if (!s.reply_to.empty()) {
    TREU_RETURN_IF_ERROR(ValidateAddress(s.reply_to, "reply_to"));
  }
  if (!OneOf(s.transport, {"file", "smtp"})) return InvalidArgument("transport", "must be file or smtp");
  if (!OneOf(s.smtp_tls, {"none", "starttls", "tls"})) return InvalidArgument("smtp_tls", "must be none, starttls or tls");
  if (s.transport == "smtp" || !s.smtp_url.empty()) {
    TREU_RETURN_IF_ERROR(CheckUrl(s.smtp_url, "smtp_url", {"smtp://", "smtps://"}));
  }
  TREU_RETURN_IF_ERROR(CheckUrl(s.public_url, "public_url", {"http://", "https://"}));
  if (s.max_attempts < 1 || s.max_attempts > 50) return InvalidArgument("max_attempts", "must be 1 to 50");
  if (s.consent_text_version.size() > 100) return InvalidArgument("consent_text_version", "at most 100 bytes");

  if (c.smtp_password) s.smtp_password_sealed = c.smtp_password->empty() ? "" : Seal(*c.smtp_password, secret);
  if (c.dkim_private_key) s.dkim_key_sealed = c.dkim_private_key->empty() ? "" : Seal(*c.dkim_private_key, secret);
  if (!s.dkim_key_sealed.empty() || !s.dkim_domain.empty()) {
    if (s.dkim_domain.empty()) return InvalidArgument("dkim_domain", "is needed with a DKIM key");
    if (s.dkim_selector.empty()) return InvalidArgument("dkim_selector", "is needed with a DKIM key");
    if (s.dkim_key_sealed.empty()) return InvalidArgument("dkim_private_key", "is needed with a DKIM domain");
    TREU_ASSIGN_OR_RETURN(std::string pem, Unseal(s.dkim_key_sealed, secret));
    if (auto signer = DkimSigner::Create(s.dkim_domain, s.dkim_selector, pem); !signer) {
      return InvalidArgument("dkim_private_key", signer.error().detail());
    }
  }
  s.updated_at = now;
  return s;
}

Result<MessagingSettingsRecord> LoadMessagingSettings(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindMessagingSettings(ws));
  if (stored) return *stored;
  return DefaultMessagingSettings(ws);
}

}  // namespace treu::messaging
