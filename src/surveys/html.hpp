// HTML output with escaping as the default: a small builder (Html) through which every
// user-provided string is escaped unless the caller writes a compile-time markup literal. The
// escaping functions for text, attribute values and URLs are core's (core/html_escape.hpp).
//
// All functions here are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/html_escape.hpp"

namespace treu::survey {

// The escaping functions live in core/html_escape.hpp; survey code names them unqualified.
using treu::EscapeAttribute;
using treu::EscapeHtml;
using treu::kInvalidUrl;
using treu::SafeUrl;
using treu::SanitizeUtf8;
using treu::UrlEncode;

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
