// The browser SDK (sdk/treu.js and the sample service worker sdk/treu-sw.js), compiled into
// the binary at build time and served to any origin at /sdk/… (docs/sdk.md).
#pragma once

#include <span>
#include <vector>

#include "api/router.hpp"
#include "api/web_file.hpp"

namespace treu::api {

// The files of sdk/ ("/treu.js", "/treu-sw.js"), sorted by path. Generated at build time.
std::span<const WebFile> SdkFiles();

// GET /sdk/treu.js and GET /sdk/treu-sw.js, for ApiRoutes().
std::vector<Route> SdkRoutes();

}  // namespace treu::api
