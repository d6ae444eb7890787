#include "loyalty/tiers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>

namespace treu::loyalty {

// Readable failures.
void PrintTo(const TierState& s, std::ostream* os) {
  *os << "{" << (s.tier.empty() ? "\"\"" : s.tier) << " since " << FormatTimestamp(s.since)
      << ", review " << (s.review_at ? FormatTimestamp(*s.review_at) : "none") << "}";
}
void PrintTo(const TierChange& c, std::ostream* os) {
  *os << "{" << c.from << " -> " << c.to << " at " << FormatTimestamp(c.at) << " " << c.reason
      << "}";
}

namespace {

constexpr std::int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;

Timestamp Day(std::int64_t d) { return Timestamp{d * kMicrosPerDay}; }

// Earned points by time; EarnedIn over them.
struct Earns {
  std::multimap<Timestamp, std::int64_t> at;
  void Add(Timestamp t, std::int64_t points) { at.emplace(t, points); }
  EarnedIn Fn() const {
    return [this](Timestamp from, Timestamp to) {
      std::int64_t sum = 0;
      for (auto it = at.lower_bound(from); it != at.end() && it->first < to; ++it)
        sum += it->second;
      return sum;
    };
  }
};

// bronze 0, silver 100, gold 500; a 10-day window.
Program Tiered() {
  Program p;
  p.tiers = {{"bronze", 0}, {"silver", 100}, {"gold", 500}};
  p.tier_window_days = 10;
  return p;
}

std::vector<TierChange> Advance(const Program& p, TierState& s, Timestamp now, const Earns& e) {
  return AdvanceTier(p, s, now, e.Fn());
}

TEST(QualifyingTierTest, HighestReached) {
  const Program p = Tiered();
  EXPECT_EQ(QualifyingTier(p, 0), "bronze");
  EXPECT_EQ(QualifyingTier(p, 99), "bronze");
  EXPECT_EQ(QualifyingTier(p, 100), "silver");
  EXPECT_EQ(QualifyingTier(p, 499), "silver");
  EXPECT_EQ(QualifyingTier(p, 500), "gold");
  EXPECT_EQ(QualifyingTier(p, 1'000'000), "gold");
  EXPECT_EQ(QualifyingTier(Program{}, 1000), "");
}

TEST(TierRankTest, PositionOrMinusOne) {
  const Program p = Tiered();
  EXPECT_EQ(TierRank(p, "bronze"), 0);
  EXPECT_EQ(TierRank(p, "gold"), 2);
  EXPECT_EQ(TierRank(p, "platinum"), -1);
  EXPECT_EQ(TierRank(p, ""), -1);
}

TEST(InitialTierTest, LowestTierWithoutReview) {
  EXPECT_EQ(InitialTier(Tiered(), Day(3)), (TierState{"bronze", Day(3), std::nullopt}));
  EXPECT_EQ(InitialTier(Program{}, Day(3)), (TierState{"", Day(3), std::nullopt}));
}

TEST(AdvanceTierTest, UpgradesAtOnce) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(3), 60);
  EXPECT_TRUE(Advance(p, s, Day(3), e).empty());
  e.Add(Day(4), 40);
  EXPECT_EQ(Advance(p, s, Day(4), e),
            (std::vector<TierChange>{{"bronze", "silver", Day(4), "upgrade"}}));
  EXPECT_EQ(s, (TierState{"silver", Day(4), Day(14)}));
  // Straight past silver to gold in one earn.
  TierState t = InitialTier(p, Day(0));
  Earns big;
  big.Add(Day(1), 700);
  EXPECT_EQ(Advance(p, t, Day(1), big),
            (std::vector<TierChange>{{"bronze", "gold", Day(1), "upgrade"}}));
  EXPECT_EQ(t, (TierState{"gold", Day(1), Day(11)}));
}

TEST(AdvanceTierTest, UpgradeCountsTheWindowEndingNow) {
  const Program p = Tiered();
  Earns e;
  e.Add(Day(0), 60);
  e.Add(Day(10), 40);
  TierState s = InitialTier(p, Day(0));
  // (day 0, day 10]: the 60 of day 0 fell out of the window just now.
  EXPECT_TRUE(Advance(p, s, Day(10), e).empty());
  e.Add(Timestamp{Day(10).micros - 1}, 60);
  TierState t = InitialTier(p, Day(0));
  EXPECT_EQ(Advance(p, t, Day(10), e).size(), 1u);
  EXPECT_EQ(t.tier, "silver");
}

