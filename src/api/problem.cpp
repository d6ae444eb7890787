#include "api/problem.hpp"

#include <nlohmann/json.hpp>

namespace treu::api {
namespace {

std::string_view Title(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

bool IsFieldName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

HttpResponse ProblemResponse(int status, std::string_view code, std::string_view detail,
                             std::string_view instance, const std::vector<FieldError>& errors) {
  std::string type(code);
  for (auto& c : type) {
    if (c == '_') c = '-';
  }
  nlohmann::json j = {{"type", "urn:treu:problem:" + type},
                      {"title", Title(status)},
                      {"status", status},
                      {"detail", detail},
                      {"instance", instance}};
  if (!errors.empty()) {
    auto& list = j["errors"] = nlohmann::json::array();
    for (const auto& e : errors) list.push_back({{"pointer", e.pointer}, {"detail", e.detail}});
  }
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"treu\"");
  return r;
}

std::optional<FieldError> FieldErrorOf(const Error& error) {
  if (error.context().starts_with("/")) return FieldError{error.context(), error.detail()};
  if (!IsFieldName(error.context())) return std::nullopt;
  std::string pointer = "/" + error.context();
  for (auto& c : pointer) {
    if (c == '.') c = '/';
  }
  return FieldError{std::move(pointer), error.detail()};
}

HttpResponse ProblemResponse(const Error& error, std::string_view instance) {
  const int status = HttpStatusFor(error.code());
  if (error.code() == ErrorCode::kInternal) {
    return ProblemResponse(status, ErrorCodeName(error.code()),
                           "an internal error occurred; it has been logged", instance);
  }
  std::vector<FieldError> fields;
  if (auto field = FieldErrorOf(error)) fields.push_back(std::move(*field));
  return ProblemResponse(status, ErrorCodeName(error.code()), error.ToString(), instance, fields);
}

}  // namespace treu::api
