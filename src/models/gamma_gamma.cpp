#include "models/gamma_gamma.hpp"

#include <boost/math/special_functions/digamma.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "models/mle.hpp"

namespace treu {

double GammaGammaLogLikelihood(const GammaGammaParams& par, std::span<const SpendSummary> data,
                               double* gradient) {
  using boost::math::digamma;
  const double p = par.p, q = par.q, g = par.gamma;
  const double lg_q = std::lgamma(q), ln_g = std::log(g), dg_q = digamma(q);
  double ll = 0, dp = 0, dq = 0, dg = 0;
  for (const SpendSummary& s : data) {
    if (s.x <= 0) continue;
    const double px = p * s.x;
    const double ln_m = std::log(s.m), ln_x = std::log(s.x), ln_gmx = std::log(g + s.m * s.x);
    ll += std::lgamma(px + q) - std::lgamma(px) - lg_q + q * ln_g + (px - 1) * ln_m + px * ln_x -
          (px + q) * ln_gmx;
    if (gradient != nullptr) {
      const double dg_pxq = digamma(px + q);
      dp += s.x * (dg_pxq - digamma(px) + ln_m + ln_x - ln_gmx);
      dq += dg_pxq - dg_q + ln_g - ln_gmx;
      dg += q / g - (px + q) / (g + s.m * s.x);
    }
  }
  if (gradient != nullptr) {
    gradient[0] = dp;
    gradient[1] = dq;
    gradient[2] = dg;
  }
  return ll;
}

Result<GammaGammaFit> FitGammaGamma(std::span<const SpendSummary> data) {
  std::size_t used = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i].x <= 0) continue;
    if (!(data[i].m > 0) || !std::isfinite(data[i].m)) {
      return InvalidArgument("data[" + std::to_string(i) + "].m", "must be a positive mean value");
    }
    ++used;
  }
  if (used == 0) return InvalidArgument("data", "no customer with repeat purchases to fit");
  const LogLikelihood ll = [&](const std::vector<double>& th, std::vector<double>* gradient) {
    double g[3];
    const double v = GammaGammaLogLikelihood({th[0], th[1], th[2]}, data, gradient != nullptr ? g : nullptr);
    if (gradient != nullptr) gradient->assign(g, g + 3);
    return v;
  };
  TREU_ASSIGN_OR_RETURN(MleResult m, MaximizeLikelihood("gamma_gamma", ll, {1, 1, 1}));
  GammaGammaFit fit;
  fit.params = {m.theta[0], m.theta[1], m.theta[2]};
  fit.log_likelihood = m.log_likelihood;
  fit.evaluations = m.evaluations;
  for (int i = 0; i < 3; ++i) fit.std_errors[i] = m.std_errors[static_cast<std::size_t>(i)];
  return fit;
}

double GammaGammaExpectedValue(const GammaGammaParams& p, const SpendSummary& s) {
  return p.p * (p.gamma + s.x * s.m) / (p.p * s.x + p.q - 1);
}

}  // namespace treu
