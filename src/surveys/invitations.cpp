#include "surveys/invitations.hpp"

#include <limits>

#include "segments/library.hpp"
#include "snapshot/snapshot.hpp"
#include "surveys/page.hpp"
#include "surveys/tokens.hpp"

namespace treu::survey {
namespace {

constexpr std::int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;

bool Within(std::optional<Timestamp> at, std::int64_t micros, Timestamp now) {
  return at && now.micros - at->micros < micros;
}

Status CheckOptions(const InviteOptions& options) {
  if (options.expires_days < 1 || options.expires_days > 365) {
    return InvalidArgument("expires_days", "must be a whole number from 1 to 365");
  }
  if (!options.base_url.starts_with("http://") && !options.base_url.starts_with("https://")) {
    return InvalidArgument("base_url", "must start with http:// or https:// (the address customers reach treu at)");
  }
  return Ok();
}

std::string LinkBase(const InviteOptions& options) {
  std::string base = options.base_url;
  while (base.ends_with('/')) base.pop_back();
  return base + "/s/";
}

}  // namespace

Result<RecordedFacts> LoadRecordedFacts(Store& store, WorkspaceId ws, const Survey& s) {
  RecordedFacts facts;
  TREU_RETURN_IF_ERROR(store.ScanSurveyInvitations(ws, [&](std::int64_t survey_id, CustomerId c, Timestamp at) {
    ScheduleFacts& f = facts[c.value];
    auto later = [&](std::optional<Timestamp>& slot) {
      if (!slot || *slot < at) slot = at;
    };
    later(f.last_invited_any);
    if (survey_id == s.id) later(f.last_invited_this);
  }));
  if (s.kind == SurveyKind::kTransactional) {
    TREU_ASSIGN_OR_RETURN(auto latest, store.LatestEvents(ws, s.trigger_event));
    for (const auto& [c, at] : latest) facts[c.value].last_trigger = at;
  }
  return facts;
}

ScheduleFacts FactsOf(const Survey& s, const RecordedFacts& recorded, CustomerId c, std::optional<Timestamp> last_order) {
  const auto it = recorded.find(c.value);
  ScheduleFacts facts = it == recorded.end() ? ScheduleFacts{} : it->second;
  if (s.kind == SurveyKind::kTransactional && s.trigger_event == "Order Completed" && last_order &&
      (!facts.last_trigger || *facts.last_trigger < *last_order)) {
    facts.last_trigger = last_order;
  }
  return facts;
}

Result<std::vector<Candidate>> SelectCandidates(Store& store, const Workspace& ws, std::string_view segment,
                                                std::string_view where, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto snap, BuildSnapshot(store, ws.id));
  TREU_ASSIGN_OR_RETURN(const std::vector<bool> members, segment::SelectCustomers(store, ws, snap, where, segment, now));
  std::vector<Candidate> out;
  for (Snapshot::Index c = 0; c < members.size(); ++c) {
    if (!members[c]) continue;
    const auto orders = snap->order_times(c);
    out.push_back({snap->customer_id(c), snap->external_id(c),
                   orders.empty() ? std::nullopt : std::optional<Timestamp>(Timestamp{orders.back()})});
  }
  return out;
}

std::string_view NotDueName(NotDue reason) {
  switch (reason) {
    case NotDue::kDue: return "due";
    case NotDue::kMinGap: return "min_gap";
    case NotDue::kAskedRecently: return "asked_recently";
    case NotDue::kNoTrigger: return "no_trigger";
    case NotDue::kTooSoon: return "too_soon";
    case NotDue::kAlreadyAsked: return "already_asked";
  }
  return "due";
}

NotDue CheckSchedule(const Survey& s, const ScheduleFacts& facts, Timestamp now) {
  if (s.kind == SurveyKind::kTransactional) {
    if (!facts.last_trigger) return NotDue::kNoTrigger;
    if (facts.last_invited_this && *facts.last_invited_this >= *facts.last_trigger) return NotDue::kAlreadyAsked;
    if (now.micros - facts.last_trigger->micros < std::int64_t{s.delay_hours} * kMicrosPerHour) return NotDue::kTooSoon;
  } else if (Within(facts.last_invited_this, std::int64_t{s.every_days} * kMicrosPerDay, now)) {
    return NotDue::kAskedRecently;
  }
  if (Within(facts.last_invited_any, std::int64_t{s.min_gap_days} * kMicrosPerDay, now)) return NotDue::kMinGap;
  return NotDue::kDue;
}

