// libFuzzer target for message templates: Template::Parse in both modes on arbitrary bytes,
// and Render of what parses against fixed data. Built with clang, AddressSanitizer and
// UndefinedBehaviorSanitizer by fuzz/CMakeLists.txt and run by scripts/fuzz.
//
// Properties checked for every input of at most kMaxInputBytes:
//  - nothing crashes, trips a sanitizer or hangs (libFuzzer's -timeout);
//  - every parse error is kInvalidArgument with the context "template:LINE:COL" whose line
//    exists and whose column (in code points) is at most one past the end of that line, a
//    detail with a caret, and AsTemplateError gives back the same position;
//  - every Variables() entry has a position inside the text and a non-empty path;
//  - a template that parses renders either to a string or to kResourceExhausted, the same way
//    twice (rendering is deterministic), to at most kMaxOutputBytes of valid UTF-8.
// A violated property prints the input and what went wrong to stderr and traps, so libFuzzer
// saves the input as a crash artifact.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/html_escape.hpp"
#include "core/status.hpp"
#include "messaging/template.hpp"

namespace {

using namespace treu;
using namespace treu::messaging;

constexpr std::size_t kMaxInputBytes = 4096;

std::string Escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

[[noreturn]] void Violated(std::string_view input, std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\ntemplate fuzz: property violated: %.*s\n  input: \"%s\"\n  %.*s\n",
               static_cast<int>(what.size()), what.data(), Escaped(input).c_str(), static_cast<int>(detail.size()),
               detail.data());
  std::fflush(stderr);
  __builtin_trap();
}

// Code points in line `line` (1-based) of `text`, or -1 if there is no such line.
long LineLength(std::string_view text, long line) {
  std::size_t start = 0;
  for (long l = 1; l < line; ++l) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return -1;
    start = nl + 1;
  }
  std::size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  long n = 0;
  for (std::size_t i = start; i < end; ++i) n += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  return n;
}

void CheckPosition(std::string_view input, long line, long column, std::string_view what) {
  const long length = line >= 1 ? LineLength(input, line) : -1;
  if (length < 0 || column < 1 || column > length + 1) {
    Violated(input, std::string(what) + " points outside the text",
             std::to_string(line) + ":" + std::to_string(column));
  }
}

const Value& Data() {
  static const Value data = Value::MakeObject({
      {"customer", Value::MakeObject({{"first_name", "Zoë"},
                                      {"last_name", "<b>O'Neil</b> & \"co\""},
                                      {"points", 1250},
                                      {"balance", -12.5},
                                      {"url", "javascript:alert(1)"},
                                      {"tags", Value::MakeArray({"vip", "a b", "日本語"})},
                                      {"signed_up", Timestamp::FromSeconds(1711846800)}})},
      {"orders", Value::MakeArray({Value::MakeObject({{"id", 1}, {"total", 19.99}, {"items", Value::MakeArray({1, 2})}}),
                                   Value::MakeObject({{"id", 2}, {"total", 5}}), Value()})},
      {"name", "x"},
      {"a", true},
      {"b", false},
      {"n", 3},
      {"s", "2024-03-31T01:30:00"},
      {"empty", Value::Array()},
      {"big", 9223372036854775807LL},
  });
  return data;
}

const RenderContext& Context() {
  static const RenderContext ctx = [] {
    auto zone = TimeZone::Find("Europe/Berlin");
    auto made = RenderContext::Make(zone ? *zone : TimeZone::Utc(), "de-DE", "EUR", Timestamp::FromSeconds(1709294400));
    return made ? *made : RenderContext();
  }();
  return ctx;
}

void CheckMode(std::string_view input, Mode mode) {
  const char* mode_name = mode == Mode::kHtml ? "html" : "text";
  auto parsed = Template::Parse(input, mode);
  if (!parsed) {
    const Error& err = parsed.error();
    if (err.code() != ErrorCode::kInvalidArgument) Violated(input, "a parse error is not invalid_argument", err.ToString());
    const auto e = AsTemplateError(err);
    if (!e) Violated(input, "AsTemplateError does not take a parse error apart", err.ToString());
    if (e->message.empty()) Violated(input, "a parse error has no message", err.ToString());
    if (e->line == 0) {
      if (input.size() <= kMaxTemplateBytes) Violated(input, "a parse error has no position", err.ToString());
      return;
    }
    CheckPosition(input, e->line, e->column, "a parse error");
    if (err.context() != "template:" + std::to_string(e->line) + ":" + std::to_string(e->column)) {
      Violated(input, "the context differs from the parsed position", err.ToString());
    }
    if (err.detail().find('^') == std::string::npos) Violated(input, "a parse error has no caret", err.ToString());
    return;
  }
  for (const VariableUse& v : parsed->Variables()) {
    if (v.path.empty()) Violated(input, "a variable with an empty path", mode_name);
    CheckPosition(input, v.line, v.column, "a variable");
  }
  auto first = parsed->Render(Data(), Context());
  auto second = parsed->Render(Data(), Context());
  if (first.has_value() != second.has_value() || (first && *first != *second) ||
      (!first && first.error().ToString() != second.error().ToString())) {
    Violated(input, "rendering twice gives different results", mode_name);
  }
  if (!first) {
    if (first.error().code() != ErrorCode::kResourceExhausted) {
      Violated(input, "a render error is not resource_exhausted", first.error().ToString());
    }
    return;
  }
  if (first->size() > kMaxOutputBytes) Violated(input, "the output is larger than the limit", mode_name);
  if (SanitizeUtf8(*first) != *first) Violated(input, "the output is not valid UTF-8", Escaped(*first));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInputBytes) return -1;  // not added to the corpus
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckMode(input, Mode::kHtml);
  CheckMode(input, Mode::kText);
  return 0;
}
