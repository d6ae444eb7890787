#include "surveys/feedback_metrics.hpp"

#include <unordered_map>
#include <utility>
#include <vector>

namespace treu::survey {
namespace {

ScoreDistribution EmptyDistribution(QuestionKind kind) {
  ScoreDistribution d;
  if (std::optional<ScoreRange> r = ScoreRangeOf(kind)) {
    for (int s = r->min; s <= r->max; ++s) d[s] = 0;
  }
  return d;
}

struct CustomerKind {
  std::int64_t customer;
  QuestionKind kind;
  bool operator==(const CustomerKind&) const = default;
};

struct CustomerKindHash {
  std::size_t operator()(const CustomerKind& k) const noexcept {
    return std::hash<std::int64_t>{}(k.customer) * 8 + static_cast<std::size_t>(k.kind);
  }
};

class Accumulator {
 public:
  Accumulator() {
    r_.nps_distribution = EmptyDistribution(QuestionKind::kNps);
    r_.csat_distribution = EmptyDistribution(QuestionKind::kCsat);
    r_.ces_distribution = EmptyDistribution(QuestionKind::kCes);
  }

  void Add(const Answer& a) {
    switch (a.kind) {
      case QuestionKind::kNps:
        ++r_.nps_answers;
        ++r_.nps_distribution[a.score];
        switch (a.thresholds.Classify(a.score)) {
          case NpsCategory::kPromoter:
            ++r_.promoters;
            break;
          case NpsCategory::kPassive:
            ++r_.passives;
            break;
          case NpsCategory::kDetractor:
            ++r_.detractors;
            break;
        }
        break;
      case QuestionKind::kCsat:
        ++r_.csat_answers;
        ++r_.csat_distribution[a.score];
        if (a.score >= 4) ++r_.csat_good;
        if (a.score <= 2) ++r_.csat_bad;
        break;
      case QuestionKind::kCes:
        ++r_.ces_answers;
        ++r_.ces_distribution[a.score];
        ces_sum_ += a.score;
        break;
      default:
        break;
    }
  }

  void AddInvalid() { ++r_.invalid_answers; }

  FeedbackResult Finish() && {
    if (r_.nps_answers > 0) {
      r_.nps = 100.0 * static_cast<double>(r_.promoters - r_.detractors) /
               static_cast<double>(r_.nps_answers);
    }
    if (r_.csat_answers > 0) {
      r_.csat = 100.0 * static_cast<double>(r_.csat_good) / static_cast<double>(r_.csat_answers);
    }
    if (r_.csat_bad > 0) {
      r_.csat_good_bad_ratio =
          100.0 * static_cast<double>(r_.csat_good) / static_cast<double>(r_.csat_bad);
    }
    if (r_.ces_answers > 0) {
      r_.ces = static_cast<double>(ces_sum_) / static_cast<double>(r_.ces_answers);
    }
    return std::move(r_);
  }

 private:
  FeedbackResult r_;
  std::int64_t ces_sum_ = 0;
};

bool IsValidAnswer(const Answer& a) {
  std::optional<ScoreRange> range = ScoreRangeOf(a.kind);
  return range && range->Contains(a.score);
}

}  // namespace

FeedbackResult ComputeFeedback(std::span<const Answer> answers, Timestamp from, Timestamp to,
                               bool latest_only) {
  Accumulator acc;
  auto in_period = [&](const Answer& a) { return from <= a.at && a.at < to; };

  if (!latest_only) {
    for (const Answer& a : answers) {
      if (!in_period(a)) continue;
      if (IsValidAnswer(a)) {
        acc.Add(a);
      } else {
        acc.AddInvalid();
      }
    }
    return std::move(acc).Finish();
  }

  // Index of each (customer, kind)'s latest valid answer in the period, in first-seen order
  // so the result doesn't depend on hash order (it wouldn't anyway: sums are order-free).
  std::unordered_map<CustomerKind, std::size_t, CustomerKindHash> latest;
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    if (!in_period(a)) continue;
    if (!IsValidAnswer(a)) {
      acc.AddInvalid();
      continue;
    }
    auto [it, inserted] = latest.try_emplace(CustomerKind{a.customer.value, a.kind}, chosen.size());
    if (inserted) {
      chosen.push_back(i);
    } else if (answers[chosen[it->second]].at <= a.at) {
      chosen[it->second] = i;
    }
  }
  for (std::size_t i : chosen) acc.Add(answers[i]);
  return std::move(acc).Finish();
}

std::optional<double> ResponseRate(std::int64_t invited, std::int64_t answered) {
  if (invited <= 0 || answered < 0) return std::nullopt;
  return 100.0 * static_cast<double>(answered) / static_cast<double>(invited);
}

}  // namespace treu::survey