TEST(AdvanceTierTest, UpgradeMovesTheReview) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(3), 100);
  Advance(p, s, Day(3), e);
  e.Add(Day(8), 400);
  EXPECT_EQ(Advance(p, s, Day(8), e),
            (std::vector<TierChange>{{"silver", "gold", Day(8), "upgrade"}}));
  EXPECT_EQ(s, (TierState{"gold", Day(8), Day(18)}));
}

TEST(AdvanceTierTest, KeptForAWindowThenConfirmedThenDowngraded) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(3), 100);
  Advance(p, s, Day(3), e);
  // No points since: the tier still holds for the window.
  EXPECT_TRUE(Advance(p, s, Timestamp{Day(13).micros - 1}, e).empty());
  EXPECT_EQ(s, (TierState{"silver", Day(3), Day(13)}));
  // Day 13: [day 3, day 13) holds the 100 that reached silver, so it is confirmed.
  EXPECT_TRUE(Advance(p, s, Day(13), e).empty());
  EXPECT_EQ(s, (TierState{"silver", Day(3), Day(23)}));
  // Day 23: nothing earned in [day 13, day 23).
  EXPECT_EQ(Advance(p, s, Day(25), e),
            (std::vector<TierChange>{{"silver", "bronze", Day(23), "review"}}));
  EXPECT_EQ(s, (TierState{"bronze", Day(23), std::nullopt}));
}

TEST(AdvanceTierTest, ReviewCountsPointsSinceReachedOrConfirmed) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(1), 500);
  Advance(p, s, Day(1), e);
  ASSERT_EQ(s.tier, "gold");
  e.Add(Day(10), 300);
  EXPECT_TRUE(Advance(p, s, Day(10), e).empty());
  // The review at day 11 counts [day 1, day 11): 800, kept.
  EXPECT_TRUE(Advance(p, s, Day(11), e).empty());
  EXPECT_EQ(s, (TierState{"gold", Day(1), Day(21)}));
  // 1050 earned in all, but only 250 in [day 11, day 21): down to silver.
  e.Add(Day(12), 250);
  EXPECT_TRUE(Advance(p, s, Day(12), e).empty());
  EXPECT_EQ(Advance(p, s, Day(21), e),
            (std::vector<TierChange>{{"gold", "silver", Day(21), "review"}}));
  EXPECT_EQ(s, (TierState{"silver", Day(21), Day(31)}));
}

TEST(AdvanceTierTest, ReviewCountsFromTheUpgradeNotTheWindowBeforeIt) {
  const Program p = Tiered();
  for (const std::int64_t at_review : {50, 100}) {
    Earns e;
    TierState s = InitialTier(p, Day(0));
    e.Add(Day(0), 60);
    Advance(p, s, Day(0), e);
    e.Add(Day(5), 40);
    EXPECT_EQ(Advance(p, s, Day(5), e),
              (std::vector<TierChange>{{"bronze", "silver", Day(5), "upgrade"}}));
    // The review at day 15 counts [day 5, day 15): the 40 only (the 60 of day 0 came before
    // the upgrade, and what is earned at the review instant belongs to the next period).
    e.Add(Day(15), at_review);
    const auto changes = Advance(p, s, Day(15), e);
    if (at_review < 100) {
      EXPECT_EQ(changes, (std::vector<TierChange>{{"silver", "bronze", Day(15), "review"}}));
      EXPECT_EQ(s, (TierState{"bronze", Day(15), std::nullopt}));
    } else {
      // (day 5, day 15] holds 100: the upgrade check right after the review moves back up.
      EXPECT_EQ(changes, (std::vector<TierChange>{{"silver", "bronze", Day(15), "review"},
                                                  {"bronze", "silver", Day(15), "upgrade"}}));
      EXPECT_EQ(s, (TierState{"silver", Day(15), Day(25)}));
    }
  }
}

TEST(AdvanceTierTest, DowngradesToTheQualifyingTier) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(1), 500);
  Advance(p, s, Day(1), e);
  e.Add(Day(12), 150);
  EXPECT_TRUE(Advance(p, s, Day(12), e).empty());  // review at 11 keeps gold; 150 doesn't upgrade
  EXPECT_EQ(s, (TierState{"gold", Day(1), Day(21)}));
  EXPECT_EQ(Advance(p, s, Day(21), e),
            (std::vector<TierChange>{{"gold", "silver", Day(21), "review"}}));
  EXPECT_EQ(s, (TierState{"silver", Day(21), Day(31)}));
}

