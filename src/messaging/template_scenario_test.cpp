// Runs the template scenarios in test/logic/templates/*.txt. Each file is a list of cases:
//
//   === name of the case
//   mode: html                     (or text, the default)
//   context: Europe/Berlin de-DE EUR 2024-03-01T12:00:00Z
//                                  (zone, locale, currency, now; default UTC en-US USD and
//                                  that instant)
//   data: {"customer": {"first_name": "Ada"}}
//   --- data                       (instead of data:, for JSON over several lines)
//   --- template
//   Hello {{ customer.first_name | default: "there" }}!
//   --- expect                     (the output)
//   Hello Ada!
//   --- error                      (or: the error, "LINE:COL message" for a parse error,
//   1:17 unknown filter 'upcse'     "render: <error>" for a render error)
//
// A block runs to the next "---" or "===" line; its trailing empty lines are dropped and it has
// no final newline. In expect blocks, \u{A0} stands for the code point U+00A0. In the JSON data,
// {"$time": "2024-03-01T12:00:00Z"} is a time value. Lines starting with '#' outside blocks
// are comments.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "messaging/template.hpp"

namespace treu::messaging {
namespace {

struct Scenario {
  std::string file;
  int line = 0;
  std::string name;
  Mode mode = Mode::kText;
  std::string context = "UTC en-US USD 2024-03-01T12:00:00Z";
  std::string data = "{}";
  std::string source;
  std::string expect;
  bool expect_error = false;
};

std::string JoinBlock(std::vector<std::string> lines) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    out += lines[i];
  }
  return out;
}

// Replaces \u{HEX} by the code point in UTF-8.
std::string DecodeEscapes(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::size_t close = s.find('}', i);
    if (s.compare(i, 3, "\\u{") == 0 && close != std::string::npos) {
      const unsigned long cp = std::stoul(s.substr(i + 3, close - i - 3), nullptr, 16);
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i = close;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<Scenario> LoadScenarios(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Scenario> out;
  std::string line;
  int number = 0;
  std::string block;  // name of the open block, or empty
  std::vector<std::string> lines;
  auto finish_block = [&] {
    if (block.empty() || out.empty()) return;
    Scenario& s = out.back();
    const std::string text = JoinBlock(lines);
    if (block == "template") {
      s.source = text;
    } else if (block == "expect") {
      s.expect = DecodeEscapes(text);
    } else if (block == "error") {
      s.expect = text;
      s.expect_error = true;
    } else if (block == "data") {
      s.data = text;
    } else {
      ADD_FAILURE() << path << ":" << number << ": unknown block '" << block << "'";
    }
    block.clear();
    lines.clear();
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("=== ")) {
      finish_block();
      Scenario s;
      s.file = path.filename().string();
      s.line = number;
      s.name = line.substr(4);
      out.push_back(s);
    } else if (line.starts_with("--- ")) {
      finish_block();
      block = line.substr(4);
    } else if (!block.empty()) {
      lines.push_back(line);
    } else if (line.empty() || line.starts_with("#")) {
      continue;
    } else if (out.empty()) {
      ADD_FAILURE() << path << ":" << number << ": text before the first case";
    } else if (line.starts_with("mode: ")) {
      const std::string mode = line.substr(6);
      EXPECT_TRUE(mode == "html" || mode == "text") << path << ":" << number;
      out.back().mode = mode == "html" ? Mode::kHtml : Mode::kText;
    } else if (line.starts_with("context: ")) {
      out.back().context = line.substr(9);
    } else if (line.starts_with("data: ")) {
      out.back().data = line.substr(6);
    } else {
      ADD_FAILURE() << path << ":" << number << ": unexpected line: " << line;
    }
  }
  finish_block();
  return out;
}

Value FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned: return Value(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Value::Array a;
      for (const auto& e : j) a.push_back(FromJson(e));
      return Value(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      if (j.size() == 1 && j.contains("$time")) {
        auto t = ParseTimestamp(j["$time"].get<std::string>(), TimeZone::Utc());
        EXPECT_TRUE(t.has_value()) << j.dump();
        return Value(t.value_or(Timestamp{}));
      }
      Value::Object o;
      for (const auto& [k, v] : j.items()) o.push_back(Value::Member{k, FromJson(v)});
      return Value(std::move(o));
    }
    default: return Value();
  }
}

std::optional<RenderContext> ParseContext(const std::string& text) {
  std::istringstream in(text);
  std::string zone, locale, currency, now;
  in >> zone >> locale >> currency >> now;
  auto tz = TimeZone::Find(zone);
  auto t = ParseTimestamp(now, TimeZone::Utc());
  if (!tz || !t) return std::nullopt;
  auto ctx = RenderContext::Make(*tz, locale, currency, *t);
  if (!ctx) return std::nullopt;
  return *ctx;
}

std::string RunScenario(const Scenario& s) {
  auto t = Template::Parse(s.source, s.mode);
  if (!t) {
    auto e = AsTemplateError(t.error());
    if (!e) return "not a template error: " + t.error().ToString();
    return std::to_string(e->line) + ":" + std::to_string(e->column) + " " + e->message;
  }
  const auto ctx = ParseContext(s.context);
  if (!ctx) return "bad context: " + s.context;
  const auto json = nlohmann::ordered_json::parse(s.data, nullptr, false);
  if (json.is_discarded()) return "bad JSON data";
  auto out = t->Render(FromJson(json), *ctx);
  if (!out) return "render: " + out.error().ToString();
  return *out;
}

TEST(TemplateScenarioTest, AllScenariosPass) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(TREU_TEMPLATE_SCENARIOS)) {
    if (entry.path().extension() == ".txt" && entry.path().filename() != "xss_payloads.txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << TREU_TEMPLATE_SCENARIOS;
  int count = 0;
  for (const auto& file : files) {
    for (const Scenario& s : LoadScenarios(file)) {
      ++count;
      SCOPED_TRACE(s.file + ":" + std::to_string(s.line) + ": " + s.name);
      const std::string got = RunScenario(s);
      EXPECT_EQ(got, s.expect) << (s.expect_error ? "(an error was expected)" : "");
    }
  }
  EXPECT_GE(count, 60);
}

}  // namespace
}  // namespace treu::messaging
