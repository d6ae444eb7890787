// Escaping for HTML output: text nodes, quoted attribute values and URLs. Shared by every
// module that writes HTML (survey pages, message templates), so none of them depends on
// another for it.
//
// All functions here are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace treu {

// Returns `text` as valid UTF-8: every ill-formed sequence becomes one U+FFFD per maximal
// subpart (the WHATWG decoder's rule), so a broken sequence never swallows the byte after it.
std::string SanitizeUtf8(std::string_view text);

// Escapes `text` for an HTML text node or an RCDATA element (<title>, <textarea>):
// & < > " ' become &amp; &lt; &gt; &quot; &#39;. Invalid UTF-8 is replaced as in SanitizeUtf8;
// NUL, the other C0 controls except TAB, LF, FF and CR, DEL and the C1 controls (U+0080 to
// U+009F) become U+FFFD. Never safe inside <script> or <style> (raw text elements).
std::string EscapeHtml(std::string_view text);

// Escapes `value` for a quoted attribute value (single or double quotes): as EscapeHtml and
// additionally ` becomes &#96;. Does not make a URL safe to follow; see SafeUrl.
std::string EscapeAttribute(std::string_view value);

// Percent-encodes every byte of `text` except the RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), with upper-case hex digits: "a b&c" → "a%20b%26c". Bytes are encoded
// as they are; the input is not required to be UTF-8.
std::string UrlEncode(std::string_view text);

// The same three, appending to `out` instead of returning a new string (for renderers that
// build one document in one buffer).
void AppendEscapedHtml(std::string& out, std::string_view text);
void AppendEscapedAttribute(std::string& out, std::string_view value);
void AppendUrlEncoded(std::string& out, std::string_view text);

// The URL that SafeUrl returns in place of one it rejects.
inline constexpr std::string_view kInvalidUrl = "about:invalid";

// Returns `url` unchanged if following it cannot run script: its scheme is http, https or
// mailto (any case), or it has no scheme (relative, "?a=1", "#top", "//host/path"). Anything
// else (javascript:, vbscript:, data:, unknown schemes) gives kInvalidUrl. Leading C0 controls
// and spaces and embedded TAB, LF and CR are ignored when finding the scheme, as browsers do.
// The result still needs EscapeAttribute.
std::string SafeUrl(std::string_view url);

// True if SafeUrl keeps `url` as it is (false: it would return kInvalidUrl).
bool IsSafeUrl(std::string_view url);

}  // namespace treu
