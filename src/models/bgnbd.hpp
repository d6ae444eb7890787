// The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
// the easy way"): purchases follow a Poisson process with a gamma(r, α) rate while the
// customer is alive; after each purchase the customer drops out with a beta(a, b)
// probability. Pure numerics: per-customer summaries in, parameters and predictions out.
// Every function is thread safe; the likelihood and the fit use up to two threads of their own
// on large samples.
#pragma once

#include <array>
#include <span>

#include "core/status.hpp"

namespace treu {

// One customer's purchase history in model time units (weeks, days): x repeat purchases,
// the last of them at t_x after the first purchase, observed for T after the first purchase.
// `n` is the number of customers with exactly this history (the likelihoods weight by it), so
// a sample may be compressed to its distinct histories.
struct PurchaseSummary {
  double x = 0;
  double t_x = 0;
  double T = 0;
  double n = 1;
};

struct BgNbdParams {
  double r = 1, alpha = 1, a = 1, b = 1;
};

struct BgNbdFit {
  BgNbdParams params;
  double log_likelihood = 0;           // of the whole sample at params
  std::array<double, 4> std_errors{};  // of r, α, a, b, from the observed information
  int evaluations = 0;  // likelihood evaluations of the optimiser (subsample included)
};

// Log-likelihood of the sample, each history weighted by its n, and (when the pointer is not
// null) its gradient with respect to (ln r, ln α, ln a, ln b). The sample is first reduced to
// its distinct x, T, t_x and histories (when times repeat, as whole days do), so that an
// evaluation costs a few special functions per distinct x, a log per distinct T and t_x, and an
// exp and a log per distinct history; large samples are summed on two threads, in fixed halves.
// REQUIRES: every parameter > 0; a sample that FitBgNbd accepts.
double BgNbdLogLikelihood(const BgNbdParams& p, std::span<const PurchaseSummary> data,
                          std::array<double, 4>* gradient_log_params = nullptr);

// Maximum-likelihood fit (L-BFGS on the log-parameters, analytic gradient; samples of more
// than 100,000 histories are first fitted on a fixed systematic subsample of about 50,000, and
// the optimiser then continues on the whole sample from there, so convergence is always judged
// on the whole sample). The result is deterministic: the same sample gives the same bits.
// InvalidArgument for an empty sample or an invalid history: each needs finite x >= 0,
// 0 <= t_x <= T, t_x > 0 when x > 0, t_x = 0 when x = 0, and a finite weight n > 0.
// FailedPrecondition when the optimiser does not converge.
Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> data);

// The probability that a customer with this history is still alive at T (1 when x = 0):
// 1 / (1 + [x > 0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)). REQUIRES: parameters > 0, a valid history.
double BgNbdPAlive(const BgNbdParams& p, const PurchaseSummary& s);

// Conditional expected number of purchases in (T, T + t] given the history (FHL 2005 eq. 10).
// Computed as P(alive) times the expected purchases before drop-out under the posterior
// (rate ~ gamma(r+x, α+T), drop-out probability ~ beta(a, b+x)): a series of positive terms,
// so without eq. 10's cancellation (as t -> 0 or a -> 1), its singularity at a = 1, its need for
// a + b + x > 1 or its overflow for large x. The truncation error is bounded below 1e-17
// relative and rounding is ~1e-16 sqrt(terms); it agrees with eq. 10 evaluated with Hyp2F1
// (hyp2f1.hpp) to ~2e-13 where eq. 10 is well conditioned. Cost: about 2 ns per term, roughly
// (r+x) t/(α+T) + 40/(1−z) terms with z = t/(α+T+t) (0.2 us for customer 1 of CDNOW at t = 39).
// REQUIRES: parameters > 0, a valid history (see FitBgNbd), t >= 0; NaN otherwise.
double BgNbdExpectedPurchases(const BgNbdParams& p, const PurchaseSummary& s, double t);

// Unconditional E[X(t)]: expected repeat purchases in (0, t] after a new customer's first
// purchase (FHL eq. 9), by the same series as above with x = 0, T = 0.
// REQUIRES: parameters > 0, t >= 0; NaN otherwise.
double BgNbdExpectedPurchasesNew(const BgNbdParams& p, double t);

// P(X(t) = n) for a new customer (FHL eq. 8), with the negative-binomial tail in eq. 8 taken
// as a regularized incomplete beta function (no cancellation for large n).
// REQUIRES: parameters > 0, t >= 0; NaN otherwise. 0 for n < 0.
double BgNbdProbPurchases(const BgNbdParams& p, double t, int n);

// The BG/NBD and MBG/NBD (mbgnbd.hpp) models share the likelihood form, the fitting procedure
// and the prediction series; these are that shared machinery, for models/bgnbd.cpp and
// models/mbgnbd.cpp only.
namespace beta_geometric_internal {

// BG/NBD: a drop-out chance after each repeat purchase. MBG/NBD: also right after the first.
enum class Dropout { kAfterRepeatPurchases, kAlsoAfterFirstPurchase };

// The validation of FitBgNbd; InvalidArgument naming the first bad history.
Status ValidateSample(std::span<const PurchaseSummary> data);
// Parameters all positive and finite; a history as ValidateSample requires it.
bool ValidParams(const BgNbdParams& p);
bool ValidHistory(const PurchaseSummary& s);

// P(X(t) = n) for a new customer (BG/NBD: FHL eq. 8; MBG/NBD: the same with the extra drop-out
// chance). REQUIRES: valid parameters, t >= 0; NaN otherwise. 0 for n < 0.
double ProbPurchases(Dropout dropout, const BgNbdParams& p, double t, int n);

// The weighted log-likelihood and its gradient in the log-parameters (r, α, a, b).
// REQUIRES: a sample that ValidateSample accepts.
double LogLikelihood(Dropout dropout, const BgNbdParams& p, std::span<const PurchaseSummary> data,
                     std::array<double, 4>* gradient_log_params);

// The fit described at FitBgNbd; `model` names the model in errors.
Result<BgNbdFit> Fit(Dropout dropout, std::span<const PurchaseSummary> data, const char* model);

// E[(1 - exp(-λ p t)) / p] over λ ~ gamma(shape, rate) and p ~ beta(a, b): the expected number
// of purchases in a period of length t by a customer alive at its start, with purchase rate λ
// and drop-out probability p after each purchase. REQUIRES: all arguments > 0 except t >= 0.
double ExpectedPurchasesBeforeDropout(double shape, double rate, double a, double b, double t);

}  // namespace beta_geometric_internal

}  // namespace treu
