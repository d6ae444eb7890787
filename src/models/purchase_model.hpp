// One front door to the purchase models (BG/NBD, Pareto/NBD, MBG/NBD): fit, per-customer
// predictions and the predicted customer lifetime value of ../shared/KPIS.md, whichever model
// a workspace uses. Pure numerics; times are in the model's unit (weeks or days).
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "domain/domain.hpp"
#include "models/bgnbd.hpp"
#include "models/gamma_gamma.hpp"

namespace treu {

struct PurchaseModelParams {
  PurchaseModel model = PurchaseModel::kParetoNbd;
  std::array<double, 4> values{1, 1, 1, 1};  // in the order of PurchaseModelParamNames
};
// (r, alpha, a, b) for BG/NBD and MBG/NBD; (r, alpha, s, beta) for Pareto/NBD.
std::array<std::string_view, 4> PurchaseModelParamNames(PurchaseModel m);

struct PurchaseModelFit {
  PurchaseModelParams params;
  double log_likelihood = 0;
  std::array<double, 4> std_errors{};
  int evaluations = 0;
  double customers = 0;  // Σ n of the data
};

// Maximum-likelihood fit of `model`. InvalidArgument for an empty or invalid sample,
// FailedPrecondition when the optimiser does not converge.
Result<PurchaseModelFit> FitPurchaseModel(PurchaseModel model, std::span<const PurchaseSummary> data);

// The probability that a customer with this history is still alive at T.
double PAlive(const PurchaseModelParams& p, const PurchaseSummary& s);
// Expected purchases in (T, T + t] given the history.
double ExpectedPurchases(const PurchaseModelParams& p, const PurchaseSummary& s, double t);
// The same at several horizons: out[i] = ExpectedPurchases(p, s, horizons[i]), computing what
// the horizons share once (Pareto/NBD: P(alive)). REQUIRES: out.size() == horizons.size().
void ExpectedPurchasesCurve(const PurchaseModelParams& p, const PurchaseSummary& s,
                            std::span<const double> horizons, std::span<double> out);
// Expected repeat purchases in (0, t] after a new customer's first purchase (0 for t <= 0).
double ExpectedPurchasesNew(const PurchaseModelParams& p, double t);

// The same sample with equal histories merged (n summed), sorted by (x, t_x, T): likelihoods
// then cost per distinct history.
std::vector<PurchaseSummary> CompressSummaries(std::span<const PurchaseSummary> data);

// A month in model time: 365.25 / 12 days.
inline constexpr double kDaysPerMonth = 365.25 / 12;

struct ClvOptions {
  int months = 12;               // H
  double monthly_discount = 0.01;  // d
  double unit_days = 7;          // the model's time unit in days
};
// Predicted CLV of ../shared/KPIS.md: Σ_{i=1..H} expected_value · (expected purchases in
// month i) / (1 + d)^i, from the purchase model's conditional expectation.
double PredictedClv(const PurchaseModelParams& p, const PurchaseSummary& s, double expected_value,
                    const ClvOptions& o);
// The same per unit of expected value: Σ_{i=1..H} (expected purchases in month i) / (1 + d)^i.
double DiscountedPurchases(const PurchaseModelParams& p, const PurchaseSummary& s, const ClvOptions& o);

// What the per-customer fields need of one history, sharing the work (one P(alive)):
// P(alive), expected purchases over `horizon` and DiscountedPurchases.
struct Forecast {
  double p_alive = 0, expected_purchases = 0, discounted_purchases = 0;
};
Forecast ForecastHistory(const PurchaseModelParams& p, const PurchaseSummary& s, double horizon,
                         const ClvOptions& o);

}  // namespace treu
