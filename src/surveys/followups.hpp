// The closed feedback loop: every detractor's response opens one follow-up item, which people
// work through (open → assigned → done, with a note) and which, when the survey names a
// webhook, is announced to it by a signed JSON POST, retried until it is delivered.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/store.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

// Notifications of an unfinished response wait this long after the score, so a comment given
// right after it is sent too; a finished one is announced at once.
inline constexpr std::int64_t kNotifyDelayMicros = 2 * 60 * kMicrosPerSecond;
// Attempts before a notification is given up ("failed").
inline constexpr int kMaxNotifyAttempts = 10;
inline constexpr std::size_t kMaxAssigneeChars = 200;
inline constexpr std::size_t kMaxNoteBytes = 10'000;

// The score that decides whether a response is a detractor's: its answer to the survey's first
// NPS question, if given.
std::optional<int> NpsScoreOf(const Survey& s, const std::string& answers_json);

// `r` with its nps_score and nps_category set from its answers (see NpsScoreOf).
SurveyResponse WithNps(const Survey& s, SurveyResponse r);

// Opens the follow-up item of a stored response (`response` as saved) when its NPS score is a
// detractor's under the survey's thresholds; at most one per response, however often it is
// answered again. With a webhook in the survey, the item's notification is due at `now` when
// the response is `finished` (the customer submitted the last page), else kNotifyDelayMicros
// later; finishing brings a notification not yet attempted forward to `now`. Returns the item
// when it is new.
Result<std::optional<FollowUpItem>> OpenFollowUpFor(Store& store, const Survey& s, const SurveyResponse& response,
                                                    bool finished, Timestamp now);

// True for "open", "assigned" and "done".
bool IsFollowUpStatus(std::string_view status);

// A change to a follow-up item; members left empty stay.
struct FollowUpChange {
  std::optional<std::string> status;    // "open", "assigned" or "done"
  std::optional<std::string> assignee;  // "" unassigns
  std::optional<std::string> note;
};

// Checks and applies `change` to item `id` of `ws`. Assigning someone to an open item makes it
// "assigned"; unassigning an assigned item reopens it; a status given explicitly wins.
// InvalidArgument with context "status", "assignee" (over kMaxAssigneeChars characters or with
// control characters) or "note" (over kMaxNoteBytes); NotFound. Returns the stored item.
Result<FollowUpItem> ChangeFollowUp(Store& store, WorkspaceId ws, std::int64_t id, const FollowUpChange& change,
                                    Timestamp now);

// When attempt number `attempts` (1-based) failed at `now`, the next one is due: after 1, 2,
// 4, ... minutes, at most 6 hours.
Timestamp NextNotifyAttempt(int attempts, Timestamp now);

// The per-workspace key that signs webhook notifications (Treu-Signature, docs/surveys.md),
// derived from the server's secret; hex.
std::string WebhookSigningKey(std::span<const std::uint8_t> server_secret, WorkspaceId ws);

}  // namespace treu::survey
