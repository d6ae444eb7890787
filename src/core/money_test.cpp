#include "core/money.hpp"

#include <gtest/gtest.h>

namespace treu {
namespace {

Currency Cur(std::string_view code) { return Currency::FromCode(code).value(); }

TEST(CurrencyTest, KnowsMinorUnitsFromIcu) {
  EXPECT_EQ(Cur("EUR").exponent(), 2);
  EXPECT_EQ(Cur("jpy").exponent(), 0);
  EXPECT_EQ(Cur("jpy").code(), "JPY");
  EXPECT_EQ(Cur("KWD").exponent(), 3);
}

TEST(CurrencyTest, RejectsUnknownCodes) {
  EXPECT_FALSE(Currency::FromCode("EU").has_value());
  EXPECT_FALSE(Currency::FromCode("E1R").has_value());
  auto r = Currency::FromCode("XYZ");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().ToString(), "currency: 'XYZ' is not an ISO 4217 currency");
}

TEST(MoneyTest, ParsesExactly) {
  const Currency eur = Cur("EUR");
  EXPECT_EQ(ParseMinorUnits("12.34", eur).value(), 1234);
  EXPECT_EQ(ParseMinorUnits("0.1", eur).value(), 10);
  EXPECT_EQ(ParseMinorUnits(".5", eur).value(), 50);
  EXPECT_EQ(ParseMinorUnits("7", eur).value(), 700);
  EXPECT_EQ(ParseMinorUnits("-3.05", eur).value(), -305);
  EXPECT_EQ(ParseMinorUnits("+3.050", eur).value(), 305);
  // 0.29 is not representable as a double; parsing must not go through one.
  EXPECT_EQ(ParseMinorUnits("1234567.29", eur).value(), 123456729);
  EXPECT_EQ(ParseMinorUnits("92233720368547758.07", eur).value(), INT64_MAX);
  EXPECT_EQ(ParseMinorUnits("1500", Cur("JPY")).value(), 1500);
  EXPECT_EQ(ParseMinorUnits("1.234", Cur("KWD")).value(), 1234);
}

TEST(MoneyTest, RejectsWhatIsNotExact) {
  const Currency eur = Cur("EUR");
  EXPECT_EQ(ParseMinorUnits("12.345", eur).error().ToString(),
            "amount: '12.345' has more than 2 decimal places for EUR");
  EXPECT_FALSE(ParseMinorUnits("1,000.00", eur));
  EXPECT_FALSE(ParseMinorUnits("1e3", eur));
  EXPECT_FALSE(ParseMinorUnits("", eur));
  EXPECT_FALSE(ParseMinorUnits(" 12", eur));
  EXPECT_FALSE(ParseMinorUnits(".", eur));
  EXPECT_FALSE(ParseMinorUnits("-", eur));
  EXPECT_FALSE(ParseMinorUnits("92233720368547758.08", eur));
  EXPECT_FALSE(ParseMinorUnits("1.5", Cur("JPY")));
}

TEST(MoneyTest, FormatsMajorUnits) {
  const Currency eur = Cur("EUR");
  EXPECT_EQ(FormatMajorUnits(1234, eur), "12.34");
  EXPECT_EQ(FormatMajorUnits(5, eur), "0.05");
  EXPECT_EQ(FormatMajorUnits(-305, eur), "-3.05");
  EXPECT_EQ(FormatMajorUnits(1500, Cur("JPY")), "1500");
  EXPECT_EQ(FormatMajorUnits(INT64_MIN, eur), "-92233720368547758.08");
}

TEST(FixedPointTest, ParsesAndFormatsQuantitiesThatAreNotMoney) {
  EXPECT_EQ(ParseFixedPoint("12.5", 2).value(), 1250);
  EXPECT_EQ(ParseFixedPoint("7", 0).value(), 7);
  EXPECT_EQ(ParseFixedPoint("1.50", 1).value(), 15);
  EXPECT_EQ(ParseFixedPoint("1.25", 1).error().ToString(), "amount: '1.25' has more than 1 decimal places");
  EXPECT_FALSE(ParseFixedPoint("x", 2).has_value());
  EXPECT_EQ(FormatFixedPoint(1250, 2), "12.50");
  EXPECT_EQ(FormatFixedPoint(7, 0), "7");
}

}  // namespace
}  // namespace treu