Result<Invited> Invite(Store& store, const Workspace& ws, const Survey& s, std::span<const Candidate> candidates,
                       const InviteOptions& options, std::span<const std::uint8_t> secret, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckOptions(options));
  const Question* scored = nullptr;
  for (const Question& q : s.questions) {
    if (IsScoreKind(q.kind)) {
      scored = &q;
      break;
    }
  }
  if (options.snippet && scored == nullptr) {
    return InvalidArgument("snippet", "survey " + s.name + " has no score question");
  }
  const std::string base = LinkBase(options);
  RecordedFacts recorded;
  if (!options.ignore_schedule) {
    TREU_ASSIGN_OR_RETURN(recorded, LoadRecordedFacts(store, ws.id, s));
  }
  Invited out;
  std::vector<SurveyInvitation> invitations;
  const Timestamp expires{now.micros + std::int64_t{options.expires_days} * kMicrosPerDay};
  for (const Candidate& c : candidates) {
    if (!options.ignore_schedule) {
      const NotDue reason = CheckSchedule(s, FactsOf(s, recorded, c.id, c.last_order), now);
      if (reason != NotDue::kDue) {
        ++out.skipped[std::string(NotDueName(reason))];
        continue;
      }
    }
    TREU_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> bytes, NewSecret());
    std::int64_t nonce = 0;
    for (std::size_t i = 0; i < 8; ++i) nonce = (nonce << 8) | bytes[i];
    nonce &= std::numeric_limits<std::int64_t>::max();
    const SurveyInvitation inv{0, ws.id, s.id, c.id, nonce, now, expires};
    invitations.push_back(inv);
    IssuedLink link;
    link.customer = c.external_id;
    link.link = base + SignInvitation({ws.id, s.id, c.id, nonce, expires}, secret);
    TREU_ASSIGN_OR_RETURN(auto customer, store.FindCustomer(ws.id, c.external_id));
    if (customer) link.email = customer->email;
    if (options.snippet) {
      const std::string locale = customer && !customer->locale.empty() ? customer->locale : s.default_locale;
      const ScoreRange range = *ScoreRangeOf(scored->kind);
      EmailScale scale;
      scale.question = std::string(scored->text.Resolve(locale, s.default_locale));
      scale.min = range.min;
      scale.max = range.max;
      const auto [low, high] = ScaleEndLabels(locale, scored->kind);
      scale.low_label = low;
      scale.high_label = high;
      scale.brand_colour = ws.brand_colour;
      const std::string& url = link.link;
      scale.link_for = [&url](int score) { return url + "?score=" + std::to_string(score); };
      link.email_html = RenderEmailScale(scale);
      link.email_text = RenderEmailScaleText(scale);
    }
    out.links.push_back(std::move(link));
  }
  TREU_RETURN_IF_ERROR(store.CreateSurveyInvitations(invitations));
  return out;
}

Result<KeyedInvitation> InviteWithKey(Store& store, const Workspace& ws, const Survey& s, CustomerId customer,
                                      const ScheduleFacts& facts, std::string_view key, const InviteOptions& options,
                                      std::span<const std::uint8_t> secret, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckOptions(options));
  const std::int64_t nonce = NonceForKey(ws.id, s.id, key, secret);
  KeyedInvitation out;
  TREU_ASSIGN_OR_RETURN(auto earlier, store.FindSurveyInvitation(ws.id, s.id, nonce));
  if (earlier) {
    if (earlier->customer != customer) {
      return FailedPrecondition("survey invitation", "the key '" + std::string(key) + "' invited another customer");
    }
    out.link = LinkBase(options) + SignInvitation({ws.id, s.id, customer, nonce, earlier->expires_at}, secret);
    return out;
  }
  out.reason = options.ignore_schedule ? NotDue::kDue : CheckSchedule(s, facts, now);
  if (out.reason != NotDue::kDue) return out;
  const Timestamp expires{now.micros + std::int64_t{options.expires_days} * kMicrosPerDay};
  const SurveyInvitation inv{0, ws.id, s.id, customer, nonce, now, expires};
  TREU_RETURN_IF_ERROR(store.CreateSurveyInvitations(std::span(&inv, 1)));
  out.link = LinkBase(options) + SignInvitation({ws.id, s.id, customer, nonce, expires}, secret);
  out.made = true;
  return out;
}

}  // namespace treu::survey
