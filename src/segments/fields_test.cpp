#include "segments/fields.hpp"

#include <gtest/gtest.h>

#include <set>

#include "segments/binder.hpp"
#include "segments/parser.hpp"

namespace treu::segment {
namespace {

TEST(FieldsTest, RegistryRows) {
  std::set<std::string_view> names;
  for (const FieldInfo& f : Fields()) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate " << f.name;
    EXPECT_TRUE(IsValidFieldName(f.name)) << f.name;
    EXPECT_FALSE(f.group.empty()) << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_NE(f.type, Type::kUnbound) << f.name;
    if (!f.values.empty()) {
      EXPECT_EQ(f.type, Type::kString) << f.name;
    }
  }
  EXPECT_EQ(Fields().size(), 29u);
}

TEST(FieldsTest, Lookup) {
  ASSERT_NE(FindField("revenue_total"), nullptr);
  EXPECT_EQ(FindField("revenue_total")->type, Type::kMoney);
  EXPECT_EQ(FindField("last_order_at")->type, Type::kTime);
  EXPECT_EQ(FindField("consent.sms")->type, Type::kBool);
  EXPECT_EQ(FindField("subscription_status")->values.size(), 5u);
  EXPECT_EQ(FindField("rfm_segment")->values.size(), 11u);
  EXPECT_EQ(FindField("attributes.tier"), nullptr);
  EXPECT_EQ(FindField("nope"), nullptr);
}

TEST(FieldsTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("ab", "ba"), 1u);  // a transposition
  EXPECT_EQ(EditDistance("last_ordr_at", "last_order_at"), 1u);
}

TEST(FieldsTest, Suggestions) {
  EXPECT_EQ(SuggestField("last_ordr_at"), "last_order_at");
  EXPECT_EQ(SuggestField("revenue"), std::nullopt);  // 6 edits away, too far
  EXPECT_EQ(SuggestField("revenu_total"), "revenue_total");
  EXPECT_EQ(SuggestField("contry"), "country");
  EXPECT_EQ(SuggestField("consent.emial"), "consent.email");
  EXPECT_EQ(SuggestField("xyz"), std::nullopt);
  EXPECT_EQ(SuggestField(""), std::nullopt);
  EXPECT_EQ(SuggestField(std::string(1000, 'a')), std::nullopt);
}

}  // namespace
}  // namespace treu::segment

namespace treu::segment {
namespace {

// Every example of the registries is a valid condition on its own field or function.
TEST(FieldsTest, ExamplesParseAndBind) {
  const ExprPtr vip = ParseSegment("orders_count >= 5").value();
  BindOptions o;
  o.lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    if (name == "vip") return SavedSegment{vip.get(), "orders_count >= 5"};
    return std::nullopt;
  };
  for (const FieldInfo& f : Fields()) {
    ASSERT_FALSE(f.example.empty()) << f.name;
    EXPECT_NE(f.example.find(f.name), std::string_view::npos) << f.name;
    const auto bound = ParseAndBind(f.example, o);
    EXPECT_TRUE(bound.has_value()) << f.name << ": " << (bound ? "" : bound.error().ToString());
  }
  for (const FunctionInfo& f : Functions()) {
    EXPECT_NE(f.example.find(std::string(f.name) + "("), std::string_view::npos) << f.name;
    const auto bound = ParseAndBind(f.example, o);
    EXPECT_TRUE(bound.has_value()) << f.name << ": " << (bound ? "" : bound.error().ToString());
  }
}

}  // namespace
}  // namespace treu::segment
