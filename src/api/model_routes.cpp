#include "api/model_routes.hpp"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "analytics/model_fits.hpp"
#include "analytics/prediction_views.hpp"
#include "api/models_json.hpp"
#include "api/problem.hpp"
#include "api/route_support.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

// The body of a fit request: {"calibration_end": "YYYY-MM-DD", "unit": "week"|"day"}, both
// optional; an empty body takes the defaults.
Result<FitRequest> ParseFitRequest(RequestContext& ctx) {
  FitRequest req;
  req.model = ctx.params.at("model");
  if (ctx.request.body.empty()) return req;
  const json j = json::parse(ctx.request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body", "must be a JSON object");
  for (const auto& [name, value] : j.items()) {
    if (name == "calibration_end") {
      if (!value.is_string()) return InvalidArgument("calibration_end", "must be a date YYYY-MM-DD");
      auto d = ParseDate(value.get<std::string>());
      if (!d) return InvalidArgument("calibration_end", d.error().detail());
      req.calibration_end = *d;
    } else if (name == "unit") {
      if (value != "week" && value != "day") return InvalidArgument("unit", "must be week or day");
      req.unit_days = value == "day" ? 1 : 7;
    } else {
      return InvalidArgument(name, "is not a field of a fit request (calibration_end, unit)");
    }
  }
  return req;
}

Result<HttpResponse> StartFit(RequestContext& ctx) {
  if (ctx.fits == nullptr) return Unavailable("models", "this server doesn't run model fits");
  TREU_ASSIGN_OR_RETURN(FitRequest req, ParseFitRequest(ctx));
  TREU_ASSIGN_OR_RETURN(auto models, ParseModelList("model", req.model));
  if (models.size() != 1) return InvalidArgument("model", "fit one model at a time");
  TREU_ASSIGN_OR_RETURN(ModelRun run, ctx.fits->Submit(ctx.store, ctx.workspace(), req));
  HttpResponse r = JsonResponse(ModelRunJson(run), 202);
  r.headers.emplace_back("Location", "/api/v1/models/runs/" + std::to_string(run.id));
  return r;
}

Result<HttpResponse> ListModels(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  std::string model;
  if (const std::string* m = ctx.request.Query("model")) {
    TREU_ASSIGN_OR_RETURN(auto list, ParseModelList("model", *m));
    if (list.size() != 1) return InvalidArgument("model", "name one model");
    model = *m;
  }
  TREU_ASSIGN_OR_RETURN(auto runs, ctx.store.ListModelRuns(ws.id, model, 50));
  json data = json::array();
  for (const ModelRun& r : runs) data.push_back(ModelRunJson(r));
  json names = json::array();
  for (std::string_view m : kFittableModels) names.push_back(m);
  return JsonResponse({{"purchase_model", PurchaseModelName(ws.purchase_model)}, {"models", names}, {"runs", data}});
}

// The model run the path's {id} names in the caller's workspace; NotFound otherwise.
Result<ModelRun> RunOf(const RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "model run"));
  TREU_ASSIGN_OR_RETURN(std::optional<ModelRun> run, ctx.store.FindModelRun(ctx.workspace(), id));
  if (!run) return NotFound("model run " + ctx.params.at("id"), "no such model run in this workspace");
  return std::move(*run);
}

Result<HttpResponse> GetRun(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(ModelRun run, RunOf(ctx));
  return JsonResponse(ModelRunJson(run));
}

Result<HttpResponse> CustomerPredictions(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto customer, ctx.store.FindCustomer(ctx.workspace(), id));
  if (!customer) return NotFound("customer " + id, "no such customer");
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(auto p, CurrentPredictions(ctx.store, snap, ctx.clock.Now(), ctx.predictions));
  for (Snapshot::Index c = 0; c < snap->customers(); ++c) {
    if (snap->customer_id(c) == customer->id) return JsonResponse(CustomerPredictionJson(*snap, *p, c));
  }
  // Known to the store but not yet to the snapshot: no orders, so nothing to predict.
  return NotFound("customer " + id, "has no purchase history in the analytics snapshot yet");
}

json NumberOrNull(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json DistributionJson(const Distribution& d) {
  json bins = json::array();
  for (const auto& b : d.bins) bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}});
  return {{"bins", bins}, {"mean", NumberOrNull(d.mean)}, {"median", NumberOrNull(d.median)}};
}

