#include "net/curl_support.hpp"

#include <mutex>
#include <string>

namespace treu::net {

Status InitCurl(std::string_view context) {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return Internal(std::string(context), std::string("libcurl failed to start: ") + curl_easy_strerror(result));
  }
  return {};
}

}  // namespace treu::net
