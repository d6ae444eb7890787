#include "messaging/tracking.hpp"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "core/html_escape.hpp"

namespace treu::messaging {
namespace {

struct Splice {
  std::size_t begin = 0, end = 0;  // the attribute value as written, quotes included
  std::string target;              // the decoded URL
};

bool IsWebUrl(std::string_view url) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
  };
  const std::string head = lower(url.substr(0, 8));
  return head.starts_with("http://") || head.starts_with("https://");
}

void Collect(const GumboNode* node, std::string_view html, std::string_view keep_prefix, std::vector<Splice>& out) {
  if (node->type != GUMBO_NODE_ELEMENT) return;
  const GumboElement& e = node->v.element;
  if (e.tag == GUMBO_TAG_A || e.tag == GUMBO_TAG_AREA) {
    const GumboAttribute* href = gumbo_get_attribute(&e.attributes, "href");
    if (href != nullptr && href->original_value.data != nullptr && href->original_value.length > 0) {
      const char* start = href->original_value.data;
      // Only attribute values that lie in the source (not ones gumbo synthesised).
      if (start >= html.data() && start + href->original_value.length <= html.data() + html.size()) {
        std::string_view target = href->value;
        while (!target.empty() && std::isspace(static_cast<unsigned char>(target.front()))) target.remove_prefix(1);
        while (!target.empty() && std::isspace(static_cast<unsigned char>(target.back()))) target.remove_suffix(1);
        if (IsWebUrl(target) && !(!keep_prefix.empty() && target.starts_with(keep_prefix))) {
          const auto begin = static_cast<std::size_t>(start - html.data());
          out.push_back({begin, begin + href->original_value.length, std::string(target)});
        }
      }
    }
  }
  for (unsigned i = 0; i < e.children.length; ++i) {
    Collect(static_cast<const GumboNode*>(e.children.data[i]), html, keep_prefix, out);
  }
}

std::size_t BodyEnd(std::string_view html) {
  std::string lower(html);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto at = lower.rfind("</body");
  return at == std::string::npos ? html.size() : at;
}

}  // namespace

std::string AddTracking(std::string_view html, const std::function<std::string(std::string_view target)>& redirect,
                        std::string_view pixel_url, std::string_view keep_prefix) {
  std::vector<Splice> splices;
  GumboOutput* doc = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  Collect(doc->root, html, keep_prefix, splices);
  gumbo_destroy_output(&kGumboDefaultOptions, doc);

  struct Edit {
    std::size_t begin = 0, end = 0;
    std::string text;
  };
  std::vector<Edit> edits;
  edits.reserve(splices.size() + 1);
  for (const Splice& s : splices) {
    edits.push_back({s.begin, s.end, "\"" + EscapeAttribute(redirect(s.target)) + "\""});
  }
  if (!pixel_url.empty()) {
    std::size_t at = BodyEnd(html);
    // "</body" written inside an attribute value is not the end of the body.
    for (const Splice& s : splices) {
      if (s.begin < at && at < s.end) at = html.size();
    }
    edits.push_back({at, at, "<img src=\"" + EscapeAttribute(pixel_url) + "\" width=\"1\" height=\"1\" alt=\"\">"});
  }
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });

  std::string out;
  out.reserve(html.size() + edits.size() * 120);
  std::size_t at = 0;
  for (const Edit& e : edits) {
    if (e.begin < at) continue;
    out.append(html.substr(at, e.begin - at)).append(e.text);
    at = e.end;
  }
  out.append(html.substr(at));
  return out;
}

}  // namespace treu::messaging
