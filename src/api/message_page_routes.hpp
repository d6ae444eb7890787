// The public pages and links of messages (no key; the signed token is the capability):
//   GET  /m/u/{token}        the unsubscribe confirmation page (changes nothing)
//   POST /m/u/{token}        unsubscribes: RFC 8058 one-click (body "List-Unsubscribe=One-Click",
//                            no cookies needed) or the page's button
//   GET  /m/p/{token}        the preference page; POST saves it
//   GET  /m/confirm/{token}  the double opt-in page; POST confirms
//   GET  /m/o/{token}        the open pixel (a 1×1 GIF whatever happens)
//   GET  /m/c/{token}?u=URL  a click: recorded, then 302 to URL (only the URL the token signs)
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> MessagePageRoutes();

}  // namespace treu::api
