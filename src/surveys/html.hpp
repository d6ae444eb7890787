// HTML output with escaping as the default: escaping functions for text, attribute values and
// URLs, and a small builder (Html) through which every user-provided string is escaped unless
// the caller writes a compile-time markup literal.
//
// All functions here are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace treu::survey {

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

// The URL that SafeUrl returns in place of one it rejects.
inline constexpr std::string_view kInvalidUrl = "about:invalid";

// Returns `url` unchanged if following it cannot run script: its scheme is http, https or
// mailto (any case), or it has no scheme (relative, "?a=1", "#top", "//host/path"). Anything
// else (javascript:, vbscript:, data:, unknown schemes) gives kInvalidUrl. Leading C0 controls
// and spaces and embedded TAB, LF and CR are ignored when finding the scheme, as browsers do.
// The result still needs EscapeAttribute.
std::string SafeUrl(std::string_view url);

// A fragment of markup known at compile time. The constructor is consteval, so only string
// literals (and other constant expressions) can become Markup; a runtime string cannot.
class Markup {
 public:
  template <std::size_t N>
  consteval Markup(const char (&literal)[N]) : text_(literal, N - 1) {}  // NOLINT: implicit

  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

// Builds an HTML string. Open("p") writes "<p"; Attr/Flag/UrlAttr add attributes to that start
// tag until the next call that writes content (Open, Text, Raw, Style, Close, Take), which first
// writes the ">". Void elements (input, meta) need no Close.
//
//   Html h;
//   h.Open("label").Attr("for", id).Text(label).Close("label");
//
// Tag and attribute names must be literal lower-case names ([a-z][a-z0-9-]*); this is checked
// in debug builds only, as names never come from input. Not thread-safe; one builder per
// document.
class Html {
 public:
  // Starts an element: writes "<tag".
  Html& Open(std::string_view tag);

  // Adds ` name="value"` with the value escaped by EscapeAttribute.
  // REQUIRES: inside a start tag (directly after Open or another attribute).
  Html& Attr(std::string_view name, std::string_view value);
  Html& Attr(std::string_view name, int value);

  // Adds a boolean attribute ` name` when `on`.
  Html& Flag(std::string_view name, bool on = true);

  // Adds ` name="SafeUrl(url)"`, escaped.
  Html& UrlAttr(std::string_view name, std::string_view url);

  // Writes escaped text (EscapeHtml).
  Html& Text(std::string_view text);

  // Writes markup that is a compile-time literal, unescaped.
  Html& Raw(Markup markup);

  // Writes a complete <style> element whose content is `css` with every '<' removed, so the
  // element cannot be closed early. `css` should never contain '<' in the first place.
  Html& Style(std::string_view css);

  // Writes "</tag>".
  Html& Close(std::string_view tag);

  // Returns the document so far and leaves the builder empty.
  std::string Take();

 private:
  void FinishStartTag();

  std::string out_;
  bool in_start_tag_ = false;
};

}  // namespace treu::survey
