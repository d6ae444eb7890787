// RFC 9457 problem details: the one place where an Error becomes an HTTP status and body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http.hpp"
#include "core/status.hpp"

namespace treu::api {

struct FieldError {
  std::string pointer;  // JSON pointer into the request, e.g. "/email"
  std::string detail;
};

// The HTTP status for an error code.
int HttpStatusFor(ErrorCode code);

// A problem+json response for `error` at `instance` (the request path). Internal errors
// show a generic detail; the real one is for the log only. An error whose context is a
// plain field name gets an `errors` entry pointing at that field.
HttpResponse ProblemResponse(const Error& error, std::string_view instance);
HttpResponse ProblemResponse(int status, std::string_view code, std::string_view detail,
                             std::string_view instance, const std::vector<FieldError>& errors = {});

}  // namespace treu::api
