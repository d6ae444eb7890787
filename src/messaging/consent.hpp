// Consent and preferences: email consent by double opt-in (a confirmation email with a signed,
// expiring link; the proof — time, address, user agent, consent text version — is kept as
// ConsentRecords and can be exported), unsubscribes (RFC 8058 one-click and the page), the
// preference page (topics, email on/off, a pause, engagement tracking), and opens and clicks
// turned into the customer's events. Every change takes effect before the next send: the
// delivery workers check consent and preferences again for each message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "messaging/links.hpp"
#include "storage/store.hpp"

namespace treu::messaging {

// Where a consent change came from (stored with the proof).
struct Requester {
  std::string ip;
  std::string user_agent;
};

inline constexpr std::int64_t kConfirmLinkMicros = 7LL * 24 * 3600 * 1'000'000;  // 7 days

// Sets channel consent of customer `customer` (external id) of `ws` and records the proof
// (action "granted" or "withdrawn", or `action` when given). NotFound for an unknown customer.
Status SetConsent(Store& store, WorkspaceId ws, std::string_view customer, Channel channel, bool granted,
                  std::string_view source, std::string_view action, const Requester& who,
                  std::string_view text_version, Timestamp now);

// Starts a double opt-in: enqueues the confirmation email (category "confirmation": sent
// without consent, since it asks for it) with a link to <public_url>/m/confirm/<token>, valid
// kConfirmLinkMicros, and records "requested". FailedPrecondition when the customer has no
// email address or already consented; NotFound for an unknown customer. Returns the message's
// idempotency key.
Result<std::string> RequestEmailConsent(Store& store, const Workspace& ws, std::string_view customer,
                                        const Requester& who, std::span<const std::uint8_t> secret, Timestamp now);

// What a link of a customer opens: the workspace and customer it names (checked to exist).
struct LinkTarget {
  Workspace workspace;
  Customer customer;
  LinkClaims claims;
};
// Checks `token` of `kind` (VerifyLink's errors) and loads its workspace and customer
// (NotFound "link" when either is gone).
Result<LinkTarget> OpenLink(Store& store, std::string_view token, LinkKind kind, std::string_view bound,
                            std::span<const std::uint8_t> secret, Timestamp now);

// Confirms a double opt-in: grants email consent (source "double_opt_in") and records
// "confirmed" with the requester. Confirming twice changes nothing more.
Status ConfirmEmailConsent(Store& store, const LinkTarget& target, const Requester& who, Timestamp now);

// An unsubscribe through a message's link (`source` "one_click" or "page"): when the link's
// template has a topic, the topic is turned off in the preferences; otherwise email consent is
// withdrawn. Queued marketing email that the change forbids is suppressed at send time.
// Returns the topic turned off ("" when consent was withdrawn).
Result<std::string> Unsubscribe(Store& store, const LinkTarget& target, std::string_view source, const Requester& who,
                                Timestamp now);

// The preference page's view of a customer.
struct PreferenceView {
  bool email = false;                    // email consent
  std::vector<std::string> topics;       // the workspace's topics (of its templates), sorted
  std::vector<std::string> topics_off;
  std::optional<Timestamp> paused_until;
  bool tracking = true;                  // opens and clicks are tracked
};
Result<PreferenceView> LoadPreferences(Store& store, const LinkTarget& target);
// Stores the page's choices; consent changes are recorded with `who` (source "preference_page").
// InvalidArgument for a topic the workspace doesn't have.
Status SavePreferences(Store& store, const LinkTarget& target, const PreferenceView& view, const Requester& who,
                       Timestamp now);

// Records an open or a click of message claims.ref: a log line on the message and an event
// of the customer ("Email Opened" / "Email Link Clicked" with message_id, campaign and url).
// Opens after the first are logged but add no event. NotFound when the message is gone.
Status RecordEngagement(Store& store, const LinkTarget& target, std::string_view url, Timestamp now);

}  // namespace treu::messaging
