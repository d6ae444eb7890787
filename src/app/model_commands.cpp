#include "app/model_commands.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "analytics/predictions.hpp"
#include "api/models_json.hpp"
#include "ingest/csv_reader.hpp"
#include "snapshot/snapshot.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

// One row of a summary file.
struct SummaryRow {
  std::string id;
  PurchaseSummary rft;
  std::optional<double> monetary;
};

// Reads a summary file: columns ID,frequency,recency,T[,monetary_value] or ID,x,t_x,T[,zbar]
// (in any order; ID optional). Errors name the line and column.
Result<std::vector<SummaryRow>> ReadSummaryFile(const std::string& path) {
  std::vector<SummaryRow> rows;
  std::map<std::string, std::size_t> col;
  int id = -1, x = -1, t_x = -1, T = -1, m = -1;
  TREU_RETURN_IF_ERROR(ReadCsvFile(
      path,
      [&](std::vector<std::string>& f, std::int64_t line) -> Status {
        if (line == 1 || col.empty()) {
          for (std::size_t i = 0; i < f.size(); ++i) col[f[i]] = i;
          auto find = [&](std::initializer_list<const char*> names) {
            for (const char* n : names) {
              if (auto it = col.find(n); it != col.end()) return static_cast<int>(it->second);
            }
            return -1;
          };
          id = find({"ID", "id", "customer_id"});
          x = find({"frequency", "x"});
          t_x = find({"recency", "t_x"});
          T = find({"T"});
          m = find({"monetary_value", "zbar"});
          if (x < 0 || t_x < 0 || T < 0) {
            return InvalidArgument(path + ":1", "needs the columns frequency,recency,T (or x,t_x,T)");
          }
          return Ok();
        }
        auto number = [&](int c, const char* name) -> Result<double> {
          const std::string& text = f.at(static_cast<std::size_t>(c));
          char* end = nullptr;
          const double v = std::strtod(text.c_str(), &end);
          if (text.empty() || *end != 0 || !std::isfinite(v)) {
            return InvalidArgument(path + ":" + std::to_string(line),
                                   std::string(name) + " '" + text + "' is not a number");
          }
          return v;
        };
        const int need = std::max({id, x, t_x, T, m});
        if (static_cast<int>(f.size()) <= need) {
          return InvalidArgument(path + ":" + std::to_string(line), "has " + std::to_string(f.size()) +
                                                                        " fields, the header more");
        }
        SummaryRow r;
        r.id = id >= 0 ? f[static_cast<std::size_t>(id)] : std::to_string(rows.size() + 1);
        TREU_ASSIGN_OR_RETURN(r.rft.x, number(x, "frequency"));
        TREU_ASSIGN_OR_RETURN(r.rft.t_x, number(t_x, "recency"));
        TREU_ASSIGN_OR_RETURN(r.rft.T, number(T, "T"));
        if (m >= 0) {
          TREU_ASSIGN_OR_RETURN(r.monetary, number(m, "monetary_value"));
        }
        rows.push_back(std::move(r));
        return Ok();
      },
      [](std::int64_t, std::int64_t) {}));
  if (rows.empty()) return InvalidArgument(path, "has no customers");
  return rows;
}

// Fits `model` on a summary file's rows as a run (not stored).
Result<ModelRun> FitSummary(const std::string& model, const std::vector<SummaryRow>& rows, double unit_days) {
  ModelRun run;
  run.model = model;
  run.unit_days = unit_days;
  std::vector<PurchaseSummary> rft;
  std::vector<SpendSummary> spend;
  for (const SummaryRow& r : rows) {
    if (model != "gamma_gamma") {
      rft.push_back(r.rft);
    } else if (!r.monetary) {
      return InvalidArgument("--summary", "gamma_gamma needs a monetary_value (or zbar) column");
    } else if (r.rft.x > 0) {
      spend.push_back({r.rft.x, *r.monetary});
    }
  }
  TREU_RETURN_IF_ERROR(FitInto(run, rft, spend));
  return run;
}