TEST(AdvanceTierTest, SeveralReviewsPassedAtOnce) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(1), 500);
  Advance(p, s, Day(1), e);
  e.Add(Day(5), 20);
  Advance(p, s, Day(5), e);
  e.Add(Day(12), 150);
  Advance(p, s, Day(12), e);
  // The review at 11 (seen at day 12) kept gold on 520; those at 21 (150 → silver) and 31
  // (0 → bronze) are both seen at day 100.
  EXPECT_EQ(Advance(p, s, Day(100), e),
            (std::vector<TierChange>{{"gold", "silver", Day(21), "review"},
                                     {"silver", "bronze", Day(31), "review"}}));
  EXPECT_EQ(s, (TierState{"bronze", Day(31), std::nullopt}));
}

TEST(AdvanceTierTest, ReviewsThenUpgradeCheckAtTheSameCall) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(1), 500);
  Advance(p, s, Day(1), e);
  // Seen only at day 30, when 600 more arrive: the reviews at 11 and 21 come first.
  e.Add(Day(30), 600);
  EXPECT_EQ(Advance(p, s, Day(30), e),
            (std::vector<TierChange>{{"gold", "bronze", Day(21), "review"},
                                     {"bronze", "gold", Day(30), "upgrade"}}));
  EXPECT_EQ(s, (TierState{"gold", Day(30), Day(40)}));
}

