// Runs the declarative cases in testdata/segments.test (format described at its top).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "segments/binder.hpp"
#include "segments/parser.hpp"

#ifndef TREU_SEGMENT_TESTS
#error "define TREU_SEGMENT_TESTS as the path of src/segments/testdata/segments.test"
#endif

namespace treu::segment {
namespace {

struct Case {
  std::string name;
  int line = 0;
  std::string save_as;   // "=== save NAME"
  std::string text;
  std::string expect;    // "ok" or "error"
  std::string expected;  // canonical text or error message
};

std::string Join(const std::vector<std::string>& lines) {
  std::vector<std::string> trimmed = lines;
  while (!trimmed.empty() && trimmed.back().empty()) trimmed.pop_back();
  std::string out;
  for (std::size_t i = 0; i < trimmed.size(); ++i) out += (i ? "\n" : "") + trimmed[i];
  return out;
}

std::vector<Case> ReadCases(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<Case> cases;
  std::vector<std::string> text, expected;
  bool in_expected = false;
  auto flush = [&] {
    if (cases.empty()) return;
    cases.back().text = Join(text);
    cases.back().expected = Join(expected);
    text.clear();
    expected.clear();
    in_expected = false;
  };
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("=== ")) {
      flush();
      Case c;
      c.name = line.substr(4);
      c.line = number;
      if (c.name.starts_with("save ")) c.save_as = c.name.substr(5);
      cases.push_back(std::move(c));
    } else if (cases.empty()) {
      continue;  // header comments
    } else if (line.starts_with("--- ")) {
      cases.back().expect = line.substr(4);
      in_expected = true;
    } else {
      (in_expected ? expected : text).push_back(line);
    }
  }
  flush();
  return cases;
}

TEST(ScriptTest, Cases) {
  std::vector<Case> cases = ReadCases(TREU_SEGMENT_TESTS);
  ASSERT_GT(cases.size(), 10u);
  std::map<std::string, std::pair<std::string, ExprPtr>> saved;
  SegmentLookup lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    auto it = saved.find(std::string(name));
    if (it == saved.end()) return std::nullopt;
    return SavedSegment{it->second.second.get(), it->second.first};
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("segments.test:" + std::to_string(c.line) + ": " + c.name);
    if (!c.save_as.empty()) {
      auto e = ParseSegment(c.text);
      ASSERT_TRUE(e) << e.error().ToString();
      saved[c.save_as] = {c.text, std::move(*e)};
      continue;
    }
    auto e = ParseAndBind(c.text, {.source = {}, .lookup = lookup, .self_name = ""});
    if (c.expect == "ok") {
      ASSERT_TRUE(e) << e.error().ToString();
      EXPECT_EQ(PrintSegment(**e), c.expected);
    } else {
      ASSERT_EQ(c.expect, "error");
      ASSERT_FALSE(e) << PrintSegment(**e);
      EXPECT_EQ(e.error().ToString(), c.expected);
    }
  }
}

}  // namespace
}  // namespace treu::segment