void PrintRun(const ModelRun& r) {
  std::printf("%s: fitted on %lld customers", r.model.c_str(), static_cast<long long>(r.customers));
  if (r.calibration_end != CivilDate{}) std::printf(" up to %s", FormatDate(r.calibration_end).c_str());
  std::printf(" (time unit: %s) in %.2f s, %lld likelihood evaluations\n", r.unit_days == 1 ? "day" : "week",
              r.seconds, static_cast<long long>(r.evaluations));
  for (std::size_t i = 0; i < r.params.size(); ++i) {
    std::printf("  %-8s %12.6f  ± %.6f\n", r.params[i].first.c_str(), r.params[i].second,
                r.std_errors.size() > i ? r.std_errors[i].second : NAN);
  }
  std::printf("  log-likelihood %.4f\n", r.log_likelihood);
}

struct FitFlags {
  std::string model, summary, predictions, calibration_end, unit = "week";
  double horizon = 0;
  int clv_months = 12;
  bool json = false;
};

// `treu fit MODEL --summary FILE`: fits and optionally writes per-customer predictions.
int FitFromSummary(const FitFlags& f, std::vector<std::string> models) {
  const double unit_days = f.unit == "day" ? 1 : 7;
  auto rows = ReadSummaryFile(f.summary);
  if (!rows) return Fail(rows.error());
  // A purchase model's predictions include the spend model's when the file has money.
  if (!f.predictions.empty() && models[0] != "gamma_gamma" && rows->front().monetary) {
    models.push_back("gamma_gamma");
  }
  std::vector<ModelRun> runs;
  for (const std::string& m : models) {
    if (m == "gamma_gamma" && models.size() > 1 && !rows->front().monetary) continue;  // `all` without money
    auto run = FitSummary(m, *rows, unit_days);
    if (!run) return Fail(run.error().WithContext(m));
    runs.push_back(std::move(*run));
  }
  if (f.json) {
    json out = json::array();
    for (const ModelRun& r : runs) {
      json j = ModelRunJson(r);
      for (const char* drop : {"id", "status", "calibration_end", "created_at", "finished_at", "error"}) j.erase(drop);
      out.push_back(std::move(j));
    }
    std::printf("%s\n", (out.size() == 1 ? out[0] : out).dump(2).c_str());
  } else {
    for (const ModelRun& r : runs) PrintRun(r);
  }
  if (f.predictions.empty()) return 0;
  // Predictions: the purchase model's, plus expected value and CLV when a spend model was fitted.
  const ModelRun* purchase = nullptr;
  const ModelRun* spend = nullptr;
  for (const ModelRun& r : runs) {
    if (r.model == "gamma_gamma") {
      spend = &r;
    } else if (purchase == nullptr) {
      purchase = &r;
    }
  }
  if (purchase == nullptr && spend == nullptr) return 0;
  std::ofstream out(f.predictions);
  if (!out) return Fail(Error(ErrorCode::kInvalidArgument, "--predictions", "cannot write " + f.predictions));
  std::optional<PurchaseModelParams> pm;
  if (purchase != nullptr) pm = PurchaseParamsOf(*purchase).value();
  std::optional<GammaGammaParams> gg;
  if (spend != nullptr) gg = SpendParamsOf(*spend).value();
  out << "ID";
  if (pm) out << ",p_alive,expected_purchases";
  if (gg) out << ",expected_value";
  if (pm && gg) out << ",clv";
  out << "\n";
  const ClvOptions clv{f.clv_months, 0.01, unit_days};
  char buf[64];
  for (const SummaryRow& r : *rows) {
    std::string line;
    AppendCsvField(line, r.id);
    auto add = [&](double v) {
      std::snprintf(buf, sizeof buf, ",%.10g", v);
      line += buf;
    };
    if (pm) {
      add(PAlive(*pm, r.rft));
      add(ExpectedPurchases(*pm, r.rft, f.horizon));
    }
    double ev = NAN;
    if (gg) add(ev = GammaGammaExpectedValue(*gg, {r.rft.x, r.monetary.value_or(0)}));
    if (pm && gg) add(PredictedClv(*pm, r.rft, ev, clv));
    out << line << "\n";
  }
  out.close();
  if (!out) return Fail(Error(ErrorCode::kUnavailable, "--predictions", "writing " + f.predictions + " failed"));
  std::fprintf(stderr, "wrote predictions for %zu customers to %s\n", rows->size(), f.predictions.c_str());
  return 0;
}

