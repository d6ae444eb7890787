#include "surveys/followups.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace treu::survey {

std::optional<int> NpsScoreOf(const Survey& s, const std::string& answers_json) {
  const nlohmann::json answers = nlohmann::json::parse(answers_json, nullptr, false);
  if (!answers.is_object()) return std::nullopt;
  for (const Question& q : s.questions) {
    if (q.kind != QuestionKind::kNps) continue;
    auto it = answers.find(q.id);
    if (it == answers.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int>();
  }
  return std::nullopt;
}

SurveyResponse WithNps(const Survey& s, SurveyResponse r) {
  r.nps_score = NpsScoreOf(s, r.answers);
  r.nps_category = r.nps_score ? std::string(NpsCategoryName(s.nps.Classify(*r.nps_score))) : "";
  return r;
}

Result<std::optional<FollowUpItem>> OpenFollowUpFor(Store& store, const Survey& s, const SurveyResponse& response,
                                                    bool finished, Timestamp now) {
  const std::optional<int> score = NpsScoreOf(s, response.answers);
  if (!score || s.nps.Classify(*score) != NpsCategory::kDetractor) return std::optional<FollowUpItem>();
  FollowUpItem item;
  item.workspace = response.workspace;
  item.survey_id = response.survey_id;
  item.customer = response.customer;
  item.nonce = response.nonce;
  item.score = *score;
  item.created_at = item.updated_at = now;
  item.webhook_url = s.followup_webhook;
  item.notify_state = s.followup_webhook.empty() ? "none" : "pending";
  item.notify_next_at = finished ? now : Timestamp{now.micros + kNotifyDelayMicros};
  TREU_ASSIGN_OR_RETURN(auto stored, store.CreateFollowUp(item));
  if (!stored.second) {
    const FollowUpItem& had = stored.first;
    if (finished && had.notify_state == "pending" && had.notify_attempts == 0 && had.notify_next_at > now) {
      TREU_RETURN_IF_ERROR(store.RecordFollowUpNotification(had.id, "pending", 0, now, ""));
    }
    return std::optional<FollowUpItem>();
  }
  return std::optional<FollowUpItem>(std::move(stored.first));
}

bool IsFollowUpStatus(std::string_view status) {
  return status == "open" || status == "assigned" || status == "done";
}

Result<FollowUpItem> ChangeFollowUp(Store& store, WorkspaceId ws, std::int64_t id, const FollowUpChange& change,
                                    Timestamp now) {
  if (change.status && !IsFollowUpStatus(*change.status)) {
    return InvalidArgument("status", "must be open, assigned or done");
  }
  if (change.assignee) {
    const std::string& a = *change.assignee;
    const bool control = std::any_of(a.begin(), a.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    if (a.size() > kMaxAssigneeChars || control) {
      return InvalidArgument("assignee", "must be at most " + std::to_string(kMaxAssigneeChars) +
                                             " characters without control characters");
    }
  }
  if (change.note && change.note->size() > kMaxNoteBytes) {
    return InvalidArgument("note", "must be at most " + std::to_string(kMaxNoteBytes) + " bytes");
  }
  TREU_ASSIGN_OR_RETURN(auto found, store.FindFollowUp(ws, id));
  if (!found) return NotFound("follow-up " + std::to_string(id), "no such follow-up in this workspace");
  FollowUpItem item = std::move(*found);
  if (change.assignee) {
    item.assignee = *change.assignee;
    if (item.status == "open" && !item.assignee.empty()) item.status = "assigned";
    if (item.status == "assigned" && item.assignee.empty()) item.status = "open";
  }
  if (change.status) item.status = *change.status;
  if (change.note) item.note = *change.note;
  item.updated_at = now;
  TREU_RETURN_IF_ERROR(store.UpdateFollowUp(item));
  return item;
}

Timestamp NextNotifyAttempt(int attempts, Timestamp now) {
  constexpr std::int64_t kMinute = 60 * kMicrosPerSecond;
  constexpr std::int64_t kMax = 6 * 60 * kMinute;
  const int doublings = std::clamp(attempts - 1, 0, 20);
  return Timestamp{now.micros + std::min(kMax, kMinute << doublings)};
}

std::string WebhookSigningKey(std::span<const std::uint8_t> server_secret, WorkspaceId ws) {
  const std::string label = "treu follow-up webhook key/" + std::to_string(ws.value);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  static constexpr std::uint8_t kNoKey = 0;
  const std::uint8_t* key = server_secret.empty() ? &kNoKey : server_secret.data();
  ::HMAC(EVP_sha256(), key, static_cast<int>(server_secret.size()),
         reinterpret_cast<const unsigned char*>(label.data()), label.size(), mac.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

}  // namespace treu::survey
