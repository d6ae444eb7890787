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

namespace {

// ExpectedPurchasesCurve given the history's P(alive), which Pareto/NBD's expectation factors.
void CurveGivenAlive(const PurchaseModelParams& p, const PurchaseSummary& s, double alive,
                     std::span<const double> horizons, std::span<double> out) {
  if (p.model == PurchaseModel::kParetoNbd) {
    const ParetoNbdParams q = Pareto(p);
    for (std::size_t i = 0; i < horizons.size(); ++i) {
      out[i] = horizons[i] > 0 ? alive * ParetoNbdExpectedPurchasesIfAlive(q, s, horizons[i]) : 0;
    }
    return;
  }
  for (std::size_t i = 0; i < horizons.size(); ++i) out[i] = ExpectedPurchases(p, s, horizons[i]);
}

}  // namespace

void ExpectedPurchasesCurve(const PurchaseModelParams& p, const PurchaseSummary& s,
                            std::span<const double> horizons, std::span<double> out) {
  CurveGivenAlive(p, s, p.model == PurchaseModel::kParetoNbd ? PAlive(p, s) : NAN, horizons, out);
}

namespace {

// Expected purchases at `horizon` and at the end of each of o.months months (in out[1..]).
void HorizonAndMonths(const PurchaseModelParams& p, const PurchaseSummary& s, double alive, double horizon,
                      const ClvOptions& o, std::vector<double>& out) {
  const double month = kDaysPerMonth / o.unit_days;
  std::vector<double> horizons(1 + static_cast<std::size_t>(std::max(o.months, 0)));
  horizons[0] = horizon;
  for (std::size_t i = 1; i < horizons.size(); ++i) horizons[i] = static_cast<double>(i) * month;
  out.resize(horizons.size());
  CurveGivenAlive(p, s, alive, horizons, out);
}

double Discounted(std::span<const double> upto, double monthly_discount) {
  double sum = 0, before = 0, discount = 1;
  for (double u : upto) {
    discount /= 1 + monthly_discount;
    sum += (u - before) * discount;
    before = u;
  }
  return sum;
}

}  // namespace

double DiscountedPurchases(const PurchaseModelParams& p, const PurchaseSummary& s, const ClvOptions& o) {
  std::vector<double> upto;
  HorizonAndMonths(p, s, PAlive(p, s), 0, o, upto);
  return Discounted(std::span(upto).subspan(1), o.monthly_discount);
}

Forecast ForecastHistory(const PurchaseModelParams& p, const PurchaseSummary& s, double horizon,
                         const ClvOptions& o) {
  Forecast f;
  f.p_alive = PAlive(p, s);
  std::vector<double> upto;
  HorizonAndMonths(p, s, f.p_alive, horizon, o, upto);
  f.expected_purchases = upto[0];
  f.discounted_purchases = Discounted(std::span(upto).subspan(1), o.monthly_discount);
  return f;
}

double PredictedClv(const PurchaseModelParams& p, const PurchaseSummary& s, double expected_value,
                    const ClvOptions& o) {
  return expected_value * DiscountedPurchases(p, s, o);
}

}  // namespace treu
