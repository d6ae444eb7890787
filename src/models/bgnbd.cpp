#include "models/bgnbd.hpp"

#include "models/mle.hpp"

#include <boost/math/special_functions/digamma.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace treu {
namespace {

using boost::math::digamma;

// log(e^u + e^v) without overflow.
double LogAddExp(double u, double v) {
  const double m = std::max(u, v);
  return m + std::log(std::exp(u - m) + std::exp(v - m));
}

}  // namespace

double BgNbdLogLikelihood(const BgNbdParams& p, std::span<const PurchaseSummary> data,
                          std::array<double, 4>* gradient_log_params) {
  const double r = p.r, alpha = p.alpha, a = p.a, b = p.b;
  const double lg_r = std::lgamma(r), lg_b = std::lgamma(b), lg_ab = std::lgamma(a + b);
  const double ln_alpha = std::log(alpha), ln_a = std::log(a);
  const double dg_r = digamma(r), dg_b = digamma(b), dg_ab = digamma(a + b);
  double ll = 0;
  std::array<double, 4> g{};  // d/dr, d/dα, d/da, d/db
  for (const PurchaseSummary& s : data) {
    const double x = s.x;
    const double a1 = std::lgamma(r + x) - lg_r + r * ln_alpha;
    const double a2 = lg_ab + std::lgamma(b + x) - lg_b - std::lgamma(a + b + x);
    const double a3 = -(r + x) * std::log(alpha + s.T);
    double tail = a3, w3 = 1, w4 = 0;
    if (x > 0) {
      const double a4 = ln_a - std::log(b + x - 1) - (r + x) * std::log(alpha + s.t_x);
      tail = LogAddExp(a3, a4);
      w3 = std::exp(a3 - tail);
      w4 = std::exp(a4 - tail);
    }
    ll += a1 + a2 + tail;
    if (gradient_log_params != nullptr) {
      const double dg_rx = digamma(r + x);
      g[0] += dg_rx - dg_r + ln_alpha - w3 * std::log(alpha + s.T) -
              (x > 0 ? w4 * std::log(alpha + s.t_x) : 0);
      g[1] += r / alpha - w3 * (r + x) / (alpha + s.T) - (x > 0 ? w4 * (r + x) / (alpha + s.t_x) : 0);
      const double dg_abx = digamma(a + b + x);
      g[2] += dg_ab - dg_abx + (x > 0 ? w4 / a : 0);
      g[3] += dg_ab + digamma(b + x) - dg_b - dg_abx - (x > 0 ? w4 / (b + x - 1) : 0);
    }
  }
  if (gradient_log_params != nullptr) {
    // Chain rule for the log-parameters: d/d(ln θ) = θ · d/dθ.
    *gradient_log_params = {g[0] * r, g[1] * alpha, g[2] * a, g[3] * b};
  }
  return ll;
}

Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> data) {
  if (data.empty()) return InvalidArgument("data", "no customers to fit");
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PurchaseSummary& s = data[i];
    if (!(s.x >= 0 && s.t_x >= 0 && s.T >= s.t_x) || (s.x > 0 && s.t_x <= 0) || !std::isfinite(s.T)) {
      return InvalidArgument("data[" + std::to_string(i) + "]",
                             "needs x >= 0, 0 <= t_x <= T, and t_x > 0 when x > 0");
    }
  }
  const LogLikelihood ll = [&](const std::vector<double>& th, std::vector<double>* gradient) {
    const BgNbdParams p{th[0], th[1], th[2], th[3]};
    std::array<double, 4> g{};
    const double v = BgNbdLogLikelihood(p, data, gradient != nullptr ? &g : nullptr);
    if (gradient != nullptr) {
      for (int i = 0; i < 4; ++i) (*gradient)[i] = g[i] / th[i];  // back to natural parameters
    }
    return v;
  };
  TREU_ASSIGN_OR_RETURN(MleResult m, MaximizeLikelihood("bgnbd", ll, {1, 1, 1, 1}));
  BgNbdFit fit;
  fit.params = {m.theta[0], m.theta[1], m.theta[2], m.theta[3]};
  fit.log_likelihood = m.log_likelihood;
  fit.evaluations = m.evaluations;
  for (int i = 0; i < 4; ++i) fit.std_errors[i] = m.std_errors[i];
  return fit;
}

double BgNbdPAlive(const BgNbdParams& p, const PurchaseSummary& s) {
  if (s.x <= 0) return 1.0;
  const double odds = p.a / (p.b + s.x - 1) *
                      std::exp((p.r + s.x) * (std::log(p.alpha + s.T) - std::log(p.alpha + s.t_x)));
  return 1.0 / (1.0 + odds);
}

}  // namespace treu