Result<std::shared_ptr<const Snapshot>> OpenSnapshot(Context& ctx, Store& store, Workspace& ws) {
  TREU_ASSIGN_OR_RETURN(ws, store.FindWorkspace(ctx.workspace));
  return BuildSnapshot(store, ws.id);
}

}  // namespace

std::function<int()> SetupFit(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<FitFlags>();
  cmd.add_option("MODEL", f->model, "bgnbd, pareto_nbd, mbgnbd, gamma_gamma or all")->required();
  cmd.add_option("--calibration-end", f->calibration_end, "fit on the orders up to this day (default: today)");
  cmd.add_option("--unit", f->unit, "the model's time unit: week (default) or day")
      ->check(CLI::IsMember({"week", "day"}));
  cmd.add_option("--summary", f->summary,
                 "fit a summary file instead of the stored orders: ID,frequency,recency,T[,monetary_value] "
                 "or ID,x,t_x,T[,zbar]");
  cmd.add_option("--predictions", f->predictions, "with --summary: write per-customer predictions to this CSV");
  cmd.add_option("--horizon", f->horizon, "with --predictions: expected purchases over this many time units")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--clv-months", f->clv_months, "with --predictions: CLV horizon in months (default 12)")
      ->check(CLI::Range(1, 600));
  cmd.add_flag("--json", f->json, "print JSON instead of a table");
  return [f, &ctx]() -> int {
    auto models = ParseModelList("MODEL", f->model);
    if (!models) return Fail(models.error());
    if (!f->predictions.empty() && f->summary.empty()) {
      return Fail(Error(ErrorCode::kInvalidArgument, "--predictions", "needs --summary"));
    }
    if (!f->predictions.empty() && f->horizon <= 0) {
      return Fail(Error(ErrorCode::kInvalidArgument, "--horizon", "is required with --predictions"));
    }
    if (!f->predictions.empty() && models->size() > 1) {
      return Fail(Error(ErrorCode::kInvalidArgument, "--predictions",
                        "needs one purchase model (bgnbd, pareto_nbd or mbgnbd); it adds expected_value "
                        "and clv when the file has monetary values"));
    }
    if (!f->summary.empty()) return FitFromSummary(*f, *models);
    std::optional<CivilDate> end;
    if (!f->calibration_end.empty()) {
      auto d = ParseDate(f->calibration_end);
      if (!d) return Fail(Error(ErrorCode::kInvalidArgument, "--calibration-end", d.error().detail()));
      end = *d;
    }
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    Workspace ws;
    auto snap = OpenSnapshot(ctx, **store, ws);
    if (!snap) return Fail(snap.error());
    json out = json::array();
    for (const std::string& m : *models) {
      auto run = FitModel(**snap, {m, end, f->unit == "day" ? 1.0 : 7.0}, ctx.clock.Now());
      if (!run) return Fail(run.error().WithContext(m));
      auto stored = (*store)->CreateModelRun(*run);
      if (!stored) return Fail(stored.error());
      if (f->json) {
        out.push_back(ModelRunJson(*stored));
      } else {
        PrintRun(*stored);
      }
    }
    if (f->json) std::printf("%s\n", (out.size() == 1 ? out[0] : out).dump(2).c_str());
    return 0;
  };
}

