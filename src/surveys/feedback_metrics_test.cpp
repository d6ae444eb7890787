#include "surveys/feedback_metrics.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace treu::survey {
namespace {

constexpr Timestamp kFrom = Timestamp::FromSeconds(1'700'000'000);
constexpr Timestamp kTo = Timestamp{kFrom.micros + 30 * kMicrosPerDay};

Timestamp Day(int d) { return Timestamp{kFrom.micros + d * kMicrosPerDay}; }

Answer A(std::int64_t customer, Timestamp at, QuestionKind kind, int score,
         NpsThresholds t = NpsThresholds::Standard()) {
  return Answer{CustomerId{customer}, at, kind, score, t};
}

Answer Nps(std::int64_t customer, int day, int score, NpsThresholds t = NpsThresholds::Standard()) {
  return A(customer, Day(day), QuestionKind::kNps, score, t);
}
Answer Csat(std::int64_t customer, int day, int score) {
  return A(customer, Day(day), QuestionKind::kCsat, score);
}
Answer Ces(std::int64_t customer, int day, int score) {
  return A(customer, Day(day), QuestionKind::kCes, score);
}

TEST(FeedbackTest, NoAnswersGivesNulls) {
  FeedbackResult r = ComputeFeedback({}, kFrom, kTo, false);
  EXPECT_EQ(r.nps, std::nullopt);
  EXPECT_EQ(r.csat, std::nullopt);
  EXPECT_EQ(r.csat_good_bad_ratio, std::nullopt);
  EXPECT_EQ(r.ces, std::nullopt);
  EXPECT_EQ(r.nps_answers + r.csat_answers + r.ces_answers, 0);
  // Distributions hold the whole range with zero counts.
  EXPECT_EQ(r.nps_distribution.size(), 11u);
  EXPECT_EQ(r.csat_distribution.size(), 5u);
  EXPECT_EQ(r.ces_distribution.size(), 7u);
  EXPECT_EQ(r.nps_distribution.begin()->first, 0);
  EXPECT_EQ(r.csat_distribution.begin()->first, 1);
  EXPECT_EQ(r.ces_distribution.rbegin()->first, 7);
  for (const auto& [score, n] : r.nps_distribution) EXPECT_EQ(n, 0) << score;
}

TEST(FeedbackTest, StandardNps) {
  // Scores 10, 9, 9, 8, 7, 6, 3, 0, 10, 5: promoters 4 (10, 9, 9, 10), passives 2 (8, 7),
  // detractors 4 (6, 3, 0, 5). NPS = 100 × (4 − 4) / 10 = 0.
  std::vector<Answer> a;
  int scores[] = {10, 9, 9, 8, 7, 6, 3, 0, 10, 5};
  for (int i = 0; i < 10; ++i) a.push_back(Nps(i + 1, i, scores[i]));
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.nps_answers, 10);
  EXPECT_EQ(r.promoters, 4);
  EXPECT_EQ(r.passives, 2);
  EXPECT_EQ(r.detractors, 4);
  ASSERT_TRUE(r.nps);
  EXPECT_DOUBLE_EQ(*r.nps, 0.0);
  EXPECT_EQ(r.nps_distribution.at(10), 2);
  EXPECT_EQ(r.nps_distribution.at(9), 2);
  EXPECT_EQ(r.nps_distribution.at(1), 0);
  EXPECT_EQ(r.csat, std::nullopt);
  EXPECT_EQ(r.ces, std::nullopt);

  // Drop the two detractors 0 and 3: promoters 4, passives 2, detractors 2 of 8 → 25.
  std::vector<Answer> b;
  for (const Answer& x : a) {
    if (x.score != 0 && x.score != 3) b.push_back(x);
  }
  EXPECT_DOUBLE_EQ(*ComputeFeedback(b, kFrom, kTo, false).nps, 25.0);
}

TEST(FeedbackTest, ArticlePresetHasNoPassives) {
  // Same scores with promoter >= 8, detractor <= 7: promoters 10, 9, 9, 8, 10 = 5,
  // detractors 7, 6, 3, 0, 5 = 5 → NPS 0; without the 0 and 3: 5 − 3 of 8 → 25.
  std::vector<Answer> a;
  int scores[] = {10, 9, 9, 8, 7, 6, 3, 0, 10, 5};
  for (int i = 0; i < 10; ++i) a.push_back(Nps(i + 1, i, scores[i], NpsThresholds::Article()));
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.promoters, 5);
  EXPECT_EQ(r.passives, 0);
  EXPECT_EQ(r.detractors, 5);
  EXPECT_DOUBLE_EQ(*r.nps, 0.0);
  // 8, 8, 8, 7 under the article preset: 3 promoters, 1 detractor → 100 × 2 / 4 = 50;
  // under the standard one: 0 promoters, 4 passives → 0.
  std::vector<Answer> b = {
      Nps(1, 0, 8, NpsThresholds::Article()), Nps(2, 0, 8, NpsThresholds::Article()),
      Nps(3, 0, 8, NpsThresholds::Article()), Nps(4, 0, 7, NpsThresholds::Article())};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(b, kFrom, kTo, false).nps, 50.0);
  for (Answer& x : b) x.thresholds = NpsThresholds::Standard();
  FeedbackResult s = ComputeFeedback(b, kFrom, kTo, false);
  EXPECT_DOUBLE_EQ(*s.nps, 0.0);
  EXPECT_EQ(s.passives, 4);
}

