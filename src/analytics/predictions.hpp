// Predictions over a workspace's orders: the purchase summaries the models fit on, model fits
// as runs to store, and the per-customer fields segments and the dashboard use (p_alive,
// expected_purchases_90d, clv_12m, RFM). Snapshot in, numbers out; no storage.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/backtest.hpp"
#include "models/gamma_gamma.hpp"
#include "models/purchase_model.hpp"
#include "models/rfm.hpp"
#include "models/summary.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu {

// The models `treu fit` and POST /api/v1/models/{model}/fit take: the purchase models and
// gamma_gamma; "all" is the four.
inline constexpr std::string_view kFittableModels[] = {"bgnbd", "pareto_nbd", "mbgnbd", "gamma_gamma"};
// InvalidArgument naming `field` unless `name` is one of kFittableModels or "all".
Result<std::vector<std::string>> ParseModelList(std::string_view field, std::string_view name);

// Purchase summaries of every customer with an order on or before the calibration end.
struct PurchaseData {
  CivilDate calibration_end;
  double unit_days = 7;
  std::vector<Snapshot::Index> customers;
  std::vector<CustomerSummary> summaries;  // per customer above
};
// Days are UTC days, as in SummarizePurchases.
PurchaseData SummarizeSnapshot(const Snapshot& s, CivilDate calibration_end, double unit_days);

struct FitRequest {
  std::string model;                    // one of kFittableModels
  std::optional<CivilDate> calibration_end;  // default: the day of `now` (UTC)
  double unit_days = 7;                 // 7 (weeks) or 1 (days)
};
// Fits the model on the snapshot's orders up to the calibration end (gamma_gamma: on the
// customers with repeat purchases of positive value, in major units of the currency). The result is a
// succeeded run to store (workspace, created_at and finished_at set from `now`).
// InvalidArgument for an unknown model or a sample too small to fit; FailedPrecondition when
// the optimiser does not converge.
Result<ModelRun> FitModel(const Snapshot& s, const FitRequest& request, Timestamp now);

// Fits run.model (one of kFittableModels) on these histories — purchase models on `rft`,
// gamma_gamma on `spend` — and fills in the run's results (params, std_errors,
// log_likelihood, customers, evaluations) and status succeeded. Errors as FitModel's.
Status FitInto(ModelRun& run, std::span<const PurchaseSummary> rft, std::span<const SpendSummary> spend);

// The parameters of stored runs, for predictions.
Result<PurchaseModelParams> PurchaseParamsOf(const ModelRun& run);
Result<GammaGammaParams> SpendParamsOf(const ModelRun& run);

// Per-customer fields, indexed by snapshot index. NaN (and segment nullopt) for customers
// without orders, for clv_12m also when no spend model has been fitted.
struct CustomerPredictions {
  std::int64_t purchase_run = 0, spend_run = 0;  // model runs used (0: none)
  std::string purchase_model;
  CivilDate as_of;
  std::vector<double> p_alive, expected_purchases_90d, expected_value, clv_12m;  // money: major units
  std::vector<std::uint8_t> rfm_r, rfm_f, rfm_m;  // 0 when no orders
  std::vector<std::optional<RfmSegment>> rfm_segment;
  double clv_mean = NAN;  // mean clv_12m over the customers that have one
};
// Predictions as of the day of `now` (UTC): histories run to that day, with the parameters of
// the purchase run (and the spend run, if any). REQUIRES: purchase.status succeeded.
Result<CustomerPredictions> PredictCustomers(const Snapshot& s, const ModelRun& purchase,
                                             const std::optional<ModelRun>& spend, Timestamp now);

// The runs the per-customer predictions use: the newest succeeded run of the workspace's
// purchase model and of gamma_gamma (if any). FailedPrecondition when the purchase model has
// never been fitted.
struct PredictionRuns {
  ModelRun purchase;
  std::optional<ModelRun> spend;
};
Result<PredictionRuns> LatestRuns(Store& store, const Workspace& ws);

// The back-test of a purchase model: fitted up to the calibration end, compared with each
// customer's purchases from then to `holdout_end`.
struct BacktestReport {
  ModelRun fit;
  CivilDate holdout_end;
  double holdout_units = 0;
  PredictionAccuracy accuracy;
  std::vector<TrackingPoint> weekly;  // repeat purchases per week from the first purchase day
  CivilDate first_day;                // of the data (week 1 starts here)
};
// InvalidArgument unless the model is a purchase model and the calibration end lies before
// the last order day.
Result<BacktestReport> Backtest(const Snapshot& s, std::string_view model, CivilDate calibration_end,
                                double unit_days, Timestamp now);

}  // namespace treu
