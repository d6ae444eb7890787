// The MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007; BTYDplus
// `mbgcnbd` with k = 1): the BG/NBD (bgnbd.hpp), except that a customer may also drop out right
// after the first purchase, so that one-time buyers are not all alive. Purchases follow a
// Poisson process with a gamma(r, α) rate while alive; at the first purchase and after each
// repeat purchase the customer drops out with a beta(a, b) probability. Pure numerics, thread
// safe; the likelihood and the fit use up to two threads of their own on large samples.
#pragma once

#include <array>
#include <span>

#include "core/status.hpp"
#include "models/bgnbd.hpp"  // PurchaseSummary

namespace treu {

struct MbgNbdParams {
  double r = 1, alpha = 1, a = 1, b = 1;
};

struct MbgNbdFit {
  MbgNbdParams params;
  double log_likelihood = 0;           // of the whole sample at params
  std::array<double, 4> std_errors{};  // of r, α, a, b, from the observed information
  int evaluations = 0;  // likelihood evaluations of the optimiser (subsample included)
};

// Log-likelihood of the sample, each history weighted by its n, and (when the pointer is not
// null) its gradient with respect to (ln r, ln α, ln a, ln b). Per history:
//   ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b)
//   + ln[(α+T)^−(r+x) + a/(b+x) (α+t_x)^−(r+x)].
// REQUIRES: every parameter > 0; a sample that FitMbgNbd accepts.
double MbgNbdLogLikelihood(const MbgNbdParams& p, std::span<const PurchaseSummary> data,
                           std::array<double, 4>* gradient_log_params = nullptr);

// Maximum-likelihood fit, as FitBgNbd (same optimiser, start, subsampling of large samples,
// determinism, validation and errors).
Result<MbgNbdFit> FitMbgNbd(std::span<const PurchaseSummary> data);

// The probability that a customer with this history is alive at T:
// 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)), below 1 also when x = 0.
// REQUIRES: parameters > 0 and a valid history; NaN otherwise.
double MbgNbdPAlive(const MbgNbdParams& p, const PurchaseSummary& s);

// Conditional expected number of purchases in (T, T + t] given the history: P(alive) times the
// expected purchases before drop-out with rate ~ gamma(r+x, α+T) and drop-out probability
// ~ beta(a, b+x+1), by the positive series of BgNbdExpectedPurchases (equal to
// (a+b+x)/(a−1) [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))] P(alive)).
// REQUIRES: parameters > 0, a valid history, t >= 0; NaN otherwise.
double MbgNbdExpectedPurchases(const MbgNbdParams& p, const PurchaseSummary& s, double t);

// Unconditional E[X(t)] for a new customer:
// b/(a−1) [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))], by the same series.
// REQUIRES: parameters > 0, t >= 0; NaN otherwise.
double MbgNbdExpectedPurchasesNew(const MbgNbdParams& p, double t);

// P(X(t) = n) for a new customer:
// [n = 0] a/(a+b) + B(a, b+n+1)/B(a, b) NB(n) + [n > 0] B(a+1, b+n)/B(a, b) I_z(n, r),
// with NB(n) = Γ(r+n)/(Γ(r) n!) (α/(α+t))^r z^n, z = t/(α+t), and I the regularized incomplete
// beta function (the probability of at least n purchases while alive).
// REQUIRES: parameters > 0, t >= 0; NaN otherwise. 0 for n < 0.
double MbgNbdProbPurchases(const MbgNbdParams& p, double t, int n);

}  // namespace treu
