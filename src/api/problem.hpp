// RFC 9457 problem details: the one place where an Error becomes an HTTP status and body.
#pragma once

#include <optional>
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

// The `errors` entry of an error whose context names a member of the request: a JSON pointer
// as it is ("/batch/3/userId"), or a field path made one ("steps.3.next" → "/steps/3/next").
// None for any other context.
std::optional<FieldError> FieldErrorOf(const Error& error);

// The HTTP status for an error code.
int HttpStatusFor(ErrorCode code);

// A problem+json response for `error` at `instance` (the request path). Internal errors
// show a generic detail; the real one is for the log only. An error whose context is a
// plain field name gets an `errors` entry pointing at that field.
HttpResponse ProblemResponse(const Error& error, std::string_view instance);
HttpResponse ProblemResponse(int status, std::string_view code, std::string_view detail,
                             std::string_view instance, const std::vector<FieldError>& errors = {});

}  // namespace treu::api
