#include "core/html_escape.hpp"

#include <array>
#include <cstdint>

namespace treu {
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

// Bytes that pass through Escape unchanged: printable ASCII other than the escaped
// characters, TAB, LF, FF and CR. Index 0 is for text, 1 for attribute values.
constexpr std::array<std::array<bool, 256>, 2> MakePlainTable() {
  std::array<std::array<bool, 256>, 2> table{};
  for (int attribute = 0; attribute < 2; ++attribute) {
    for (int b = 0x20; b < 0x7F; ++b) table[attribute][b] = true;
    for (int b : {'\t', '\n', '\f', '\r'}) table[attribute][b] = true;
    for (int b : {'&', '<', '>', '"', '\''}) table[attribute][b] = false;
  }
  table[1]['`'] = false;
  return table;
}
constexpr auto kPlain = MakePlainTable();

void Escape(std::string& out, std::string_view text, bool attribute) {
  const auto& plain = kPlain[attribute ? 1 : 0];
  std::size_t pos = 0;
  while (pos < text.size()) {
    // The common case: a run of bytes that need nothing.
    std::size_t run = pos;
    while (run < text.size() && plain[static_cast<unsigned char>(text[run])]) ++run;
    if (run > pos) {
      out.append(text.data() + pos, run - pos);
      pos = run;
      if (pos == text.size()) break;
    }
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
          out += "&#96;";  // only reached for attribute values
          break;
        default:
          out += static_cast<char>(step.code_point);
      }
    }
    pos += step.length;
  }
}

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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

void AppendEscapedHtml(std::string& out, std::string_view text) {
  Escape(out, text, /*attribute=*/false);
}

void AppendEscapedAttribute(std::string& out, std::string_view value) {
  Escape(out, value, /*attribute=*/true);
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  AppendEscapedHtml(out, text);
  return out;
}

std::string EscapeAttribute(std::string_view value) {
  std::string out;
  out.reserve(value.size() + value.size() / 8);
  AppendEscapedAttribute(out, value);
  return out;
}

void AppendUrlEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
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
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  AppendUrlEncoded(out, text);
  return out;
}

bool IsSafeUrl(std::string_view url) {
  // The URL as a browser parses it: leading C0 controls and spaces stripped, TAB/LF/CR removed.
  // Only the scheme matters, so at most the bytes up to the first ':', '/', '?' or '#'.
  std::size_t start = 0;
  while (start < url.size() && static_cast<unsigned char>(url[start]) <= 0x20) ++start;
  std::string scheme;
  for (char c : url.substr(start)) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '/' || c == '?' || c == '#') return true;  // no scheme: a relative reference
    if (c == ':') {
      static constexpr std::array<std::string_view, 3> kAllowed = {"http", "https", "mailto"};
      for (std::string_view allowed : kAllowed) {
        if (scheme == allowed) return true;
      }
      return false;
    }
    if (scheme.size() <= 8) scheme += AsciiLower(c);  // longer than any allowed scheme
  }
  return true;  // no ':' at all
}

std::string SafeUrl(std::string_view url) {
  return IsSafeUrl(url) ? std::string(url) : std::string(kInvalidUrl);
}

}  // namespace treu
