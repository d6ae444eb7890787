// What route handlers share: JSON responses, the caller's workspace and snapshot, and paging
// of list routes — `limit` (1..500, default 50) and the opaque `cursor` ("c" followed by the
// last id of the previous page).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <memory>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/router.hpp"
#include "core/status.hpp"

namespace treu::api {

inline constexpr int kDefaultLimit = 50;
inline constexpr int kMaxLimit = 500;

// The `limit` query parameter; InvalidArgument naming "limit".
Result<int> ParseLimit(const HttpRequest& req);
// The id after which the page starts (0 without a cursor); InvalidArgument naming "cursor".
Result<std::int64_t> ParseCursor(const HttpRequest& req);
// The cursor for a page that ended at `last_id`.
std::string CursorAfter(std::int64_t last_id);

// The customer whose external id is the path's {param}; NotFound "customer <id>" otherwise.
Result<Customer> CustomerOfPath(RequestContext& ctx, const std::string& param = "id");

// The request body as a JSON object whose members are all among `allowed`; InvalidArgument
// naming "body" or the unknown member.
Result<nlohmann::json> BodyObject(const HttpRequest& req, std::initializer_list<std::string_view> allowed);

// Member `name` of a body object: nullopt when absent or null, InvalidArgument naming it when
// not a string.
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const std::string& name);

// The integer {id} of the path; NotFound "<what> <id>" when it isn't one.
Result<std::int64_t> PathId(const RequestContext& ctx, std::string_view what);

// An HTML page of the public routes (survey, unsubscribe, preference pages): no scripts, only
// inline styles, forms posting only to this server, never framed or cached, no referrer.
HttpResponse PublicPage(int status, std::string body);

// A JSON body with `status`.
HttpResponse JsonResponse(const nlohmann::json& body, int status = 200);
// The server's signing secret (signed links, sealed settings), or an empty one when it has none.
const std::vector<std::uint8_t>& Secret(const RequestContext& ctx);
// Unavailable (naming `what`) when the server has no signing secret.
Status NeedSecret(const RequestContext& ctx, std::string_view what);

// The caller's workspace record. REQUIRES: a non-public route.
Result<Workspace> TheWorkspace(RequestContext& ctx);
// The caller's workspace snapshot: the server's live one, or built now without a cache.
Result<std::shared_ptr<const Snapshot>> SnapshotOf(RequestContext& ctx);

}  // namespace treu::api
