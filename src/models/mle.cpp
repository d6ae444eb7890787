#include "models/mle.hpp"

#include <algorithm>
#include <cmath>
#include <nlopt.hpp>

namespace treu {
namespace {

// Inverts a square matrix by Gauss-Jordan with partial pivoting; false if singular.
bool Invert(std::vector<std::vector<double>>& m) {
  const std::size_t n = m.size();
  std::vector<std::vector<double>> a(n, std::vector<double>(2 * n, 0));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) a[i][j] = m[i][j];
    a[i][n + i] = 1;
  }
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < n; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    }
    if (std::abs(a[pivot][c]) < 1e-300) return false;
    std::swap(a[c], a[pivot]);
    const double d = a[c][c];
    for (double& v : a[c]) v /= d;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (std::size_t j = 0; j < 2 * n; ++j) a[r][j] -= f * a[c][j];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) m[i][j] = a[i][n + j];
  }
  return true;
}

struct Ctx {
  const LogLikelihood* ll;
  int evaluations = 0;
  std::vector<double> best_log_theta;  // the best point evaluated so far
  double best = HUGE_VAL;              // its negative log-likelihood
};

// The negative log-likelihood over log-parameters, for NLopt.
double Objective(const std::vector<double>& log_theta, std::vector<double>& grad, void* raw) {
  auto* c = static_cast<Ctx*>(raw);
  ++c->evaluations;
  std::vector<double> theta(log_theta.size());
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = std::exp(log_theta[i]);
  std::vector<double> g(theta.size(), 0);
  const double ll = (*c->ll)(theta, grad.empty() ? nullptr : &g);
  // d/d(ln θ) = θ · d/dθ.
  for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = -g[i] * theta[i];
  const double value = std::isfinite(ll) ? -ll : HUGE_VAL;
  if (value < c->best) {
    c->best = value;
    c->best_log_theta = log_theta;
  }
  return value;
}

}  // namespace

Result<MleResult> MaximizeLikelihood(const std::string& model, const LogLikelihood& ll,
                                     std::vector<double> start) {
  const unsigned n = static_cast<unsigned>(start.size());
  Ctx ctx{&ll, 0};
  // Log-parameters within ±20 (parameters from 2e-9 to 5e8).
  auto make = [&](nlopt::algorithm algorithm, int max_evaluations) {
    nlopt::opt o(algorithm, n);
    o.set_min_objective(Objective, &ctx);
    o.set_lower_bounds(std::vector<double>(n, -20.0));
    o.set_upper_bounds(std::vector<double>(n, 20.0));
    o.set_ftol_rel(1e-12);
    o.set_xtol_rel(1e-10);
    o.set_maxeval(max_evaluations);
    return o;
  };
  nlopt::opt opt = make(nlopt::LD_LBFGS, 5000);
  std::vector<double> x(n);
  for (unsigned i = 0; i < n; ++i) x[i] = std::log(start[i]);
  double value = 0;
  nlopt::result rc = nlopt::FAILURE;
  std::string failure;
  try {
    rc = opt.optimize(x, value);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty() && !ctx.best_log_theta.empty()) {
    // L-BFGS's line search gives up when the likelihood is flat to rounding, e.g. along a ridge
    // to a boundary (a, b → ∞ together when customers don't differ in their drop-out). Go on
    // from the best point without derivatives (Subplex), which only compares values.
    nlopt::opt polish = make(nlopt::LN_SBPLX, 4000);
    x = ctx.best_log_theta;
    try {
      rc = polish.optimize(x, value);
      failure.clear();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!failure.empty()) {
    return FailedPrecondition(model + " fit", "the optimiser stopped after " + std::to_string(ctx.evaluations) +
                                                  " evaluations without reaching a maximum (" + failure +
                                                  "); the data may be too few or too regular for this model");
  }
  if (rc < 0 || rc == nlopt::MAXEVAL_REACHED || !std::isfinite(value)) {
    return FailedPrecondition(model + " fit",
                              "did not converge after " + std::to_string(ctx.evaluations) + " evaluations");
  }
  MleResult out;
  out.theta.resize(n);
  for (unsigned i = 0; i < n; ++i) out.theta[i] = std::exp(x[i]);
  out.log_likelihood = -value;
  out.evaluations = ctx.evaluations;
  // Observed information by central differences of the analytic gradient.
  std::vector<std::vector<double>> info(n, std::vector<double>(n, 0));
  for (unsigned j = 0; j < n; ++j) {
    const double h = 1e-5 * out.theta[j];
    auto up = out.theta, down = out.theta;
    up[j] += h;
    down[j] -= h;
    std::vector<double> gu(n, 0), gd(n, 0);
    ll(up, &gu);
    ll(down, &gd);
    for (unsigned i = 0; i < n; ++i) info[i][j] = -(gu[i] - gd[i]) / (2 * h);
  }
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned j = 0; j < i; ++j) info[i][j] = info[j][i] = (info[i][j] + info[j][i]) / 2;
  }
  out.std_errors.assign(n, NAN);
  if (Invert(info)) {
    for (unsigned i = 0; i < n; ++i) out.std_errors[i] = info[i][i] > 0 ? std::sqrt(info[i][i]) : NAN;
  }
  return out;
}

}  // namespace treu
