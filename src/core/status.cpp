#include "core/status.hpp"

namespace treu {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::ToString() const {
  if (context_.empty()) return detail_;
  return context_ + ": " + detail_;
}

Error Error::WithContext(std::string_view outer) const {
  std::string ctx(outer);
  if (!context_.empty()) {
    ctx += ": ";
    ctx += context_;
  }
  return Error(code_, std::move(ctx), detail_);
}

}  // namespace treu
