#include "models/purchase_model.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "models/mbgnbd.hpp"
#include "models/pareto_nbd.hpp"

namespace treu {

std::array<std::string_view, 4> PurchaseModelParamNames(PurchaseModel m) {
  if (m == PurchaseModel::kParetoNbd) return {"r", "alpha", "s", "beta"};
  return {"r", "alpha", "a", "b"};
}

Result<PurchaseModelFit> FitPurchaseModel(PurchaseModel model, std::span<const PurchaseSummary> data) {
  PurchaseModelFit out;
  out.params.model = model;
  for (const PurchaseSummary& s : data) out.customers += s.n;
  auto take = [&](const auto& fit, const std::array<double, 4>& v) {
    out.params.values = v;
    out.log_likelihood = fit.log_likelihood;
    out.std_errors = fit.std_errors;
    out.evaluations = fit.evaluations;
  };
  switch (model) {
    case PurchaseModel::kBgNbd: {
      TREU_ASSIGN_OR_RETURN(BgNbdFit f, FitBgNbd(data));
      take(f, {f.params.r, f.params.alpha, f.params.a, f.params.b});
      break;
    }
    case PurchaseModel::kParetoNbd: {
      TREU_ASSIGN_OR_RETURN(ParetoNbdFit f, FitParetoNbd(data));
      take(f, {f.params.r, f.params.alpha, f.params.s, f.params.beta});
      break;
    }
    case PurchaseModel::kMbgNbd: {
      TREU_ASSIGN_OR_RETURN(MbgNbdFit f, FitMbgNbd(data));
      take(f, {f.params.r, f.params.alpha, f.params.a, f.params.b});
      break;
    }
  }
  return out;
}

namespace {
BgNbdParams Bg(const PurchaseModelParams& p) { return {p.values[0], p.values[1], p.values[2], p.values[3]}; }
ParetoNbdParams Pareto(const PurchaseModelParams& p) {
  return {p.values[0], p.values[1], p.values[2], p.values[3]};
}
MbgNbdParams Mbg(const PurchaseModelParams& p) { return {p.values[0], p.values[1], p.values[2], p.values[3]}; }
}  // namespace

double PAlive(const PurchaseModelParams& p, const PurchaseSummary& s) {
  switch (p.model) {
    case PurchaseModel::kBgNbd: return BgNbdPAlive(Bg(p), s);
    case PurchaseModel::kParetoNbd: return ParetoNbdPAlive(Pareto(p), s);
    case PurchaseModel::kMbgNbd: return MbgNbdPAlive(Mbg(p), s);
  }
  return NAN;
}

double ExpectedPurchases(const PurchaseModelParams& p, const PurchaseSummary& s, double t) {
  if (t <= 0) return 0;
  switch (p.model) {
    case PurchaseModel::kBgNbd: return BgNbdExpectedPurchases(Bg(p), s, t);
    case PurchaseModel::kParetoNbd: return ParetoNbdExpectedPurchases(Pareto(p), s, t);
    case PurchaseModel::kMbgNbd: return MbgNbdExpectedPurchases(Mbg(p), s, t);
  }
  return NAN;
}

double ExpectedPurchasesNew(const PurchaseModelParams& p, double t) {
  if (t <= 0) return 0;
  switch (p.model) {
    case PurchaseModel::kBgNbd: return BgNbdExpectedPurchasesNew(Bg(p), t);
    case PurchaseModel::kParetoNbd: return ParetoNbdExpectedPurchasesNew(Pareto(p), t);
    case PurchaseModel::kMbgNbd: return MbgNbdExpectedPurchasesNew(Mbg(p), t);
  }
  return NAN;
}

std::vector<PurchaseSummary> CompressSummaries(std::span<const PurchaseSummary> data) {
  std::vector<PurchaseSummary> sorted(data.begin(), data.end());
  auto key = [](const PurchaseSummary& s) { return std::tie(s.x, s.t_x, s.T); };
  std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  std::vector<PurchaseSummary> out;
  for (const PurchaseSummary& s : sorted) {
    if (!out.empty() && key(out.back()) == key(s)) {
      out.back().n += s.n;
    } else {
      out.push_back(s);
    }
  }
  return out;
}

void ExpectedPurchasesCurve(const PurchaseModelParams& p, const PurchaseSummary& s,
                            std::span<const double> horizons, std::span<double> out) {
  if (p.model == PurchaseModel::kParetoNbd) {
    const ParetoNbdParams q = Pareto(p);
    const double alive = ParetoNbdPAlive(q, s);
    for (std::size_t i = 0; i < horizons.size(); ++i) {
      out[i] = horizons[i] > 0 ? alive * ParetoNbdExpectedPurchasesIfAlive(q, s, horizons[i]) : 0;
    }
    return;
  }
  for (std::size_t i = 0; i < horizons.size(); ++i) out[i] = ExpectedPurchases(p, s, horizons[i]);
}

double DiscountedPurchases(const PurchaseModelParams& p, const PurchaseSummary& s, const ClvOptions& o) {
  const double month = kDaysPerMonth / o.unit_days;
  std::vector<double> horizons(static_cast<std::size_t>(std::max(o.months, 0)));
  for (std::size_t i = 0; i < horizons.size(); ++i) horizons[i] = static_cast<double>(i + 1) * month;
  std::vector<double> upto(horizons.size());
  ExpectedPurchasesCurve(p, s, horizons, upto);
  double sum = 0, before = 0, discount = 1;
  for (double u : upto) {
    discount /= 1 + o.monthly_discount;
    sum += (u - before) * discount;
    before = u;
  }
  return sum;
}

double PredictedClv(const PurchaseModelParams& p, const PurchaseSummary& s, double expected_value,
                    const ClvOptions& o) {
  return expected_value * DiscountedPurchases(p, s, o);
}

}  // namespace treu
