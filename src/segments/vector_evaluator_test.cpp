#include "segments/vector_evaluator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "segments/binder.hpp"
#include "segments/table_testing.hpp"
#include "segments/evaluator.hpp"
#include "segments/parser.hpp"

namespace treu::segment {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kHour = 3'600'000'000LL;
const Timestamp kNow = Timestamp{20'000 * kMicrosPerDay + 12 * kHour};  // 2024-10-04 12:00Z

// ---------------------------------------------------------------------------------------
// Hand-written cases.

// The four customers of table_testing.hpp: anna, ben, cleo (no data), dora.
CustomerTable SmallTable() { return testing::FourCustomers(kNow); }

std::vector<int> Rows(const std::vector<bool>& set) {
  std::vector<int> out;
  for (std::size_t c = 0; c < set.size(); ++c) {
    if (set[c]) out.push_back(static_cast<int>(c));
  }
  return out;
}

// The members by EvaluateVectorised, checked against Evaluate and CompiledSegment.
std::vector<int> Members(std::string_view text, const EvalContext& ctx,
                         const SegmentLookup& lookup = {}) {
  auto bound = ParseAndBind(text, {.lookup = lookup});
  EXPECT_TRUE(bound.has_value()) << text << ": " << bound.error().ToString();
  if (!bound) return {-1};
  auto fast = EvaluateVectorised(**bound, ctx);
  auto slow = Evaluate(**bound, ctx);
  EXPECT_TRUE(fast.has_value()) << fast.error().ToString();
  EXPECT_TRUE(slow.has_value()) << slow.error().ToString();
  if (!fast || !slow) return {-1};
  EXPECT_EQ(*fast, *slow) << text;
  auto compiled = CompiledSegment::Compile(**bound, ctx);
  EXPECT_TRUE(compiled.has_value()) << compiled.error().ToString();
  if (!compiled) return {-1};
  for (std::size_t c = 0; c < fast->size(); ++c)
    EXPECT_EQ(compiled->Matches(c), (*fast)[c]) << text << " row " << c;
  EXPECT_EQ(compiled->MatchAll(), *fast) << text;
  return Rows(*fast);
}

TEST(VectorEvaluatorTest, ComparisonsFollowTheTypes) {
  const CustomerTable t = SmallTable();
  const EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(Members("revenue_total > 100", ctx), (std::vector<int>{0}));
  EXPECT_EQ(Members("revenue_total >= 100", ctx), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("orders_count = 1 or orders_count >= 5", ctx), (std::vector<int>{0, 1}));
  EXPECT_EQ(Members("last_order_at < now() - 90d", ctx), (std::vector<int>{1, 3}));
  EXPECT_EQ(Members("last_order_at >= \"2024-09-01\"", ctx), (std::vector<int>{0}));
  EXPECT_EQ(Members("email contains \"@shop.\"", ctx), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("email starts_with \"ben\"", ctx), (std::vector<int>{1}));
  EXPECT_EQ(Members("email matches \"^(anna|dora)@\"", ctx), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("attributes.tier in [\"gold\", \"bronze\"]", ctx), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("consent.email", ctx), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("consent.email = false", ctx), (std::vector<int>{1}));
  EXPECT_EQ(Members("\"ben@mail.example\" <= email", ctx), (std::vector<int>{1, 3}));
  EXPECT_EQ(Members("revenue_total - orders_count > 99", ctx), (std::vector<int>{0}));
}

TEST(VectorEvaluatorTest, NullsAreUnknownNotFalse) {
  const CustomerTable t = SmallTable();
  const EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(Members("not (email = \"anna@shop.example\")", ctx), (std::vector<int>{1, 3}));
  EXPECT_EQ(Members("email is null", ctx), (std::vector<int>{2}));
  EXPECT_EQ(Members("email is not null and revenue_total < 100", ctx), (std::vector<int>{1}));
  EXPECT_EQ(Members("email is null or revenue_total > 200", ctx), (std::vector<int>{0, 2}));
  EXPECT_EQ(Members("attributes.none = 1", ctx), (std::vector<int>{}));
  EXPECT_EQ(Members("not (attributes.tier > 1)", ctx), (std::vector<int>{}));  // string vs number
  EXPECT_EQ(Members("not consent.email or attributes.none is null", ctx),
            (std::vector<int>{0, 1, 2, 3}));
}

TEST(VectorEvaluatorTest, SavedSegmentsAreEvaluatedAtCompileTime) {
  CustomerTable t = SmallTable();
  const std::string big_text = "revenue_total >= 100";
  const ExprPtr big = ParseSegment(big_text).value();
  SegmentLookup saved = [&](std::string_view name) -> std::optional<SavedSegment> {
    if (name == "big") return SavedSegment{big.get(), big_text};
    return std::nullopt;
  };
  EvalContext ctx{&t, kNow, TimeZone::Utc(), [&](std::string_view name) -> Result<ExprPtr> {
                    if (name == "big") return ParseAndBind(big_text);
                    return NotFound("segment " + std::string(name), "no such segment");
                  }};
  EXPECT_EQ(Members("in_segment(\"big\") and consent.email", ctx, saved), (std::vector<int>{0, 3}));

  auto bound = ParseAndBind("in_segment(\"big\")", {.lookup = saved});
  ASSERT_TRUE(bound.has_value());
  auto compiled = CompiledSegment::Compile(**bound, ctx);
  ASSERT_TRUE(compiled.has_value());
  t.columns["revenue_total"].numbers[1] = 1000;  // the compiled segment keeps its members
  EXPECT_FALSE(compiled->Matches(1));
  EXPECT_EQ(Rows(EvaluateVectorised(**bound, ctx).value()), (std::vector<int>{0, 1, 3}));

  const EvalContext without{&t, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(EvaluateVectorised(**bound, without).error().ToString(),
            Evaluate(**bound, without).error().ToString());
}

TEST(VectorEvaluatorTest, ErrorsAreThoseOfEvaluate) {
  auto bound = ParseAndBind("count(event \"Page Viewed\" within 7d) >= 2 or revenue_total > 1");
  ASSERT_TRUE(bound.has_value()) << bound.error().ToString();
  const CustomerTable t = SmallTable();
  const EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  const auto slow = Evaluate(**bound, ctx);
  ASSERT_FALSE(slow.has_value());
  EXPECT_EQ(EvaluateVectorised(**bound, ctx).error().ToString(), slow.error().ToString());
  EXPECT_EQ(CompiledSegment::Compile(**bound, ctx).error().ToString(), slow.error().ToString());
  const EvalContext no_table{nullptr, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(EvaluateVectorised(**bound, no_table).error().ToString(), "segment: no customer table");
}

TEST(VectorEvaluatorTest, ArithmeticNaNIsAValueNotANull) {
  // inf - inf is NaN, which the interpreter treats as a number equal to everything.
  const CustomerTable t = SmallTable();
  const EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  auto huge = [] {
    return MakeBinary(
        ExprKind::kArith, Op::kAdd,
        MakeBinary(ExprKind::kArith, Op::kAdd, MakeField("revenue_total"), MakeNumber(1e308)),
        MakeNumber(1e308));
  };
  for (Op op : {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe}) {
    auto e = MakeBinary(ExprKind::kCompare, op,
                        MakeBinary(ExprKind::kArith, Op::kSub, huge(), huge()), MakeNumber(0));
    auto bound = Bind(std::move(e), {});
    ASSERT_TRUE(bound.has_value()) << bound.error().ToString();
    auto slow = Evaluate(**bound, ctx).value();
    EXPECT_EQ(EvaluateVectorised(**bound, ctx).value(), slow) << PrintSegment(**bound);
    auto compiled = CompiledSegment::Compile(**bound, ctx).value();
    for (std::size_t c = 0; c < slow.size(); ++c) EXPECT_EQ(compiled.Matches(c), slow[c]);
  }
}

TEST(VectorEvaluatorTest, WordBoundaries) {
  // Row counts around multiples of 64, including none.
  for (std::size_t n : {0, 1, 63, 64, 65, 128, 130}) {
    CustomerTable t;
    t.customers = n;
    Column orders;
    orders.type = ColumnType::kNumber;
    for (std::size_t i = 0; i < n; ++i)
      orders.numbers.push_back(i % 3 == 0 ? kNaN : static_cast<double>(i % 5));
    t.columns["orders_count"] = orders;
    const EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
    for (const char* text :
         {"not (orders_count > 2)", "orders_count is null", "not (orders_count is null)", "true",
          "not false", "orders_count in [1, 4] or orders_count = 0"}) {
      auto bound = ParseAndBind(text);
      ASSERT_TRUE(bound.has_value());
      EXPECT_EQ(EvaluateVectorised(**bound, ctx).value(), Evaluate(**bound, ctx).value())
          << text << " n=" << n;
    }
  }
}

TEST(VectorEvaluatorTest, CalendarMonthsPerRow) {
  const TimeZone berlin = TimeZone::Find("Europe/Berlin").value();
  CustomerTable t;
  t.customers = 3;
  Column last;
  last.type = ColumnType::kTime;
  // 31 Mar 2024 10:00 Berlin, 29 Feb 2024 10:00 Berlin, null.
  last.times = {berlin.ToUtc({2024, 3, 31}, 10 * kHour).micros,
                berlin.ToUtc({2024, 2, 29}, 10 * kHour).micros, kNullTime};
  t.columns["last_order_at"] = last;
  const Timestamp now = berlin.ToUtc({2024, 3, 29}, 10 * kHour);
  const EvalContext ctx{&t, now, berlin, {}};
  // Row 0 minus 1mo is 29 Feb 10:00, equal to row 1.
  EXPECT_EQ(Members("last_order_at - 1mo = \"2024-02-29T09:00:00\"", ctx), (std::vector<int>{0}));
  // now() + 11mo is 28 Feb 2025 10:00 (clamped), as is row 1 + 1y.
  EXPECT_EQ(Members("last_order_at + 1y > now() + 11mo", ctx), (std::vector<int>{0}));
  EXPECT_EQ(Members("last_order_at >= \"2024-03-31\"", ctx), (std::vector<int>{0}));
}

// ---------------------------------------------------------------------------------------
// Differential test: random tables and random well-typed expressions.

const char* const kCountries[] = {"DE", "AT", "FR", "CH", "de", ""};
const char* const kPlans[] = {"free", "pro", "team", "pro-annual"};
const char* const kEmails[] = {"anna@shop.example", "ben@mail.example", "cleo@shop.example",
                               "dora@web.de", "e@x"};
const char* const kStatuses[] = {"active", "trialing", "past_due", "paused", "canceled"};
const char* const kTiers[] = {"gold", "silver", "bronze", "Gold", "10"};
const char* const kStringLiterals[] = {"DE",     "AT", "de", "pro", "free", "gold", "shop",
                                       "@shop.", "a",  "",   "10",  "zz",   "e@x"};
const char* const kRegexes[] = {"^a",   "shop\\.example$", "(DE|AT)", "[0-9]+", ".*", "^$",
                                "o{2}", "^[a-d].*@"};
const char* const kDates[] = {"2024-09-01", "2024-10-04", "2024-07-06T12:00:00",
                              "1998-01-01", "2024-03-31", "2024-10-04T11:00"};
const double kNumberLiterals[] = {0, 1, 2, 3, 5, 10, 0.5, 99.99, 100, 250.5, -1};

struct Gen {
  std::mt19937_64 rng;

  explicit Gen(std::uint64_t seed) : rng(seed) {}

  int Int(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }
  bool Chance(int percent) { return Int(100) < percent; }
  template <typename T, std::size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Int(static_cast<int>(N))];
  }

  // ---- tables

  Column Strings(std::size_t n, std::vector<std::string> dictionary) {
    Column c;
    c.type = ColumnType::kString;
    c.dictionary = std::move(dictionary);
    for (std::size_t i = 0; i < n; ++i) {
      c.codes.push_back(Chance(15) ? -1 : Int(static_cast<int>(c.dictionary.size())));
    }
    return c;
  }
  Column Numbers(std::size_t n, ColumnType type, int max, bool fractional) {
    Column c;
    c.type = type;
    for (std::size_t i = 0; i < n; ++i) {
      double v = Int(max + 1);
      if (fractional && Chance(50)) v += Pick(kNumberLiterals) / 7;
      c.numbers.push_back(Chance(15) ? kNaN : v);
    }
    return c;
  }
  Column Times(std::size_t n, Timestamp now) {
    Column c;
    c.type = ColumnType::kTime;
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t t = now.micros - Int(800) * kMicrosPerDay;
      if (Chance(30)) t += Int(24) * kHour;
      if (Chance(10)) t = now.micros - 90 * kMicrosPerDay;  // on the boundary of now() - 90d
      c.times.push_back(Chance(15) ? kNullTime : t);
    }
    return c;
  }
  Column Bools(std::size_t n) {
    Column c;
    c.type = ColumnType::kBool;
    for (std::size_t i = 0; i < n; ++i)
      c.bools.push_back(static_cast<std::int8_t>(Chance(15) ? -1 : Int(2)));
    return c;
  }

  CustomerTable Table(Timestamp now) {
    CustomerTable t;
    const std::size_t n = 100 + static_cast<std::size_t>(Int(300));
    t.customers = n;
    t.as_of = now;
    t.columns["email"] = Strings(n, {std::begin(kEmails), std::end(kEmails)});
    t.columns["country"] = Strings(n, {std::begin(kCountries), std::end(kCountries)});
    t.columns["plan"] = Strings(n, {std::begin(kPlans), std::end(kPlans)});
    t.columns["subscription_status"] = Strings(n, {std::begin(kStatuses), std::end(kStatuses)});
    t.columns["orders_count"] = Numbers(n, ColumnType::kNumber, 10, false);
    t.columns["revenue_total"] = Numbers(n, ColumnType::kMoney, 300, true);
    t.columns["mrr"] = Numbers(n, ColumnType::kMoney, 50, true);
    t.columns["days_since_last_order"] = Numbers(n, ColumnType::kNumber, 400, false);
    t.columns["p_alive"] = Numbers(n, ColumnType::kNumber, 1, true);
    t.columns["last_order_at"] = Times(n, now);
    t.columns["first_order_at"] = Times(n, now);
    t.columns["created_at"] = Times(n, now);
    t.columns["consent.email"] = Bools(n);
    t.columns["consent.sms"] = Bools(n);
    t.columns["attributes.tier"] = Strings(n, {std::begin(kTiers), std::end(kTiers)});
    t.columns["attributes.score"] = Numbers(n, ColumnType::kNumber, 10, true);
    t.columns["attributes.vip"] = Bools(n);
    t.columns["attributes.joined"] = Times(n, now);
    Column empty;  // a string attribute no customer has
    empty.type = ColumnType::kString;
    empty.codes.assign(n, -1);
    t.columns["attributes.empty"] = std::move(empty);
    // Absent: rfm_segment, consent.push, nps_last_score, attributes.none (null for everyone).
    return t;
  }

  // ---- expressions

  ExprPtr Literal() {
    switch (Int(4)) {
      case 0:
        return MakeNumber(Pick(kNumberLiterals));
      case 1:
        return MakeString(Pick(kStringLiterals));
      case 2:
        return MakeBool(Chance(50));
      default:
        return MakeString(Pick(kDates));
    }
  }
  Duration RandomDuration() {
    static const DurationUnit kUnits[] = {DurationUnit::kHours, DurationUnit::kDays,
                                          DurationUnit::kWeeks, DurationUnit::kMonths,
                                          DurationUnit::kYears};
    return Duration{Int(14), Pick(kUnits)};
  }
  Op CompareOp() {
    static const Op kOps[] = {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe};
    return Pick(kOps);
  }
  ExprPtr Count() {
    std::optional<Duration> within;
    if (Chance(60)) within = Duration{1 + Int(30), DurationUnit::kDays};
    ExprPtr where;
    if (Chance(50)) {
      where = MakeBinary(ExprKind::kCompare, Chance(50) ? Op::kContains : Op::kEq,
                         MakeField("properties.url"), MakeString(Chance(50) ? "/pricing" : "/"));
    }
    return MakeCount(Chance(80) ? "Page Viewed" : "Never Seen", within, std::move(where));
  }

  ExprPtr NumberValue(int depth) {
    static const char* const kFields[] = {
        "orders_count", "revenue_total",    "mrr",           "days_since_last_order",
        "p_alive",      "attributes.score", "nps_last_score"};
    const int r = Int(100);
    if (depth > 0 && r < 25) {
      return MakeBinary(ExprKind::kArith, Chance(50) ? Op::kAdd : Op::kSub, NumberValue(depth - 1),
                        NumberValue(depth - 1));
    }
    if (r < 32) return MakeNumber(Pick(kNumberLiterals));
    if (r < 36) return Count();
    return MakeField(Pick(kFields));
  }
  ExprPtr TimeValue(int depth) {
    static const char* const kFields[] = {"last_order_at", "first_order_at", "created_at",
                                          "attributes.joined"};
    const int r = Int(100);
    if (depth > 0 && r < 35) {
      if (Chance(20))
        return MakeBinary(ExprKind::kArith, Op::kAdd, MakeDuration(RandomDuration()),
                          TimeValue(depth - 1));
      return MakeBinary(ExprKind::kArith, Chance(50) ? Op::kAdd : Op::kSub, TimeValue(depth - 1),
                        MakeDuration(RandomDuration()));
    }
    if (r < 50) return MakeNow();
    return MakeField(Pick(kFields));
  }
  ExprPtr StringField() {
    static const char* const kFields[] = {"email",           "country",          "plan",
                                          "attributes.tier", "attributes.empty", "attributes.none",
                                          "locale"};
    return MakeField(Pick(kFields));
  }
  ExprPtr BoolField() {
    static const char* const kFields[] = {"consent.email", "consent.sms", "consent.push",
                                          "attributes.vip"};
    return MakeField(Pick(kFields));
  }
  ExprPtr AnyField() {
    static const char* const kFields[] = {"attributes.tier",  "attributes.score",
                                          "attributes.vip",   "attributes.joined",
                                          "attributes.empty", "attributes.none"};
    return MakeField(Pick(kFields));
  }
  ExprPtr List(int kind) {  // 0 numbers, 1 strings, 2 bools, 3 dates
    std::vector<ExprPtr> items;
    const int n = 1 + Int(4);
    for (int i = 0; i < n; ++i) {
      switch (kind) {
        case 0:
          items.push_back(MakeNumber(Pick(kNumberLiterals)));
          break;
        case 1:
          items.push_back(MakeString(Pick(kStringLiterals)));
          break;
        case 2:
          items.push_back(MakeBool(Chance(50)));
          break;
        default:
          items.push_back(MakeString(Pick(kDates)));
          break;
      }
    }
    return MakeList(std::move(items));
  }
  ExprPtr Compare(Op op, ExprPtr l, ExprPtr r) {
    return MakeBinary(ExprKind::kCompare, op, std::move(l), std::move(r));
  }

  ExprPtr Leaf(int depth) {
    switch (Int(13)) {
      case 0:
      case 1:
        return Compare(CompareOp(), NumberValue(depth),
                       Chance(60) ? MakeNumber(Pick(kNumberLiterals)) : NumberValue(depth));
      case 2: {
        ExprPtr right = Chance(50) ? MakeString(Pick(kDates)) : TimeValue(depth);
        if (Chance(20)) return Compare(CompareOp(), std::move(right), TimeValue(depth));
        return Compare(CompareOp(), TimeValue(depth), std::move(right));
      }
      case 3: {
        ExprPtr right = Chance(70) ? MakeString(Pick(kStringLiterals)) : StringField();
        if (Chance(15)) return Compare(CompareOp(), std::move(right), StringField());
        return Compare(CompareOp(), StringField(), std::move(right));
      }
      case 4: {
        static const Op kOps[] = {Op::kContains, Op::kStartsWith, Op::kMatches};
        const Op op = Pick(kOps);
        if (op == Op::kMatches)
          return Compare(op, Chance(90) ? StringField() : MakeString(Pick(kStringLiterals)),
                         MakeString(Pick(kRegexes)));
        return Compare(op, Chance(85) ? StringField() : MakeString(Pick(kStringLiterals)),
                       Chance(80) ? MakeString(Pick(kStringLiterals)) : StringField());
      }
      case 5: {
        switch (Int(5)) {
          case 0:
            return Compare(Op::kIn, NumberValue(depth), List(0));
          case 1:
            return Compare(Op::kIn, StringField(), List(1));
          case 2:
            return Compare(Op::kIn, BoolField(), List(2));
          case 3:
            return Compare(Op::kIn, TimeValue(depth), List(3));
          default:
            return Compare(Op::kIn, AnyField(), List(Int(4)));
        }
      }
      case 6: {
        if (Chance(30)) return BoolField();
        if (Chance(30)) return MakeBool(Chance(50));
        return Compare(Chance(50) ? Op::kEq : Op::kNe, BoolField(),
                       Chance(60) ? MakeBool(Chance(50)) : BoolField());
      }
      case 7: {
        ExprPtr operand;
        switch (Int(6)) {
          case 0:
            operand = NumberValue(depth);
            break;
          case 1:
            operand = TimeValue(depth);
            break;
          case 2:
            operand = StringField();
            break;
          case 3:
            operand = BoolField();
            break;
          case 4:
            operand = AnyField();
            break;
          default:
            operand = depth > 0 ? Condition(depth - 1) : Literal();
            break;  // a condition has no value
        }
        return MakeIsNull(std::move(operand), Chance(50));
      }
      case 8:
      case 9: {
        // Dynamic attributes accept literals of any kind: unknown when the kinds differ.
        const int r = Int(4);
        if (r == 0) return AnyField();
        if (r == 1) return Compare(CompareOp(), AnyField(), AnyField());
        if (r == 2)
          return Compare(CompareOp(),
                         MakeBinary(ExprKind::kArith, Op::kAdd, AnyField(),
                                    Chance(50) ? AnyField() : NumberValue(0)),
                         Literal());
        ExprPtr lit = Literal();
        if (lit->kind == ExprKind::kBool)
          return Compare(Chance(50) ? Op::kEq : Op::kNe, AnyField(), std::move(lit));
        return Compare(CompareOp(), AnyField(), std::move(lit));
      }
      case 10: {
        static const char* const kSaved[] = {"big", "de_email", "lapsed"};
        return MakeInSegment(Pick(kSaved));
      }
      case 11: {
        // Literals against literals, and against now().
        if (Chance(30)) return Compare(CompareOp(), MakeNow(), MakeString(Pick(kDates)));
        if (Chance(50))
          return Compare(CompareOp(), MakeNumber(Pick(kNumberLiterals)),
                         MakeNumber(Pick(kNumberLiterals)));
        return Compare(CompareOp(), MakeString(Pick(kStringLiterals)),
                       MakeString(Pick(kStringLiterals)));
      }
      default:
        return Compare(CompareOp(), TimeValue(depth), TimeValue(depth));
    }
  }

  ExprPtr Condition(int depth) {
    const int r = Int(100);
    if (depth > 0 && r < 45) {
      if (r < 10) return MakeNot(Condition(depth - 1));
      return MakeBinary(r < 28 ? ExprKind::kAnd : ExprKind::kOr, Op::kNone, Condition(depth - 1),
                        Condition(depth - 1));
    }
    return Leaf(std::min(depth, 2));
  }
};

EventLog Events(Gen& gen, std::size_t customers, Timestamp now) {
  EventLog log;
  EventLog::Stream& s = log.by_name["Page Viewed"];
  static const char* const kProperties[] = {R"({"url":"/pricing"})",
                                            R"({"url":"/pricing/team"})",
                                            R"({"url":"/"})",
                                            R"({"url":3})",
                                            R"({})",
                                            R"({"url":null})"};
  for (int i = 0; i < 600; ++i) {
    const auto customer = static_cast<Snapshot::Index>(gen.Int(static_cast<int>(customers)));
    const std::int64_t at = now.micros - gen.Int(40) * kMicrosPerDay + gen.Int(3) * kHour;
    s.Add(customer, at, gen.Pick(kProperties));
  }
  log.events = s.at.size();
  return log;
}

TEST(VectorEvaluatorTest, AgreesWithTheInterpreterOnRandomExpressions) {
  Gen gen(20241004);
  const std::map<std::string, std::string> saved_text = {
      {"big", "revenue_total >= 100 or orders_count > 5"},
      {"de_email", "country in [\"DE\", \"AT\"] and consent.email"},
      {"lapsed", "last_order_at < now() - 3mo and not in_segment(\"big\")"},
  };
  std::map<std::string, ExprPtr> saved;
  for (const auto& [name, text] : saved_text) saved[name] = ParseSegment(text).value();
  const SegmentLookup lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    auto it = saved.find(std::string(name));
    if (it == saved.end()) return std::nullopt;
    return SavedSegment{it->second.get(), saved_text.at(it->first)};
  };
  auto segments = [&](std::string_view name) -> Result<ExprPtr> {
    auto it = saved_text.find(std::string(name));
    if (it == saved_text.end()) return NotFound("segment " + std::string(name), "no such segment");
    return ParseAndBind(it->second, {.lookup = lookup});
  };
  const TimeZone zones[] = {TimeZone::Utc(), TimeZone::Find("Europe/Berlin").value(),
                            TimeZone::Find("America/New_York").value()};

