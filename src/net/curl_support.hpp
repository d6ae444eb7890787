// What every libcurl user here shares: the one global initialisation, and owning handles that
// free libcurl's objects.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string_view>

#include "core/status.hpp"

namespace treu::net {

// Initialises libcurl once per process (thread-safe); Internal with libcurl's reason, under
// `context`, when that failed.
Status InitCurl(std::string_view context);

struct CurlDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  void operator()(char* text) const { curl_free(text); }
};
using EasyHandle = std::unique_ptr<CURL, CurlDeleter>;
using UrlHandle = std::unique_ptr<CURLU, CurlDeleter>;
using SList = std::unique_ptr<curl_slist, CurlDeleter>;
using CurlString = std::unique_ptr<char, CurlDeleter>;

}  // namespace treu::net
