// libFuzzer target for the segment language: ParseSegment, PrintSegment, SameTree, Bind and
// ParseAndBind on arbitrary bytes. Built with clang, AddressSanitizer and
// UndefinedBehaviorSanitizer by fuzz/CMakeLists.txt and run by scripts/fuzz.
//
// Properties checked for every input of at most kMaxInputBytes:
//  - nothing crashes, trips a sanitizer or hangs (libFuzzer's -timeout);
//  - every parse or bind error is kInvalidArgument with the context "segment:LINE:COL", where
//    LINE and COLUMN are at least 1 and point into the text or just past the end of its line
//    (the fuzzer passes no in_segment lookup, so the position-less cycle errors cannot occur);
//  - a tree that parses prints to a canonical text that parses again to a tree SameTree to
//    it, and that prints to the same text again (the printer is a fixed point);
//  - binding the canonical text gives the same verdict as binding the original tree, and a
//    bound tree has a type on every node, a condition type at the root and the same
//    canonical text as before binding.
// A violated property prints the input and what went wrong to stderr and traps, so libFuzzer
// saves the input as a crash artifact.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "segments/ast.hpp"
#include "segments/binder.hpp"
#include "segments/parser.hpp"

namespace {

using treu::Error;
using treu::ErrorCode;
using namespace treu::segment;

// Inputs are bounded well below the parser's own 64 KiB limit so every run stays fast.
constexpr std::size_t kMaxInputBytes = 4096;

// The text with control bytes, quotes and backslashes escaped, for the failure report.
std::string Escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
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
  std::fprintf(stderr, "\nsegment fuzz: property violated: %.*s\n  input: \"%s\"\n  %.*s\n",
               static_cast<int>(what.size()), what.data(), Escaped(input).c_str(),
               static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  __builtin_trap();
}

// Reads a positive decimal number at s[at..], advancing `at`; 0 when there is none.
long ReadPositive(std::string_view s, std::size_t& at) {
  long v = 0;
  std::size_t start = at;
  while (at < s.size() && s[at] >= '0' && s[at] <= '9' && at - start < 9) {
    v = v * 10 + (s[at] - '0');
    ++at;
  }
  return at == start ? 0 : v;
}

// Checks that `err` is a positioned segment error whose position lies in `source`.
void CheckError(std::string_view input, std::string_view source, const Error& err, std::string_view stage) {
  std::string what = std::string(stage) + " error";
  if (err.code() != ErrorCode::kInvalidArgument) {
    Violated(input, what + " is not invalid_argument", err.ToString());
  }
  std::string_view ctx = err.context();
  constexpr std::string_view kPrefix = "segment:";
  if (!ctx.starts_with(kPrefix)) Violated(input, what + " has no \"segment:LINE:COL\" context", err.ToString());
  std::size_t at = kPrefix.size();
  long line = ReadPositive(ctx, at);
  bool ok = line >= 1 && at < ctx.size() && ctx[at] == ':';
  long column = 0;
  if (ok) {
    ++at;
    column = ReadPositive(ctx, at);
    ok = column >= 1 && at == ctx.size();
  }
  if (!ok) Violated(input, what + " has no valid position in its context", err.ToString());

  // The line must exist and the column may be at most one past its last byte.
  std::size_t start = 0;
  for (long l = 1; l < line; ++l) {
    std::size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) Violated(input, what + " points past the last line", err.ToString());
    start = nl + 1;
  }
  std::size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  if (static_cast<std::size_t>(column) > end - start + 1) {
    Violated(input, what + " points past the end of its line", err.ToString());
  }
  if (err.detail().find('^') == std::string::npos) Violated(input, what + " has no caret", err.ToString());
}

bool AllTyped(const Expr& e) {
  if (e.type == Type::kUnbound) return false;
  for (const auto& child : e.children) {
    if (!AllTyped(*child)) return false;
  }
  return true;
}

void CheckInput(std::string_view input) {
  auto parsed = ParseSegment(input);
  if (!parsed) {
    CheckError(input, input, parsed.error(), "parse");
    return;
  }
  const Expr& tree = **parsed;

  // Round trip through the canonical text.
  std::string printed = PrintSegment(tree);
  auto reparsed = ParseSegment(printed);
  if (!reparsed) {
    Violated(input, "the canonical text does not parse",
             "canonical: \"" + Escaped(printed) + "\"\n  error: " + reparsed.error().ToString());
  }
  if (!SameTree(tree, **reparsed)) {
    Violated(input, "the canonical text parses to a different tree", "canonical: \"" + Escaped(printed) + "\"");
  }
  std::string reprinted = PrintSegment(**reparsed);
  if (reprinted != printed) {
    Violated(input, "printing is not a fixed point",
             "first:  \"" + Escaped(printed) + "\"\n  second: \"" + Escaped(reprinted) + "\"");
  }
  if (!SameTree(tree, *Clone(tree))) Violated(input, "a clone differs from its original", printed);

  // Binding: the original tree against the original text, the canonical text through
  // ParseAndBind. Neither has a lookup, so every in_segment(...) is an unknown segment.
  BindOptions options;
  options.source = input;
  auto bound = Bind(Clone(tree), options);
  auto bound_canonical = ParseAndBind(printed);
  if (!bound) CheckError(input, input, bound.error(), "bind");
  if (!bound_canonical) CheckError(input, printed, bound_canonical.error(), "bind (canonical text)");
  if (bound.has_value() != bound_canonical.has_value()) {
    Violated(input, "binding the canonical text gives a different verdict",
             "canonical: \"" + Escaped(printed) + "\"\n  original: " +
                 (bound ? std::string("ok") : bound.error().ToString()) + "\n  canonical: " +
                 (bound_canonical ? std::string("ok") : bound_canonical.error().ToString()));
  }
  if (!bound) return;
  const Expr& b = **bound;
  if (!AllTyped(b)) Violated(input, "a bound tree has an untyped node", printed);
  if (b.type != Type::kBool && b.type != Type::kAny) {
    Violated(input, "a bound tree's root is not a condition", std::string(TypeName(b.type)));
  }
  if (PrintSegment(b) != printed) {
    Violated(input, "binding changed the canonical text", "before: \"" + Escaped(printed) +
                                                              "\"\n  after:  \"" + Escaped(PrintSegment(b)) + "\"");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInputBytes) return -1;  // not added to the corpus
  CheckInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