std::function<int()> SetupPredict(CLI::App& cmd, Context& ctx) {
  auto customer = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd.add_option("--customer", *customer, "the customer's id")->required();
  cmd.add_flag("--json", *as_json, "print JSON");
  return [customer, as_json, &ctx]() -> int {
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    Workspace ws;
    auto snap = OpenSnapshot(ctx, **store, ws);
    if (!snap) return Fail(snap.error());
    std::optional<Snapshot::Index> index;
    for (Snapshot::Index c = 0; c < (*snap)->customers(); ++c) {
      if ((*snap)->external_id(c) == *customer) index = c;
    }
    if (!index) return Fail(Error(ErrorCode::kNotFound, "customer " + *customer, "no such customer"));
    auto runs = LatestRuns(**store, ws);
    if (!runs) return Fail(runs.error());
    auto p = PredictCustomers(**snap, runs->purchase, runs->spend, ctx.clock.Now());
    if (!p) return Fail(p.error());
    const json j = CustomerPredictionJson(**snap, *p, *index);
    if (*as_json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    auto show = [](const json& v, const char* format) {
      if (v.is_null()) return std::string("-");
      char buf[64];
      std::snprintf(buf, sizeof buf, format, v.get<double>());
      return std::string(buf);
    };
    std::printf("customer %s as of %s (%s, run %lld)\n", customer->c_str(), j["as_of"].get<std::string>().c_str(),
                p->purchase_model.c_str(), static_cast<long long>(p->purchase_run));
    std::printf("  %-24s %s (%s)\n", "P(alive)", show(j["p_alive"], "%.3f").c_str(), j["summary"].get<std::string>().c_str());
    std::printf("  %-24s %s\n", "purchases next 90 days", show(j["expected_purchases_90d"], "%.3f").c_str());
    std::printf("  %-24s %s %s\n", "expected order value", show(j["expected_value"], "%.2f").c_str(),
                (*snap)->currency().code().data());
    std::printf("  %-24s %s %s\n", "CLV next 12 months", show(j["clv_12m"], "%.2f").c_str(),
                (*snap)->currency().code().data());
    if (!j["rfm"].is_null()) {
      std::printf("  %-24s R %d F %d M %d: %s\n", "RFM", j["rfm"]["r"].get<int>(), j["rfm"]["f"].get<int>(),
                  j["rfm"]["m"].get<int>(), j["rfm"]["segment_title"].get<std::string>().c_str());
    }
    return 0;
  };
}

std::function<int()> SetupBacktest(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<FitFlags>();
  cmd.add_option("MODEL", f->model, "bgnbd, pareto_nbd or mbgnbd")->required();
  cmd.add_option("--calibration-end", f->calibration_end, "fit on the orders up to this day")->required();
  cmd.add_option("--unit", f->unit, "the model's time unit: week (default) or day")
      ->check(CLI::IsMember({"week", "day"}));
  cmd.add_flag("--json", f->json, "print JSON instead of a table");
  return [f, &ctx]() -> int {
    auto end = ParseDate(f->calibration_end);
    if (!end) return Fail(Error(ErrorCode::kInvalidArgument, "--calibration-end", end.error().detail()));
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    Workspace ws;
    auto snap = OpenSnapshot(ctx, **store, ws);
    if (!snap) return Fail(snap.error());
    auto r = Backtest(**snap, f->model, *end, f->unit == "day" ? 1.0 : 7.0, ctx.clock.Now());
    if (!r) return Fail(r.error());
    const json j = BacktestJson(*r);
    if (f->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    PrintRun(r->fit);
    std::printf("holdout %s .. %s (%.2f %ss), %zu customers\n", FormatDate(r->fit.calibration_end).c_str(),
                FormatDate(r->holdout_end).c_str(), r->holdout_units, r->fit.unit_days == 1 ? "day" : "week",
                r->accuracy.customers);
    std::printf("  repeat purchases predicted %.1f, actual %.0f\n", r->accuracy.predicted_total,
                r->accuracy.actual_total);
    std::printf("  per customer: MAE %.4f, RMSE %.4f, correlation %.4f\n", r->accuracy.mae, r->accuracy.rmse,
                r->accuracy.correlation);
    std::printf("\n%-6s %-10s %10s %10s\n", "WEEK", "START", "ACTUAL", "PREDICTED");
    for (const auto& w : j["weekly"]) {
      std::printf("%-6d %-10s %10.0f %10.1f\n", w["week"].get<int>(), w["start"].get<std::string>().c_str(),
                  w["actual"].get<double>(), w["predicted"].get<double>());
    }
    return 0;
  };
}

}  // namespace treu::app
