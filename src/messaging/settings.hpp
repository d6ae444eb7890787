// A workspace's messaging settings (Store's MessagingSettingsRecord): sender, transport, DKIM,
// links and engagement tracking, and how often delivery is tried. Secrets arrive in plain text
// from the API or CLI and are sealed here before they are stored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "storage/store.hpp"

namespace treu::messaging {

inline constexpr int kDefaultMaxAttempts = 8;

// The settings of a workspace that has stored none: the file transport (nothing leaves the
// machine), sender "treu <noreply@treu.localhost>", links to http://127.0.0.1:8080, tracking on.
MessagingSettingsRecord DefaultMessagingSettings(WorkspaceId ws);

// A change of settings: the fields given replace the stored ones. Passwords and keys are plain
// text here; "" removes the stored secret.
struct SettingsChange {
  std::optional<std::string> from_name, from_address, reply_to, transport, smtp_url, smtp_tls, smtp_username,
      smtp_password, dkim_domain, dkim_selector, dkim_private_key, consent_text_version, public_url;
  std::optional<bool> track_engagement;
  std::optional<int> max_attempts;
};

// `current` with `change` applied, validated (InvalidArgument naming the field: addresses,
// transport "file"/"smtp", smtp_url smtp:// or smtps:// with a host, smtp_tls none/starttls/tls,
// public_url http(s) without query, max_attempts 1..50, a DKIM key that loads and a domain and
// selector with it) and its secrets sealed under `secret`.
Result<MessagingSettingsRecord> ApplySettingsChange(const MessagingSettingsRecord& current, const SettingsChange& change,
                                                    std::span<const std::uint8_t> secret, Timestamp now);

// The stored settings of `ws`, or the defaults.
Result<MessagingSettingsRecord> LoadMessagingSettings(Store& store, WorkspaceId ws);

}  // namespace treu::messaging