Result<HttpResponse> PredictionDistribution(RequestContext& ctx) {
  int bins = 20;
  if (const std::string* text = ctx.request.Query("bins")) {
    const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), bins);
    if (ec != std::errc() || p != text->data() + text->size() || bins < 1 || bins > 200) {
      return InvalidArgument("bins", "must be a whole number from 1 to 200");
    }
  }
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(auto p, CurrentPredictions(ctx.store, snap, ctx.clock.Now(), ctx.predictions));
  const PredictionDistributions d = DistributionsOf(*p, bins);
  return JsonResponse({{"model", p->purchase_model},
                       {"run_id", p->purchase_run},
                       {"spend_run_id", p->spend_run == 0 ? json(nullptr) : json(p->spend_run)},
                       {"as_of", FormatDate(p->as_of)},
                       {"n", d.n},
                       {"currency", snap->currency().code()},
                       {"p_alive", DistributionJson(d.p_alive)},
                       {"expected_purchases_90d", DistributionJson(d.expected_purchases_90d)},
                       {"clv_12m", d.clv_12m ? DistributionJson(*d.clv_12m) : json(nullptr)}});
}

Result<HttpResponse> RunTrackingRoute(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(ModelRun found, RunOf(ctx));
  const ModelRun* run = &found;
  const std::string& text = ctx.params.at("id");
  if (run->status != JobStatus::kSucceeded) {
    return FailedPrecondition("model run " + text, "has not been fitted (yet): its status is " +
                                                       std::string(JobStatusName(run->status)));
  }
  if (run->model == "gamma_gamma") {
    return InvalidArgument("id", "is a run of gamma_gamma; the tracking chart is of purchase models");
  }
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(RunTracking t, TrackRun(*snap, *run));
  json points = json::array();
  for (const auto& pt : t.points) {
    points.push_back({{"period_start", FormatDate(pt.period_start)},
                      {"actual", pt.actual},
                      {"predicted", pt.predicted},
                      {"actual_cumulative", pt.actual_cumulative},
                      {"predicted_cumulative", pt.predicted_cumulative}});
  }
  return JsonResponse({{"run_id", run->id},
                       {"model", run->model},
                       {"unit", t.unit_days == 1 ? "day" : "week"},
                       {"calibration_end", FormatDate(t.calibration_end)},
                       {"first_day", t.points.empty() ? json(nullptr) : json(FormatDate(t.first_day))},
                       {"points", points}});
}

}  // namespace

std::vector<Route> ModelRoutes() {
  return {
      {"POST", "/api/v1/models/{model}/fit", Access::Requires(Scope::kWrite),
       "Fit a model (bgnbd, pareto_nbd, mbgnbd, gamma_gamma) on the stored orders in the "
       "background; body {\"calibration_end\": \"YYYY-MM-DD\", \"unit\": \"week\"|\"day\"}, both "
       "optional; answers 202 with the run",
       StartFit, "ModelRun", {}, nullptr, 202},
      {"GET", "/api/v1/models", Access::Requires(Scope::kRead),
       "The workspace's purchase model and its newest 50 model runs", ListModels, "ModelList",
       {{"model", "only the runs of this model"}}},
      {"GET", "/api/v1/models/runs/{id}", Access::Requires(Scope::kRead),
       "One model run: status, parameters, standard errors, log-likelihood", GetRun, "ModelRun"},
      {"GET", "/api/v1/customers/{id}/predictions", Access::Requires(Scope::kRead),
       "A customer's predictions today: P(alive), expected purchases in 90 days, expected order "
       "value, 12-month CLV, RFM scores and segment",
       CustomerPredictions, "CustomerPredictions"},
      {"GET", "/api/v1/predictions/distribution", Access::Requires(Scope::kRead),
       "Histograms of today's P(alive), expected purchases in 90 days and 12-month CLV over all customers "
       "with orders, from the purchase model's newest run (and gamma_gamma's); 409 until fitted",
       PredictionDistribution, "PredictionDistribution", {{"bins", "bins per histogram, 1 to 200 (default 20)"}}},
      {"GET", "/api/v1/models/runs/{id}/tracking", Access::Requires(Scope::kRead),
       "The repeat-purchase tracking chart of a fitted purchase model run: per week (or day, the run's "
       "unit) actual and expected repeat purchases, and their running totals",
       RunTrackingRoute, "RunTracking"},
  };
}

}  // namespace treu::api
