#include "models/bgnbd.hpp"

#include <boost/math/special_functions/digamma.hpp>

#include <cmath>
#include <nlopt.hpp>
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

// Inverts a symmetric positive definite 4×4 matrix by Gauss-Jordan; false if singular.
bool Invert(std::array<std::array<double, 4>, 4>& m) {
  std::array<std::array<double, 8>, 4> a{};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) a[i][j] = m[i][j];
    a[i][4 + i] = 1;
  }
  for (int c = 0; c < 4; ++c) {
    int pivot = c;
    for (int r = c + 1; r < 4; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    }
    if (std::abs(a[pivot][c]) < 1e-300) return false;
    std::swap(a[c], a[pivot]);
    const double d = a[c][c];
    for (double& v : a[c]) v /= d;
    for (int r = 0; r < 4; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (int j = 0; j < 8; ++j) a[r][j] -= f * a[c][j];
    }
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) m[i][j] = a[i][4 + j];
  }
  return true;
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
  struct Ctx {
    std::span<const PurchaseSummary> data;
    int evaluations = 0;
  } ctx{data, 0};
  // Minimise the negative log-likelihood over the log-parameters.
  auto objective = [](const std::vector<double>& th, std::vector<double>& grad, void* raw) -> double {
    auto* c = static_cast<Ctx*>(raw);
    ++c->evaluations;
    const BgNbdParams p{std::exp(th[0]), std::exp(th[1]), std::exp(th[2]), std::exp(th[3])};
    std::array<double, 4> g{};
    const double ll = BgNbdLogLikelihood(p, c->data, grad.empty() ? nullptr : &g);
    for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = -g[i];
    return std::isfinite(ll) ? -ll : HUGE_VAL;
  };
  nlopt::opt opt(nlopt::LD_LBFGS, 4);
  opt.set_min_objective(objective, &ctx);
  opt.set_lower_bounds(std::vector<double>(4, -20.0));
  opt.set_upper_bounds(std::vector<double>(4, 20.0));
  opt.set_ftol_rel(1e-12);
  opt.set_xtol_rel(1e-10);
  opt.set_maxeval(5000);
  std::vector<double> th(4, 0.0);  // r = α = a = b = 1
  double value = 0;
  nlopt::result rc;
  try {
    rc = opt.optimize(th, value);
  } catch (const std::exception& e) {
    return FailedPrecondition("bgnbd fit", std::string("the optimiser failed: ") + e.what());
  }
  if (rc < 0 || rc == nlopt::MAXEVAL_REACHED || !std::isfinite(value)) {
    return FailedPrecondition("bgnbd fit", "did not converge after " + std::to_string(ctx.evaluations) +
                                               " evaluations");
  }
  BgNbdFit fit;
  fit.params = {std::exp(th[0]), std::exp(th[1]), std::exp(th[2]), std::exp(th[3])};
  fit.log_likelihood = -value;
  fit.evaluations = ctx.evaluations;
  // Standard errors: the inverse of the observed information (minus the Hessian of the
  // log-likelihood in the natural parameters), from central differences of the gradient.
  const std::array<double, 4> theta = {fit.params.r, fit.params.alpha, fit.params.a, fit.params.b};
  auto grad_natural = [&](std::array<double, 4> at) {
    std::array<double, 4> g{};
    BgNbdLogLikelihood({at[0], at[1], at[2], at[3]}, data, &g);
    for (int i = 0; i < 4; ++i) g[i] /= at[i];
    return g;
  };
  std::array<std::array<double, 4>, 4> info{};
  for (int j = 0; j < 4; ++j) {
    const double h = 1e-5 * theta[j];
    auto up = theta, down = theta;
    up[j] += h;
    down[j] -= h;
    const auto gu = grad_natural(up), gd = grad_natural(down);
    for (int i = 0; i < 4; ++i) info[i][j] = -(gu[i] - gd[i]) / (2 * h);
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < i; ++j) info[i][j] = info[j][i] = (info[i][j] + info[j][i]) / 2;
  }
  if (Invert(info)) {
    for (int i = 0; i < 4; ++i) fit.std_errors[i] = info[i][i] > 0 ? std::sqrt(info[i][i]) : NAN;
  } else {
    fit.std_errors.fill(NAN);
  }
  return fit;
}

double BgNbdPAlive(const BgNbdParams& p, const PurchaseSummary& s) {
  if (s.x <= 0) return 1.0;
  const double odds = p.a / (p.b + s.x - 1) *
                      std::exp((p.r + s.x) * (std::log(p.alpha + s.T) - std::log(p.alpha + s.t_x)));
  return 1.0 / (1.0 + odds);
}

}  // namespace treu
