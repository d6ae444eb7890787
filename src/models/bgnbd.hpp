// The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
// the easy way"): purchases follow a Poisson process with a gamma(r, α) rate while the
// customer is alive; after each purchase the customer drops out with a beta(a, b)
// probability. Pure numerics: per-customer summaries in, parameters and predictions out.
#pragma once

#include <array>
#include <span>

#include "core/status.hpp"

namespace treu {

// One customer's purchase history in model time units (weeks, days): x repeat purchases,
// the last of them at t_x after the first purchase, observed for T after the first purchase.
struct PurchaseSummary {
  double x = 0;
  double t_x = 0;
  double T = 0;
};

struct BgNbdParams {
  double r = 1, alpha = 1, a = 1, b = 1;
};

struct BgNbdFit {
  BgNbdParams params;
  double log_likelihood = 0;               // of the whole sample at params
  std::array<double, 4> std_errors{};       // of r, α, a, b, from the observed information
  int evaluations = 0;                      // likelihood evaluations the optimiser used
};

// Log-likelihood of the sample and its gradient with respect to (ln r, ln α, ln a, ln b).
double BgNbdLogLikelihood(const BgNbdParams& p, std::span<const PurchaseSummary> data,
                          std::array<double, 4>* gradient_log_params = nullptr);

// Maximum-likelihood fit (L-BFGS on the log-parameters from r = α = a = b = 1, analytic
// gradient). InvalidArgument for an empty or invalid sample; FailedPrecondition when the
// optimiser does not converge.
Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> data);

// The probability that a customer with this history is still alive at T.
double BgNbdPAlive(const BgNbdParams& p, const PurchaseSummary& s);

}  // namespace treu
