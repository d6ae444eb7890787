#include "storage/store.hpp"

namespace treu {
namespace {
constexpr std::pair<std::string_view, Entity> kEntities[] = {
    {"workspace", Entity::kWorkspace}, {"customer", Entity::kCustomer},
    {"product", Entity::kProduct},     {"order", Entity::kOrder},
    {"subscription", Entity::kSubscription}, {"event", Entity::kEvent}};
constexpr std::pair<std::string_view, ChangeOp> kOps[] = {
    {"insert", ChangeOp::kInsert}, {"update", ChangeOp::kUpdate}, {"delete", ChangeOp::kDelete}};
constexpr std::pair<std::string_view, ImportJobStatus> kJobStatuses[] = {
    {"queued", ImportJobStatus::kQueued},
    {"running", ImportJobStatus::kRunning},
    {"succeeded", ImportJobStatus::kSucceeded},
    {"failed", ImportJobStatus::kFailed}};
}  // namespace

std::string_view ImportJobStatusName(ImportJobStatus s) {
  for (const auto& [n, v] : kJobStatuses) {
    if (v == s) return n;
  }
  return "unknown";
}
Result<ImportJobStatus> ParseImportJobStatus(std::string_view text) {
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

}  // namespace treu
