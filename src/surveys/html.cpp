#include "surveys/html.hpp"

#include <array>
#include <cassert>
#include <string>
#include <utility>

namespace treu::survey {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// One step of UTF-8 decoding at `pos`: either a well-formed sequence of `length` bytes with
// code point `code_point`, or an ill-formed maximal subpart of `length` bytes (valid false)
// that stands for one U+FFFD.
struct Utf8Step {
  bool valid;
  std::size_t length;
  char32_t code_point;
};

Utf8Step DecodeStep(std::string_view s, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return {true, 1, lead};

  std::size_t needed = 0;      // continuation bytes after the lead byte
  unsigned char lower = 0x80;  // bounds of the first continuation byte
  unsigned char upper = 0xBF;
  char32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    code_point = lead & 0x0F;
    if (lead == 0xE0) lower = 0xA0;  // no overlong forms
    if (lead == 0xED) upper = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    code_point = lead & 0x07;
    if (lead == 0xF0) lower = 0x90;  // no overlong forms
    if (lead == 0xF4) upper = 0x8F;  // nothing above U+10FFFF
  } else {
    return {false, 1, 0};  // a continuation byte, C0, C1 or F5..FF as lead byte
  }

  std::size_t i = pos + 1;
  for (std::size_t k = 0; k < needed; ++k, ++i) {
    if (i >= s.size()) return {false, i - pos, 0};
    const unsigned char b = byte(i);
    if (b < lower || b > upper) return {false, i - pos, 0};
    code_point = (code_point << 6) | (b & 0x3F);
    lower = 0x80;
    upper = 0xBF;
  }
  return {true, needed + 1, code_point};
}

bool IsDisallowedControl(char32_t c) {
  if (c < 0x20) return c != '\t' && c != '\n' && c != '\f' && c != '\r';
  return c >= 0x7F && c <= 0x9F;
}

std::string Escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Utf8Step step = DecodeStep(text, pos);
    if (!step.valid || IsDisallowedControl(step.code_point)) {
      out += kReplacement;
    } else if (step.length > 1) {
      out.append(text.substr(pos, step.length));
    } else {
      switch (step.code_point) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '`':
          if (attribute) {
            out += "&#96;";
          } else {
            out += '`';
          }
          break;
        default:
          out += static_cast<char>(step.code_point);
      }
    }
    pos += step.length;
  }
  return out;
}

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

[[maybe_unused]] bool IsLiteralName(std::string_view name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || IsAsciiDigit(c) || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Utf8Step step = DecodeStep(text, pos);
    if (step.valid) {
      out.append(text.substr(pos, step.length));
    } else {
      out += kReplacement;
    }
    pos += step.length;
  }
  return out;
}

std::string EscapeHtml(std::string_view text) { return Escape(text, /*attribute=*/false); }

std::string EscapeAttribute(std::string_view value) { return Escape(value, /*attribute=*/true); }

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    if (IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    }
  }
  return out;
}

std::string SafeUrl(std::string_view url) {
  // The URL as a browser parses it: leading C0 controls and spaces stripped, TAB/LF/CR removed.
  std::string parsed;
  std::size_t start = 0;
  while (start < url.size() && static_cast<unsigned char>(url[start]) <= 0x20) ++start;
  for (char c : url.substr(start)) {
    if (c != '\t' && c != '\n' && c != '\r') parsed += c;
  }

  const std::size_t end = parsed.find_first_of(":/?#");
  if (end == std::string::npos || parsed[end] != ':') {
    return std::string(url);  // no scheme: a relative reference
  }
  std::string scheme;
  for (char c : std::string_view(parsed).substr(0, end)) scheme += AsciiLower(c);
  static constexpr std::array<std::string_view, 3> kAllowed = {"http", "https", "mailto"};
  for (std::string_view allowed : kAllowed) {
    if (scheme == allowed) return std::string(url);
  }
  return std::string(kInvalidUrl);
}

void Html::FinishStartTag() {
  if (in_start_tag_) {
    out_ += '>';
    in_start_tag_ = false;
  }
}

Html& Html::Open(std::string_view tag) {
  assert(IsLiteralName(tag));
  FinishStartTag();
  out_ += '<';
  out_ += tag;
  in_start_tag_ = true;
  return *this;
}

Html& Html::Attr(std::string_view name, std::string_view value) {
  assert(in_start_tag_);
  assert(IsLiteralName(name));
  out_ += ' ';
  out_ += name;
  out_ += "=\"";
  out_ += EscapeAttribute(value);
  out_ += '"';
  return *this;
}

Html& Html::Attr(std::string_view name, int value) { return Attr(name, std::to_string(value)); }

Html& Html::Flag(std::string_view name, bool on) {
  assert(in_start_tag_);
  assert(IsLiteralName(name));
  if (on) {
    out_ += ' ';
    out_ += name;
  }
  return *this;
}

Html& Html::UrlAttr(std::string_view name, std::string_view url) {
  return Attr(name, SafeUrl(url));
}

Html& Html::Text(std::string_view text) {
  FinishStartTag();
  out_ += EscapeHtml(text);
  return *this;
}

Html& Html::Raw(Markup markup) {
  FinishStartTag();
  out_ += markup.text();
  return *this;
}

Html& Html::Style(std::string_view css) {
  FinishStartTag();
  out_ += "<style>";
  for (char c : css) {
    if (c != '<') out_ += c;
  }
  out_ += "</style>";
  return *this;
}

Html& Html::Close(std::string_view tag) {
  assert(IsLiteralName(tag));
  FinishStartTag();
  out_ += "</";
  out_ += tag;
  out_ += '>';
  return *this;
}

std::string Html::Take() {
  FinishStartTag();
  std::string out = std::move(out_);
  out_.clear();
  return out;
}

}  // namespace treu::survey
