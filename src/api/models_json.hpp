// The JSON shapes of model runs, per-customer predictions and back-tests, shared by the HTTP
// API and the CLI (`treu fit --json`, `treu predict --json`, `treu backtest --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "analytics/predictions.hpp"

namespace treu {

// {"id", "model", "status", "params": {...}, "std_errors": {...}, "log_likelihood",
//  "n_customers", "converged", "iterations", "calibration_end", "unit", "seconds",
//  "created_at", "finished_at", "error"}. Money parameters (Gamma-Gamma's gamma) are in major
// units of the workspace's currency. NaN standard errors are null.
nlohmann::json ModelRunJson(const ModelRun& run);

// {"customer_id", "as_of", "model", "model_run", "spend_model_run", "p_alive",
//  "expected_purchases_90d", "expected_value", "clv_12m", "currency",
//  "rfm": {"r", "f", "m", "segment", "segment_title"} | null, "summary": "..."}.
nlohmann::json CustomerPredictionJson(const Snapshot& s, const CustomerPredictions& p, Snapshot::Index c);

// {"model", "fit": ModelRunJson, "calibration_end", "holdout_end", "holdout_length",
//  "unit", "customers", "predicted_total", "actual_total", "mae", "rmse", "correlation",
//  "weekly": [{"week", "start", "actual", "predicted"}]}
nlohmann::json BacktestJson(const BacktestReport& r);

// A plain-language reading of a P(alive): "likely still active: 82%".
std::string AliveSummary(double p_alive);

}  // namespace treu
