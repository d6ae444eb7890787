#include "surveys/html.hpp"

#include <cassert>
#include <string>
#include <utility>

namespace treu::survey {
namespace {

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

[[maybe_unused]] bool IsLiteralName(std::string_view name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || IsAsciiDigit(c) || c == '-')) return false;
  }
  return true;
}

}  // namespace

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