TEST(FeedbackTest, EachAnswerUsesItsOwnSurveysThresholds) {
  // Score 8 is a promoter under the article preset and a passive under the standard one;
  // score 7 a detractor and a passive. Promoters 1 (8/article) + 1 (10/standard), detractors
  // 1 (7/article), passives 2 (8/standard, 7/standard): 100 × (2 − 1) / 5 = 20.
  std::vector<Answer> a = {Nps(1, 0, 8, NpsThresholds::Article()),
                           Nps(2, 0, 7, NpsThresholds::Article()), Nps(3, 0, 8), Nps(4, 0, 7),
                           Nps(5, 0, 10)};
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.promoters, 2);
  EXPECT_EQ(r.passives, 2);
  EXPECT_EQ(r.detractors, 1);
  EXPECT_DOUBLE_EQ(*r.nps, 20.0);
}

TEST(FeedbackTest, ExtremesOfNps) {
  std::vector<Answer> all_promoters = {Nps(1, 0, 9), Nps(2, 1, 10)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(all_promoters, kFrom, kTo, false).nps, 100.0);
  std::vector<Answer> all_detractors = {Nps(1, 0, 0), Nps(2, 1, 6)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(all_detractors, kFrom, kTo, false).nps, -100.0);
  std::vector<Answer> one_of_three = {Nps(1, 0, 10), Nps(2, 1, 8), Nps(3, 2, 8)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(one_of_three, kFrom, kTo, false).nps, 100.0 / 3.0);
}

TEST(FeedbackTest, CsatAndGoodBadRatio) {
  // Scores 5, 4, 4, 3, 2, 1, 5, 3: good (4–5) 4, bad (1–2) 2, answers 8.
  // CSAT = 100 × 4 / 8 = 50; ratio = 100 × 4 / 2 = 200.
  std::vector<Answer> a;
  int scores[] = {5, 4, 4, 3, 2, 1, 5, 3};
  for (int i = 0; i < 8; ++i) a.push_back(Csat(i + 1, i, scores[i]));
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.csat_answers, 8);
  EXPECT_EQ(r.csat_good, 4);
  EXPECT_EQ(r.csat_bad, 2);
  EXPECT_DOUBLE_EQ(*r.csat, 50.0);
  EXPECT_DOUBLE_EQ(*r.csat_good_bad_ratio, 200.0);
  EXPECT_EQ(r.csat_distribution, (ScoreDistribution{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 2}}));
  EXPECT_EQ(r.nps, std::nullopt);
}

