#include "models/mbgnbd.hpp"

#include <cmath>
#include <limits>

namespace treu {
namespace {

namespace bgi = beta_geometric_internal;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

BgNbdParams AsBg(const MbgNbdParams& p) { return {p.r, p.alpha, p.a, p.b}; }
bool ValidParams(const MbgNbdParams& p) { return bgi::ValidParams(AsBg(p)); }
using bgi::ValidHistory;

}  // namespace

double MbgNbdLogLikelihood(const MbgNbdParams& p, std::span<const PurchaseSummary> data,
                           std::array<double, 4>* gradient_log_params) {
  return bgi::LogLikelihood(bgi::Dropout::kAlsoAfterFirstPurchase, AsBg(p), data,
                            gradient_log_params);
}

Result<MbgNbdFit> FitMbgNbd(std::span<const PurchaseSummary> data) {
  TREU_ASSIGN_OR_RETURN(BgNbdFit f,
                        bgi::Fit(bgi::Dropout::kAlsoAfterFirstPurchase, data, "mbgnbd"));
  MbgNbdFit fit;
  fit.params = {f.params.r, f.params.alpha, f.params.a, f.params.b};
  fit.log_likelihood = f.log_likelihood;
  fit.std_errors = f.std_errors;
  fit.evaluations = f.evaluations;
  return fit;
}

double MbgNbdPAlive(const MbgNbdParams& p, const PurchaseSummary& s) {
  if (!ValidParams(p) || !ValidHistory(s)) return kNaN;
  const double log_odds = std::log(p.a) - std::log(p.b + s.x) +
                          (p.r + s.x) * (std::log(p.alpha + s.T) - std::log(p.alpha + s.t_x));
  return 1 / (1 + std::exp(log_odds));
}

double MbgNbdExpectedPurchases(const MbgNbdParams& p, const PurchaseSummary& s, double t) {
  if (!ValidParams(p) || !ValidHistory(s)) return kNaN;
  // Given alive at T after x + 1 survived drop-out chances: rate ~ gamma(r + x, α + T), drop-out
  // probability ~ beta(a, b + x + 1).
  return MbgNbdPAlive(p, s) *
         bgi::ExpectedPurchasesBeforeDropout(p.r + s.x, p.alpha + s.T, p.a, p.b + s.x + 1, t);
}

double MbgNbdExpectedPurchasesNew(const MbgNbdParams& p, double t) {
  if (!ValidParams(p)) return kNaN;
  // Alive after the first purchase with probability b/(a+b), and then p ~ beta(a, b + 1).
  return p.b / (p.a + p.b) * bgi::ExpectedPurchasesBeforeDropout(p.r, p.alpha, p.a, p.b + 1, t);
}

double MbgNbdProbPurchases(const MbgNbdParams& p, double t, int n) {
  return bgi::ProbPurchases(bgi::Dropout::kAlsoAfterFirstPurchase, AsBg(p), t, n);
}

}  // namespace treu