TEST(AdvanceTierTest, LowestTierNeedsNoReview) {
  const Program p = Tiered();
  Earns e;
  TierState s = InitialTier(p, Day(0));
  e.Add(Day(1), 10);
  EXPECT_TRUE(Advance(p, s, Day(1), e).empty());
  EXPECT_TRUE(Advance(p, s, Day(10'000), e).empty());
  EXPECT_EQ(s, (TierState{"bronze", Day(0), std::nullopt}));
}

TEST(AdvanceTierTest, RemovedTierRequalifiesAtOnce) {
  const Program p = Tiered();
  Earns e;
  e.Add(Day(2), 120);
  TierState s{"platinum", Day(0), Day(10)};
  EXPECT_EQ(Advance(p, s, Day(5), e),
            (std::vector<TierChange>{{"platinum", "silver", Day(5), "review"}}));
  EXPECT_EQ(s, (TierState{"silver", Day(5), Day(15)}));
  TierState t{"platinum", Day(0), Day(10)};
  EXPECT_EQ(Advance(p, t, Day(20), e),
            (std::vector<TierChange>{{"platinum", "bronze", Day(20), "review"}}));
  EXPECT_EQ(t, (TierState{"bronze", Day(20), std::nullopt}));
}

TEST(AdvanceTierTest, NoTiers) {
  const Program p;  // no tiers
  Earns e;
  e.Add(Day(1), 1000);
  TierState s{"gold", Day(0), Day(10)};
  EXPECT_EQ(Advance(p, s, Day(5), e), (std::vector<TierChange>{{"gold", "", Day(5), "review"}}));
  EXPECT_EQ(s, (TierState{"", Day(5), std::nullopt}));
  // Nothing changes afterwards, not even `since`.
  EXPECT_TRUE(Advance(p, s, Day(50), e).empty());
  EXPECT_EQ(s, (TierState{"", Day(5), std::nullopt}));
  TierState fresh = InitialTier(p, Day(2));
  EXPECT_TRUE(Advance(p, fresh, Day(9), e).empty());
  EXPECT_EQ(fresh, (TierState{"", Day(2), std::nullopt}));
}

// --- A brute-force model of the rule in tiers.hpp, stepping hour by hour. ---
//
// Earns fall on whole hours, so an hour-by-hour walk sees every instant at which something can
// happen. At each hour h, in this order:
//  - review: when the member is above the lowest tier and a full window has passed since the
//    tier was reached or last confirmed (at `confirmed`), they keep the tier if the points
//    earned in [confirmed, h) qualify for it, else move down to the tier those points qualify
//    for; either way `confirmed` becomes h;
//  - upgrade: when the points earned in (h − window, h] reach a higher tier, move up to it
//    and `confirmed` becomes h.
struct Model {
  const Program& p;
  std::vector<std::int64_t> earned_at_hour;  // points earned at each whole hour
  int window_hours = 0;

  int rank = 0;
  std::int64_t since = 0;      // hour the tier was reached
  std::int64_t confirmed = 0;  // hour the tier was reached or last confirmed
  std::vector<TierChange> changes;
  int confirmations = 0;

  std::int64_t Sum(std::int64_t from, std::int64_t to) const {  // hours [from, to)
    std::int64_t sum = 0;
    for (std::int64_t h = std::max<std::int64_t>(from, 0);
         h < to && h < static_cast<std::int64_t>(earned_at_hour.size()); ++h) {
      sum += earned_at_hour[static_cast<std::size_t>(h)];
    }
    return sum;
  }
  int Qualifying(std::int64_t points) const {
    int best = 0;
    for (std::size_t i = 0; i < p.tiers.size(); ++i) {
      if (points >= p.tiers[i].threshold) best = static_cast<int>(i);
    }
    return best;
  }
  void Move(int to, std::int64_t h, const char* reason) {
    changes.push_back({p.tiers[static_cast<std::size_t>(rank)].name,
                       p.tiers[static_cast<std::size_t>(to)].name, Timestamp{h * kMicrosPerHour},
                       reason});
    rank = to;
    since = h;
    confirmed = h;
  }
  void Step(std::int64_t h) {
    if (rank > 0 && h == confirmed + window_hours) {
      const int q = Qualifying(Sum(confirmed, h));
      if (q < rank) {
        Move(q, h, "review");
      } else {
        confirmed = h;
        ++confirmations;
      }
    }
    const int q = Qualifying(Sum(h - window_hours + 1, h + 1));
    if (q > rank) Move(q, h, "upgrade");
  }
  TierState State() const {
    TierState s;
    s.tier = p.tiers[static_cast<std::size_t>(rank)].name;
    s.since = Timestamp{since * kMicrosPerHour};
    if (rank > 0) s.review_at = Timestamp{(confirmed + window_hours) * kMicrosPerHour};
    return s;
  }
};

std::string Describe(const std::vector<TierChange>& changes) {
  std::ostringstream out;
  for (const TierChange& c : changes) {
    out << "  " << c.from << " -> " << c.to << " at hour " << c.at.micros / kMicrosPerHour << " ("
        << c.at.micros % kMicrosPerHour << "us) " << c.reason << "\n";
  }
  return out.str();
}

// Random earn histories; AdvanceTier is called after every earn (as the service does when it
// records one) and at random other instants, which must change nothing: the tiers, their
// times and every change agree with the model.
TEST(AdvanceTierTest, RandomHistoriesAgreeWithTheModel) {
  std::mt19937_64 rng(20260101);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  int upgrades = 0, downgrades = 0, confirmations = 0;
  for (int iteration = 0; iteration < 400; ++iteration) {
    Program p;
    p.tier_window_days = static_cast<int>(uniform(1, 4));
    const int tier_count = static_cast<int>(uniform(1, 4));
    std::int64_t threshold = 0;
    for (int i = 0; i < tier_count; ++i) {
      p.tiers.push_back({"t" + std::to_string(i), threshold});
      threshold += uniform(10, 120);
    }
    const std::int64_t hours = 24 * uniform(5, 30);
    Model model{p, std::vector<std::int64_t>(static_cast<std::size_t>(hours) + 1, 0),
                p.tier_window_days * 24};
    Earns earns;
    std::vector<Timestamp> calls;
    const int earn_count = static_cast<int>(uniform(0, 40));
    // Bursts make upgrades likely, gaps make reviews likely.
    for (int i = 0; i < earn_count; ++i) {
      const std::int64_t h = uniform(0, hours);
      const std::int64_t points = uniform(1, 60);
      model.earned_at_hour[static_cast<std::size_t>(h)] += points;
      earns.Add(Timestamp{h * kMicrosPerHour}, points);
      calls.push_back(Timestamp{h * kMicrosPerHour});
    }
    const int extra_calls = static_cast<int>(uniform(0, 30));
    for (int i = 0; i < extra_calls; ++i)
      calls.push_back(Timestamp{uniform(0, hours * kMicrosPerHour)});
    calls.push_back(Timestamp{hours * kMicrosPerHour});
    std::sort(calls.begin(), calls.end());

    TierState state = InitialTier(p, Timestamp{});
    std::vector<TierChange> changes;
    std::int64_t stepped = -1;  // the model has run hours up to this one
    for (Timestamp now : calls) {
      const auto made = AdvanceTier(p, state, now, earns.Fn());
      changes.insert(changes.end(), made.begin(), made.end());
      while (stepped < now.micros / kMicrosPerHour) model.Step(++stepped);
      ASSERT_EQ(state, model.State())
          << "iteration " << iteration << " at " << now.micros << "us\nmodel:\n"
          << Describe(model.changes) << "AdvanceTier:\n"
          << Describe(changes);
    }
    ASSERT_EQ(changes, model.changes) << "iteration " << iteration << "\nmodel:\n"
                                      << Describe(model.changes) << "AdvanceTier:\n"
                                      << Describe(changes);
    for (const TierChange& c : changes) {
      if (c.reason == "upgrade") ++upgrades;
      if (c.reason == "review") ++downgrades;
    }
    confirmations += model.confirmations;
  }
  // The histories exercised every path.
  EXPECT_GT(upgrades, 100);
  EXPECT_GT(downgrades, 100);
  EXPECT_GT(confirmations, 10);
}

}  // namespace
}  // namespace treu::loyalty