TEST(FeedbackTest, GoodBadRatioIsNullWithoutBadAnswers) {
  // 5, 4, 3: CSAT 100 × 2 / 3, no bad answer → ratio null.
  std::vector<Answer> a = {Csat(1, 0, 5), Csat(2, 0, 4), Csat(3, 0, 3)};
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_DOUBLE_EQ(*r.csat, 200.0 / 3.0);
  EXPECT_EQ(r.csat_good_bad_ratio, std::nullopt);
  // Only bad answers: CSAT 0, ratio 0.
  std::vector<Answer> b = {Csat(1, 0, 1), Csat(2, 0, 2)};
  FeedbackResult s = ComputeFeedback(b, kFrom, kTo, false);
  EXPECT_DOUBLE_EQ(*s.csat, 0.0);
  EXPECT_DOUBLE_EQ(*s.csat_good_bad_ratio, 0.0);
}

TEST(FeedbackTest, CesIsTheMean) {
  // (1 + 2 + 7 + 5) / 4 = 3.75
  std::vector<Answer> a = {Ces(1, 0, 1), Ces(2, 0, 2), Ces(3, 0, 7), Ces(4, 0, 5)};
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.ces_answers, 4);
  EXPECT_DOUBLE_EQ(*r.ces, 3.75);
  EXPECT_EQ(r.ces_distribution.at(7), 1);
  EXPECT_EQ(r.ces_distribution.at(3), 0);
}

TEST(FeedbackTest, KindsAreKeptApart) {
  std::vector<Answer> a = {Nps(1, 0, 10), Csat(1, 0, 1), Ces(1, 0, 4), Nps(2, 0, 0), Csat(2, 0, 5)};
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.nps_answers, 2);
  EXPECT_DOUBLE_EQ(*r.nps, 0.0);
  EXPECT_EQ(r.csat_answers, 2);
  EXPECT_DOUBLE_EQ(*r.csat, 50.0);
  EXPECT_DOUBLE_EQ(*r.csat_good_bad_ratio, 100.0);
  EXPECT_EQ(r.ces_answers, 1);
  EXPECT_DOUBLE_EQ(*r.ces, 4.0);
}

TEST(FeedbackTest, PeriodIsHalfOpen) {
  std::vector<Answer> a = {
      A(1, Timestamp{kFrom.micros - 1}, QuestionKind::kNps, 0),  // just before: out
      A(2, kFrom, QuestionKind::kNps, 10),                       // at from: in
      A(3, Timestamp{kTo.micros - 1}, QuestionKind::kNps, 9),    // last microsecond: in
      A(4, kTo, QuestionKind::kNps, 0),                          // at to: out
  };
  FeedbackResult r = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(r.nps_answers, 2);
  EXPECT_DOUBLE_EQ(*r.nps, 100.0);
  // A period without any of the answers.
  FeedbackResult empty = ComputeFeedback(a, Day(100), Day(130), false);
  EXPECT_EQ(empty.nps, std::nullopt);
  EXPECT_EQ(empty.nps_answers, 0);
  // An empty or inverted period counts nothing.
  EXPECT_EQ(ComputeFeedback(a, kFrom, kFrom, false).nps_answers, 0);
  EXPECT_EQ(ComputeFeedback(a, kTo, kFrom, true).nps_answers, 0);
}

