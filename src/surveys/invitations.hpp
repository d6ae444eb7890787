// Inviting customers to a survey: who is due under the survey's schedule, and one signed,
// expiring, single-use link per invited customer, recorded as an invitation.
//
// Schedules (docs/surveys.md, "Who is invited"):
//   - every survey: nobody is asked twice within `min_gap_days` of their last invitation to
//     any survey;
//   - relationship surveys: a customer is due when they were never invited to this survey, or
//     last invited `every_days` or more ago;
//   - transactional surveys: a customer is due when their latest trigger event (or, for
//     "Order Completed", their latest order) happened at least `delay_hours` ago and after
//     their last invitation to this survey.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/store.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

// What the schedule looks at for one customer.
struct ScheduleFacts {
  std::optional<Timestamp> last_invited_any;   // to any survey
  std::optional<Timestamp> last_invited_this;  // to this survey
  std::optional<Timestamp> last_trigger;       // transactional: the latest trigger
};

// Why a customer is not invited now (kDue: they are).
enum class NotDue {
  kDue,
  kMinGap,          // invited to some survey within min_gap_days
  kAskedRecently,   // relationship: invited to this survey within every_days
  kNoTrigger,       // transactional: no trigger event yet
  kTooSoon,         // transactional: the trigger is less than delay_hours ago
  kAlreadyAsked,    // transactional: invited since the latest trigger
};
// "due", "min_gap", "asked_recently", "no_trigger", "too_soon", "already_asked".
std::string_view NotDueName(NotDue reason);

// Whether a customer with `facts` is due for survey `s` at `now`.
NotDue CheckSchedule(const Survey& s, const ScheduleFacts& facts, Timestamp now);

// A customer who may be invited.
struct Candidate {
  CustomerId id;
  std::string external_id;
  std::optional<Timestamp> last_order;  // counts as an "Order Completed" trigger
};

// The customers of the saved segment `segment` and/or the segment expression `where` (both:
// those in both), with their latest order. Errors as segment::SelectCustomers.
Result<std::vector<Candidate>> SelectCandidates(Store& store, const Workspace& ws, std::string_view segment,
                                                std::string_view where, Timestamp now);

struct InviteOptions {
  int expires_days = 30;       // 1..365
  std::string base_url;        // links are <base_url>/s/<token>
  bool snippet = false;        // add the email scale (HTML and text) of the first score question
  bool ignore_schedule = false;  // invite every candidate
};

struct IssuedLink {
  std::string customer;  // external id
  std::string email;
  std::string link;
  std::string email_html;  // with InviteOptions::snippet
  std::string email_text;
};

struct Invited {
  std::vector<IssuedLink> links;
  std::map<std::string, std::int64_t> skipped;  // NotDueName → customers not invited for it
};

// Invites the due `candidates` to survey `s` of `ws` (all, with ignore_schedule): records one
// invitation each (all or none) and returns their links in candidate order. InvalidArgument
// for expires_days out of range, a base URL that isn't http(s), and a snippet for a survey
// without a score question.
Result<Invited> Invite(Store& store, const Workspace& ws, const Survey& s, std::span<const Candidate> candidates,
                       const InviteOptions& options, std::span<const std::uint8_t> secret, Timestamp now);

// What the workspace's records say about survey `s`'s schedule: the facts of every customer
// with an invitation or (transactional) a trigger event, by customer id, from one scan each.
// A customer missing from it has no such record. Its size follows the records, not the
// customers, so callers that invite one customer at a time can keep it for a pass.
using RecordedFacts = std::unordered_map<std::int64_t, ScheduleFacts>;
Result<RecordedFacts> LoadRecordedFacts(Store& store, WorkspaceId ws, const Survey& s);

// Customer `c`'s facts: the `recorded` ones (none when missing), with their last order counted
// as the trigger when it is the survey's (a transactional survey on "Order Completed") and
// later than the recorded trigger.
ScheduleFacts FactsOf(const Survey& s, const RecordedFacts& recorded, CustomerId c, std::optional<Timestamp> last_order);

// One customer's invitation under a caller's idempotency key (a journey step's): its nonce is
// NonceForKey(key), so a second call with the same key finds the invitation made by the first
// and returns the same link, recording nothing. Otherwise the survey's schedule decides, with
// the customer's `facts` (FactsOf): a customer who is due gets one invitation,
// recorded; one who isn't gets the reason and no link. InvalidArgument as Invite (snippet
// ignored).
struct KeyedInvitation {
  NotDue reason = NotDue::kDue;  // kDue: invited, now or by an earlier call with the key
  std::string link;              // <base_url>/s/<token> when invited
  bool made = false;             // recorded by this call
};
Result<KeyedInvitation> InviteWithKey(Store& store, const Workspace& ws, const Survey& s, CustomerId customer,
                                      const ScheduleFacts& facts, std::string_view key, const InviteOptions& options,
                                      std::span<const std::uint8_t> secret, Timestamp now);

}  // namespace treu::survey
