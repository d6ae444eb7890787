#include "campaigns/lift.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include <cmath>

namespace treu::campaigns {
namespace {

double NormalQuantile(double confidence) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), 0.5 + confidence / 2);
}

double TwoSidedNormalP(double z) {
  return 2 * boost::math::cdf(boost::math::complement(boost::math::normal_distribution<double>(), std::fabs(z)));
}

}  // namespace

Interval WilsonInterval(Proportion p, double confidence) {
  if (p.trials <= 0) return {0, 1};
  const double z = NormalQuantile(confidence), n = static_cast<double>(p.trials), r = p.rate();
  const double d = 1 + z * z / n;
  const double centre = (r + z * z / (2 * n)) / d;
  const double half = z * std::sqrt(r * (1 - r) / n + z * z / (4 * n * n)) / d;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::optional<Lift> RateLift(Proportion treated, Proportion holdout, double confidence) {
  if (treated.trials <= 0 || holdout.trials <= 0) return std::nullopt;
  Lift l;
  l.treated = treated.rate();
  l.holdout = holdout.rate();
  l.difference = l.treated - l.holdout;
  if (l.holdout > 0) l.relative = l.difference / l.holdout;
  const Interval a = WilsonInterval(treated, confidence), b = WilsonInterval(holdout, confidence);
  l.interval.low = l.difference - std::hypot(l.treated - a.low, b.high - l.holdout);
  l.interval.high = l.difference + std::hypot(a.high - l.treated, l.holdout - b.low);
  l.significant = l.interval.low > 0 || l.interval.high < 0;
  // The pooled two-proportion z test.
  const double n1 = static_cast<double>(treated.trials), n2 = static_cast<double>(holdout.trials);
  const double pooled = static_cast<double>(treated.successes + holdout.successes) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  l.p_value = se > 0 ? TwoSidedNormalP(l.difference / se) : 1.0;
  return l;
}

std::optional<Lift> MeanLift(const Sample& treated, const Sample& holdout, double confidence) {
  if (treated.n < 2 || holdout.n < 2) return std::nullopt;
  auto mean = [](const Sample& s) { return s.sum / static_cast<double>(s.n); };
  auto variance = [&](const Sample& s) {
    const double n = static_cast<double>(s.n);
    return std::max(0.0, (s.sum_squares - s.sum * s.sum / n) / (n - 1));
  };
  Lift l;
  l.treated = mean(treated);
  l.holdout = mean(holdout);
  l.difference = l.treated - l.holdout;
  if (l.holdout != 0) l.relative = l.difference / l.holdout;
  const double v1 = variance(treated) / static_cast<double>(treated.n);
  const double v2 = variance(holdout) / static_cast<double>(holdout.n);
  const double se = std::sqrt(v1 + v2);
  if (se == 0) {  // both constant: the difference is exact
    l.interval = {l.difference, l.difference};
    l.significant = l.difference != 0;
    l.p_value = l.significant ? 0.0 : 1.0;
    return l;
  }
  // Welch–Satterthwaite degrees of freedom.
  const double df = (v1 + v2) * (v1 + v2) /
                    (v1 * v1 / static_cast<double>(treated.n - 1) + v2 * v2 / static_cast<double>(holdout.n - 1));
  const boost::math::students_t_distribution<double> t(df);
  const double q = boost::math::quantile(t, 0.5 + confidence / 2);
  l.interval = {l.difference - q * se, l.difference + q * se};
  l.significant = l.interval.low > 0 || l.interval.high < 0;
  l.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::fabs(l.difference / se)));
  return l;
}

Winner PickWinner(std::span<const Proportion> variants, double confidence) {
  Winner w;
  if (variants.size() < 2) return w;
  int runner_up = -1;
  for (int i = 1; i < static_cast<int>(variants.size()); ++i)
    if (variants[static_cast<std::size_t>(i)].rate() > variants[static_cast<std::size_t>(w.variant)].rate()) w.variant = i;
  for (int i = 0; i < static_cast<int>(variants.size()); ++i)
    if (i != w.variant &&
        (runner_up < 0 || variants[static_cast<std::size_t>(i)].rate() > variants[static_cast<std::size_t>(runner_up)].rate()))
      runner_up = i;
  auto lift = RateLift(variants[static_cast<std::size_t>(w.variant)], variants[static_cast<std::size_t>(runner_up)], confidence);
  if (lift) {
    w.p_value = lift->p_value;
    w.significant = w.p_value < 1 - confidence;
  }
  return w;
}

}  // namespace treu::campaigns