TEST(FeedbackTest, LatestOnlyKeepsEachCustomersLastAnswerPerKind) {
  // Customer 1: NPS 0 (day 1), 10 (day 5), 3 (day 40, outside) → 10 counts.
  // Customer 2: NPS 9 (day 2), 6 (day 3) → 6 counts; CSAT 1 (day 1), 5 (day 4) → 5 counts.
  // Customer 3: NPS 7 (day 10) only.
  // Listed out of time order on purpose.
  std::vector<Answer> a = {Nps(1, 5, 10), Nps(2, 3, 6),  Nps(1, 1, 0),  Nps(1, 40, 3),
                           Nps(2, 2, 9),  Csat(2, 4, 5), Csat(2, 1, 1), Nps(3, 10, 7)};
  FeedbackResult latest = ComputeFeedback(a, kFrom, kTo, true);
  EXPECT_EQ(latest.nps_answers, 3);
  EXPECT_EQ(latest.promoters, 1);   // 10
  EXPECT_EQ(latest.passives, 1);    // 7
  EXPECT_EQ(latest.detractors, 1);  // 6
  EXPECT_DOUBLE_EQ(*latest.nps, 0.0);
  EXPECT_EQ(latest.csat_answers, 1);
  EXPECT_DOUBLE_EQ(*latest.csat, 100.0);
  EXPECT_EQ(latest.csat_good_bad_ratio, std::nullopt);
  EXPECT_EQ(latest.nps_distribution.at(0), 0);
  EXPECT_EQ(latest.nps_distribution.at(10), 1);

  // All answers in the period: NPS 10, 6, 0, 9, 7 → promoters 2, detractors 2 → 0 of 5;
  // CSAT 5, 1 → 50, ratio 100.
  FeedbackResult all = ComputeFeedback(a, kFrom, kTo, false);
  EXPECT_EQ(all.nps_answers, 5);
  EXPECT_EQ(all.promoters, 2);
  EXPECT_EQ(all.detractors, 2);
  EXPECT_DOUBLE_EQ(*all.nps, 0.0);
  EXPECT_DOUBLE_EQ(*all.csat, 50.0);
  EXPECT_DOUBLE_EQ(*all.csat_good_bad_ratio, 100.0);

  // Latest within a later period: customer 1's day-40 answer (3) is the only one → −100.
  FeedbackResult later = ComputeFeedback(a, Day(30), Day(60), true);
  EXPECT_EQ(later.nps_answers, 1);
  EXPECT_DOUBLE_EQ(*later.nps, -100.0);
}

TEST(FeedbackTest, LatestOnlyTieGoesToTheLaterListedAnswer) {
  std::vector<Answer> a = {Nps(1, 2, 0), Nps(1, 2, 10)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(a, kFrom, kTo, true).nps, 100.0);
  std::vector<Answer> b = {Nps(1, 2, 10), Nps(1, 2, 0)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(b, kFrom, kTo, true).nps, -100.0);
}

TEST(FeedbackTest, InvalidAnswersAreCountedApart) {
  std::vector<Answer> a = {
      Nps(1, 0, 11), Csat(2, 0, 0), Ces(3, 0, 8), A(4, Day(0), QuestionKind::kText, 3),
      Nps(5, 0, 9),  Nps(6, 40, 42)};  // outside the period: not counted at all
  for (bool latest : {false, true}) {
    FeedbackResult r = ComputeFeedback(a, kFrom, kTo, latest);
    EXPECT_EQ(r.invalid_answers, 4);
    EXPECT_EQ(r.nps_answers, 1);
    EXPECT_DOUBLE_EQ(*r.nps, 100.0);
    EXPECT_EQ(r.csat, std::nullopt);
    EXPECT_EQ(r.ces, std::nullopt);
    EXPECT_EQ(r.nps_distribution.size(), 11u);
  }
  // An invalid later answer doesn't hide a valid earlier one under latest_only.
  std::vector<Answer> b = {Nps(1, 1, 10), Nps(1, 2, 99)};
  EXPECT_DOUBLE_EQ(*ComputeFeedback(b, kFrom, kTo, true).nps, 100.0);
}

TEST(ResponseRateTest, Percent) {
  EXPECT_DOUBLE_EQ(*ResponseRate(200, 50), 25.0);
  EXPECT_DOUBLE_EQ(*ResponseRate(3, 1), 100.0 / 3.0);
  EXPECT_DOUBLE_EQ(*ResponseRate(10, 0), 0.0);
  EXPECT_DOUBLE_EQ(*ResponseRate(10, 12), 120.0);
  EXPECT_EQ(ResponseRate(0, 0), std::nullopt);
  EXPECT_EQ(ResponseRate(0, 5), std::nullopt);
  EXPECT_EQ(ResponseRate(-1, 0), std::nullopt);
  EXPECT_EQ(ResponseRate(10, -1), std::nullopt);
}

}  // namespace
}  // namespace treu::survey