  constexpr int kTables = 12;
  constexpr int kPerTable = 400;
  int generated = 0, bound_count = 0, checked = 0, errors = 0, members = 0, rows = 0;
  for (int table = 0; table < kTables; ++table) {
    const Timestamp now{kNow.micros + gen.Int(1000) * kMicrosPerDay / 3};
    const CustomerTable t = gen.Table(now);
    const EventLog events = Events(gen, t.customers, now);
    EvalContext ctx{&t, now, zones[table % 3], segments, table % 4 == 3 ? nullptr : &events};
    for (int i = 0; i < kPerTable; ++i) {
      ExprPtr e = gen.Condition(5);
      ++generated;
      const std::string text = PrintSegment(*e);
      auto bound = Bind(std::move(e), {.lookup = lookup});
      if (!bound) continue;
      ++bound_count;
      SCOPED_TRACE(text);
      const auto slow = Evaluate(**bound, ctx);
      const auto fast = EvaluateVectorised(**bound, ctx);
      auto compiled = CompiledSegment::Compile(**bound, ctx);
      if (!slow) {
        ++errors;
        ASSERT_FALSE(fast.has_value());
        EXPECT_EQ(fast.error().ToString(), slow.error().ToString());
        ASSERT_FALSE(compiled.has_value());
        EXPECT_EQ(compiled.error().ToString(), slow.error().ToString());
        continue;
      }
      ASSERT_TRUE(fast.has_value()) << fast.error().ToString();
      ASSERT_TRUE(compiled.has_value()) << compiled.error().ToString();
      ++checked;
      ASSERT_EQ(*fast, *slow) << "EvaluateVectorised disagrees on " << text;
      for (std::size_t c = 0; c < slow->size(); ++c) {
        ASSERT_EQ(compiled->Matches(c), (*slow)[c])
            << "Matches disagrees on row " << c << " of " << text;
        members += (*slow)[c];
      }
      rows += static_cast<int>(slow->size());
    }
  }
  // Most random expressions bind, most of those evaluate, and the sets are neither empty
  // nor everything.
  EXPECT_GT(bound_count, generated * 8 / 10) << bound_count << " of " << generated << " bound";
  EXPECT_GT(checked, bound_count * 7 / 10) << errors << " evaluation errors";
  EXPECT_GT(members, rows / 10);
  EXPECT_LT(members, rows * 9 / 10);
  std::printf(
      "checked %d expressions (%d generated, %d bound, %d evaluation errors), %d of %d rows "
      "members\n",
      checked, generated, bound_count, errors, members, rows);
}

}  // namespace
}  // namespace treu::segment
