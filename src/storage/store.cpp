#include "storage/store.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace treu {
namespace {
constexpr std::pair<std::string_view, Entity> kEntities[] = {
    {"workspace", Entity::kWorkspace}, {"customer", Entity::kCustomer},
    {"product", Entity::kProduct},     {"order", Entity::kOrder},
    {"subscription", Entity::kSubscription}, {"event", Entity::kEvent}};
constexpr std::pair<std::string_view, ChangeOp> kOps[] = {
    {"insert", ChangeOp::kInsert}, {"update", ChangeOp::kUpdate}, {"delete", ChangeOp::kDelete}};
constexpr std::pair<std::string_view, JobStatus> kJobStatuses[] = {
    {"queued", JobStatus::kQueued},
    {"running", JobStatus::kRunning},
    {"succeeded", JobStatus::kSucceeded},
    {"failed", JobStatus::kFailed}};
constexpr std::pair<std::string_view, MessageState> kMessageStates[] = {
    {"queued", MessageState::kQueued},         {"sending", MessageState::kSending},
    {"sent", MessageState::kSent},             {"bounced", MessageState::kBounced},
    {"failed", MessageState::kFailed},         {"suppressed", MessageState::kSuppressed},
    {"cancelled", MessageState::kCancelled}};
}  // namespace

std::string_view MessageStateName(MessageState s) {
  for (const auto& [n, v] : kMessageStates) {
    if (v == s) return n;
  }
  return "unknown";
}
Result<MessageState> ParseMessageState(std::string_view text) {
  for (const auto& [n, v] : kMessageStates) {
    if (n == text) return v;
  }
  return InvalidArgument("message state", "'" + std::string(text) +
                                              "' is unknown; one of queued, sending, sent, bounced, "
                                              "failed, suppressed, cancelled");
}

std::string_view JobStatusName(JobStatus s) {
  for (const auto& [n, v] : kJobStatuses) {
    if (v == s) return n;
  }
  return "unknown";
}
Result<JobStatus> ParseJobStatus(std::string_view text) {
  for (const auto& [n, v] : kJobStatuses) {
    if (n == text) return v;
  }
  return InvalidArgument("import job status", "'" + std::string(text) + "' is unknown");
}

std::string_view EntityName(Entity e) {
  for (const auto& [n, v] : kEntities) {
    if (v == e) return n;
  }
  return "unknown";
}
Result<Entity> ParseEntity(std::string_view name) {
  for (const auto& [n, v] : kEntities) {
    if (n == name) return v;
  }
  return InvalidArgument("entity", "'" + std::string(name) + "' is unknown");
}
std::string_view ChangeOpName(ChangeOp op) {
  for (const auto& [n, v] : kOps) {
    if (v == op) return n;
  }
  return "unknown";
}
Result<ChangeOp> ParseChangeOp(std::string_view name) {
  for (const auto& [n, v] : kOps) {
    if (n == name) return v;
  }
  return InvalidArgument("change op", "'" + std::string(name) + "' is unknown");
}

std::string EncodeTierList(const std::vector<std::string>& tiers) {
  std::string out;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (i > 0) out += ',';
    for (const char c : tiers[i]) {
      if (c == ',' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

std::vector<std::string> DecodeTierList(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  out.emplace_back();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out.back() += text[++i];
    } else if (text[i] == ',') {
      out.emplace_back();
    } else {
      out.back() += text[i];
    }
  }
  return out;
}

Status ValidateSegmentName(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 &&
                  std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
                  });
  if (!ok) return InvalidArgument("segment name", "'" + std::string(name) + "' must be 1 to 64 letters, digits, '_', '-' or '.'");
  return Ok();
}

std::string EncodeNamedValues(const std::vector<std::pair<std::string, double>>& values) {
  std::string out;
  char buf[40];
  for (const auto& [name, v] : values) {
    if (!out.empty()) out += ';';
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out += name + "=" + buf;
  }
  return out;
}

Result<std::vector<std::pair<std::string, double>>> DecodeNamedValues(std::string_view text) {
  std::vector<std::pair<std::string, double>> out;
  while (!text.empty()) {
    const auto end = text.find(';');
    const std::string_view item = text.substr(0, end);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return Internal("named values", "'" + std::string(item) + "' has no '='");
    const std::string value(item.substr(eq + 1));
    char* stop = nullptr;
    const double v = std::strtod(value.c_str(), &stop);
    if (value.empty() || *stop != 0) return Internal("named values", "'" + value + "' is not a number");
    out.emplace_back(std::string(item.substr(0, eq)), v);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

namespace {
constexpr std::pair<std::string_view, CampaignState> kCampaignStates[] = {
    {"draft", CampaignState::kDraft},   {"scheduled", CampaignState::kScheduled}, {"running", CampaignState::kRunning},
    {"testing", CampaignState::kTesting}, {"done", CampaignState::kDone},         {"cancelled", CampaignState::kCancelled}};
}  // namespace

std::string_view CampaignStateName(CampaignState s) {
  for (const auto& [n, v] : kCampaignStates) {
    if (v == s) return n;
  }
  return "unknown";
}

Result<CampaignState> ParseCampaignState(std::string_view text) {
  for (const auto& [n, v] : kCampaignStates) {
    if (n == text) return v;
  }
  return InvalidArgument("state", "'" + std::string(text) +
                                      "' is unknown; one of draft, scheduled, running, testing, done, cancelled");
}

std::string FormatCampaignVariants(std::span<const CampaignVariant> variants) {
  std::string out;
  for (const CampaignVariant& v : variants) {
    if (!out.empty()) out += ',';
    out += std::to_string(v.weight) + ':' + v.template_name;
  }
  return out;
}

Result<std::vector<CampaignVariant>> ParseCampaignVariants(std::string_view text) {
  std::vector<CampaignVariant> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == item.size())
      return Internal("campaign variants", "'" + std::string(item) + "' is not <weight>:<template>");
    CampaignVariant v;
    v.weight = std::atoi(std::string(item.substr(0, colon)).c_str());
    v.template_name = std::string(item.substr(colon + 1));
    out.push_back(std::move(v));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

Status CheckLockName(std::string_view name) {
  if (name.empty() || name.size() > 40 ||
      !std::all_of(name.begin(), name.end(), [](char ch) { return (ch >= 'a' && ch <= 'z') || ch == '_'; }))
    return InvalidArgument("lock", "a lock's name is 1 to 40 of a-z and '_'");
  return Ok();
}

Status CheckCampaignRecord(const CampaignRecord& c) {
  if (c.name.empty()) return InvalidArgument("name", "a campaign needs a name");
  if (c.variants.empty()) return InvalidArgument("variants", "a campaign needs at least one variant");
  for (const CampaignVariant& v : c.variants) {
    if (v.template_name.empty() || v.template_name.find(',') != std::string::npos)
      return InvalidArgument("variants", "a variant's template name must be non-empty and without ','");
  }
  return Ok();
}

}  // namespace treu
