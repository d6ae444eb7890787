// Message templates: Liquid syntax (as Shopify writes it) for personalised emails and texts.
// A template is parsed and checked once, when it is saved, and rendered many times, from
// many threads, against one data Value per recipient. The language is described for users
// in docs/templates.md.
//
//   TREU_ASSIGN_OR_RETURN(Template t, Template::Parse(source, Mode::kHtml));
//   TREU_ASSIGN_OR_RETURN(RenderContext ctx, RenderContext::Make(zone, "de-DE", "EUR", now));
//   Value data = Value::MakeObject({{"customer", Value::MakeObject({{"first_name", "Ada"}})}});
//   TREU_ASSIGN_OR_RETURN(std::string html, t.Render(data, ctx));
//
// Errors. Everything that can be wrong with a template is found by Parse: syntax, unknown tags
// and filters, wrong argument counts, unclosed blocks, and (in HTML mode) output in a place
// where no escaping makes it safe. Render fails only when a limit below is reached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::messaging {

// Limits that keep hostile templates and hostile data bounded.
inline constexpr std::size_t kMaxTemplateBytes = 256 * 1024;  // Parse: source size
inline constexpr int kMaxBlockDepth = 64;                     // Parse: nested if/unless/for
inline constexpr int kMaxLookupDepth = 16;                    // Parse: a[b[c[...]]]
inline constexpr std::int64_t kMaxLoopIterations = 100'000;   // Render: all loops together
inline constexpr std::int64_t kMaxRenderSteps = 4'000'000;    // Render: nodes, conditions and
                                                              // filters evaluated
inline constexpr std::size_t kMaxOutputBytes = 2 * 1024 * 1024;  // Render: output, and any
                                                                  // string a filter makes
inline constexpr std::int64_t kMaxWorkBytes = 64 * 1024 * 1024;  // Render: bytes read and
                                                                 // written by filters and
                                                                 // comparisons

// The data a template reads: null, bool, integer, double, string, time, array or object.
// Objects are small vectors of members looked up linearly (cheap to build, fast for the
// handful of keys a recipient has); a key set twice keeps its first value. Strings are UTF-8
// by intent; invalid bytes are replaced when HTML-escaped and kept as they are in text mode.
// A Value is immutable while templates read it, so one Value may be rendered from many
// threads at once.
class Value {
 public:
  struct Member;
  using Array = std::vector<Value>;
  using Object = std::vector<Member>;
  enum class Kind : std::uint8_t { kNull, kBool, kInteger, kDouble, kString, kTime, kArray, kObject };

  Value() = default;  // null
  // Implicit, so data can be written as Value::MakeObject({{"points", 120}, ...}).
  Value(std::nullptr_t);      // NOLINT
  Value(bool b);              // NOLINT
  Value(int i);               // NOLINT
  Value(long i);              // NOLINT
  Value(long long i);         // NOLINT
  Value(double d);            // NOLINT
  Value(std::string s);       // NOLINT
  Value(std::string_view s);  // NOLINT
  Value(const char* s);       // NOLINT
  Value(Timestamp t);         // NOLINT
  Value(Array a);             // NOLINT
  Value(Object o);            // NOLINT

  static Value MakeArray(std::initializer_list<Value> items);
  static Value MakeObject(std::initializer_list<Member> members);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }

  // REQUIRES: the matching kind.
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  Timestamp as_time() const { return std::get<Timestamp>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }

  // The member `key` of an object, or nullptr (also when this is not an object).
  const Value* Find(std::string_view key) const;
  // Appends a member; makes a null Value an empty object first. Returns the new value.
  // REQUIRES: null or object.
  Value& Set(std::string key, Value value);
  // Appends an element; makes a null Value an empty array first. Returns the new element.
  // REQUIRES: null or array.
  Value& Push(Value value);

  bool operator==(const Value& other) const;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Timestamp, Array, Object> v_;
};

struct Value::Member {
  std::string key;
  Value value;
};

