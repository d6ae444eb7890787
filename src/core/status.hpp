// Expected failures as values: Error carries a code, the context (what was being done or
// which input) and the detail (the rule broken). Result<T> is std::expected<T, Error>.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace treu {

enum class ErrorCode {
  kInvalidArgument,     // bad input: a field, a file line, a flag
  kNotFound,            // no such resource in this workspace
  kAlreadyExists,       // unique key taken
  kConflict,            // concurrent change or state conflict
  kFailedPrecondition,  // system not in a state to do this
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials
  kResourceExhausted,   // limits, rate, size
  kUnavailable,         // transient: retry may succeed
  kInternal,            // a bug or an unexpected backend failure
};

// Stable lower-case name of a code, e.g. "invalid_argument".
std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string context, std::string detail)
      : code_(code), context_(std::move(context)), detail_(std::move(detail)) {}

  ErrorCode code() const { return code_; }
  const std::string& context() const { return context_; }
  const std::string& detail() const { return detail_; }

  // "context: detail", or just the detail when there is no context.
  std::string ToString() const;

  // Returns a copy whose context is prefixed with `outer` ("outer: context").
  Error WithContext(std::string_view outer) const;

 private:
  ErrorCode code_;
  std::string context_;
  std::string detail_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string context, std::string detail) {
  return std::unexpected<Error>(Error(code, std::move(context), std::move(detail)));
}
inline std::unexpected<Error> InvalidArgument(std::string context, std::string detail) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(context), std::move(detail));
}
inline std::unexpected<Error> NotFound(std::string context, std::string detail) {
  return MakeError(ErrorCode::kNotFound, std::move(context), std::move(detail));
}
inline std::unexpected<Error> AlreadyExists(std::string context, std::string detail) {
  return MakeError(ErrorCode::kAlreadyExists, std::move(context), std::move(detail));
}
inline std::unexpected<Error> Conflict(std::string context, std::string detail) {
  return MakeError(ErrorCode::kConflict, std::move(context), std::move(detail));
}
inline std::unexpected<Error> FailedPrecondition(std::string context, std::string detail) {
  return MakeError(ErrorCode::kFailedPrecondition, std::move(context), std::move(detail));
}
inline std::unexpected<Error> Unavailable(std::string context, std::string detail) {
  return MakeError(ErrorCode::kUnavailable, std::move(context), std::move(detail));
}
inline std::unexpected<Error> Internal(std::string context, std::string detail) {
  return MakeError(ErrorCode::kInternal, std::move(context), std::move(detail));
}

inline Status Ok() { return {}; }

// The status of a result, its value dropped.
template <typename T>
Status StatusOf(const Result<T>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace treu

// Evaluates `expr` (a Status or Result); on failure returns its error from the enclosing
// function, which must return a Status or Result.
#define TREU_RETURN_IF_ERROR(expr)                                    \
  do {                                                                \
    if (auto treu_status_ = (expr); !treu_status_) {                  \
      return std::unexpected<::treu::Error>(treu_status_.error());    \
    }                                                                 \
  } while (false)

#define TREU_CONCAT_INNER_(a, b) a##b
#define TREU_CONCAT_(a, b) TREU_CONCAT_INNER_(a, b)
// Declares `lhs` from the value of a Result, or returns its error.
#define TREU_ASSIGN_OR_RETURN(lhs, expr)                                                   \
  auto TREU_CONCAT_(treu_result_, __LINE__) = (expr);                                     \
  if (!TREU_CONCAT_(treu_result_, __LINE__)) {                                            \
    return std::unexpected<::treu::Error>(TREU_CONCAT_(treu_result_, __LINE__).error()); \
  }                                                                                       \
  lhs = std::move(*TREU_CONCAT_(treu_result_, __LINE__))
