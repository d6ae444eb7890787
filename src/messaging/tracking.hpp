// Engagement tracking in an email's HTML: every http(s) link becomes a signed click redirect
// through treu, and a 1×1 open pixel is added — only for customers who have not turned
// tracking off, and only when the workspace tracks engagement. The links are found with an
// HTML parser (libgumbo), never with patterns over the text.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace treu::messaging {

// `html` with the href of every <a> and <area> whose target is an http or https URL
// replaced by `redirect(target)` (targets starting with `keep_prefix`, e.g. treu's own
// unsubscribe and preference pages, stay), and an <img> of `pixel_url` added before </body>
// (or at the end). `redirect` and `pixel_url` return and are URLs that need no escaping
// beyond what this function does (attribute escaping).
std::string AddTracking(std::string_view html, const std::function<std::string(std::string_view target)>& redirect,
                        std::string_view pixel_url, std::string_view keep_prefix);

}  // namespace treu::messaging