// Defined here, where Member is complete (the variant's constructors need it).
inline Value::Value(std::nullptr_t) {}
inline Value::Value(bool b) : v_(b) {}
inline Value::Value(int i) : v_(std::int64_t{i}) {}
inline Value::Value(long i) : v_(std::int64_t{i}) {}
inline Value::Value(long long i) : v_(std::int64_t{i}) {}
inline Value::Value(double d) : v_(d) {}
inline Value::Value(std::string s) : v_(std::move(s)) {}
inline Value::Value(std::string_view s) : v_(std::string(s)) {}
inline Value::Value(const char* s) : v_(std::string(s)) {}
inline Value::Value(Timestamp t) : v_(t) {}
inline Value::Value(Array a) : v_(std::move(a)) {}
inline Value::Value(Object o) : v_(std::move(o)) {}

// Where and how a template is rendered. Built once (per workspace or send batch) and shared:
// immutable and thread-safe. Copies are cheap (the ICU number formatter is shared).
class RenderContext {
 public:
  // `locale` is a BCP 47 tag ("de-DE", "en-US", "ja-JP"); `currency` an ISO 4217 code, the
  // money filter's default; `now` is what the date filter's "now" and "today" mean.
  // Fails with InvalidArgument for an unknown currency or a malformed locale tag.
  static Result<RenderContext> Make(TimeZone time_zone, std::string_view locale,
                                    std::string_view currency, Timestamp now);
  // UTC, en-US, USD, now = the Unix epoch.
  RenderContext();

  const TimeZone& time_zone() const { return time_zone_; }
  const std::string& locale() const { return locale_; }
  std::string_view currency() const { return currency_; }
  Timestamp now() const { return now_; }

  struct MoneyFormat;  // ICU's formatter for (locale, currency); defined in template.cpp
  const MoneyFormat& money_format() const { return *money_; }

 private:
  TimeZone time_zone_;
  std::string locale_ = "en-US";
  std::string currency_ = "USD";
  Timestamp now_;
  std::shared_ptr<const MoneyFormat> money_;
};

enum class Mode {
  kHtml,  // every output is escaped for the HTML context it stands in (docs/templates.md)
  kText,  // no escaping: plain-text bodies, subjects
};

// A parse error taken apart, for the HTTP layer and the dashboard to place it. Line and
// column are 1-based; the column counts Unicode code points (a tab is one column). Errors
// without a position (a template over kMaxTemplateBytes) have line = column = 0.
struct TemplateError {
  int line = 0;
  int column = 0;
  std::string message;  // one line, without the position: "unknown filter 'upcse'"
};

// The parts of an error Template::Parse returned, or nullopt for any other error.
std::optional<TemplateError> AsTemplateError(const Error& error);

// A data path the template reads, at its first occurrence: "customer.first_name",
// "orders". Paths stop before an index ("orders[0].total" is "orders") and before the
// properties size, first and last.
struct VariableUse {
  std::string path;
  int line = 0;
  int column = 0;
  bool operator==(const VariableUse&) const = default;
};

// A filter of the language, for documentation and editor hints; the order is the one
// docs/templates.md lists them in.
struct FilterInfo {
  std::string_view name;
  std::string_view description;
  std::string_view example;
};
std::span<const FilterInfo> Filters();

// A parsed template. Cheap to copy (the parsed program is shared and immutable); Render may
// be called from any number of threads at once.
class Template {
 public:
  // Parses and checks `source`. Never throws, crashes or hangs, whatever the bytes. On
  // failure returns InvalidArgument with context "template:LINE:COL" and detail = message,
  // the source line and a caret line under the column (AsTemplateError takes it apart).
  // Source that is not valid UTF-8 is rejected at the first bad byte.
  static Result<Template> Parse(std::string_view source, Mode mode);

  // Renders against `data` (an object whose members are the top-level variables; anything
  // else reads as an empty object). Fails with ResourceExhausted when a render limit is
  // reached; nothing else fails.
  Result<std::string> Render(const Value& data, const RenderContext& ctx) const;
  // The same, appending to `out`; on failure `out` holds a partial rendering.
  Status RenderTo(const Value& data, const RenderContext& ctx, std::string& out) const;

  // The data paths the template may read from `data`, in source order, each once. Names the
  // template sets itself (loop variables, forloop, names given by assign before every read
  // of them) are not included.
  const std::vector<VariableUse>& Variables() const;

  Mode mode() const;

  struct Program;  // defined in template.cpp

 private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace treu::messaging
