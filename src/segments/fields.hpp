// The one registry of fields a segment can test: a table of rows {name, type, group,
// description, allowed values}. Docs (docs/segments.md) list the same rows.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "segments/ast.hpp"

namespace treu::segment {

struct FieldInfo {
  std::string_view name;         // "revenue_total"
  Type type;                     // kMoney compares in major units of the workspace currency
  std::string_view group;        // "profile", "purchase", "subscription", ...
  std::string_view description;
  std::span<const std::string_view> values;  // closed set of string values, empty = open
  std::string_view example;      // a condition on the field, e.g. "orders_count >= 2"
};

// The language's functions, for builders and docs: name, result type, call syntax,
// description and an example condition.
struct FunctionInfo {
  std::string_view name;
  Type type;
  std::string_view syntax;
  std::string_view description;
  std::string_view example;
};

// Prefixes of dynamic fields. `attributes.<name>` (customer attributes) is typed kAny: its
// type is only known from the data, so the binder accepts any comparison and the evaluator
// decides per value. `properties.<name>` (event properties) is kAny too and allowed only
// inside a count(...) where-clause.
inline constexpr std::string_view kAttributesPrefix = "attributes.";
inline constexpr std::string_view kPropertiesPrefix = "properties.";

// All registered (static) fields, in table order.
std::span<const FieldInfo> Fields();
// All functions, in table order.
std::span<const FunctionInfo> Functions();

// The registered field called `name`, or nullptr (also for dynamic attributes./properties.).
const FieldInfo* FindField(std::string_view name);

// Optimal-string-alignment (Damerau-Levenshtein with adjacent transpositions) distance.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `name` by EditDistance, if within max(1, name.size() / 3);
// ties go to the earlier candidate.
std::optional<std::string_view> NearestName(std::string_view name, std::span<const std::string_view> candidates);

// NearestName over the registered field names.
std::optional<std::string_view> SuggestField(std::string_view name);

}  // namespace treu::segment
