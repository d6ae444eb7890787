// Test support for the HTML escaper: the inverse of its entities. Header-only, included by
// *_test.cpp only.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace treu::html_testing {

// Decodes the entities the escaper writes (&amp; &lt; &gt; &quot; &#39; &#96;), nothing else.
inline std::string Unescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
      {"&quot;", '"'}, {"&#39;", '\''}, {"&#96;", '`'}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool matched = false;
    for (const auto& [entity, c] : kEntities) {
      if (s.substr(i).starts_with(entity)) {
        out += c;
        i += entity.size();
        matched = true;
        break;
      }
    }
    if (!matched) out += s[i++];
  }
  return out;
}

}  // namespace treu::html_testing
