// The Gamma-Gamma model of monetary value (Fader, Hardie & Lee 2005; Fader & Hardie 2013): a
// customer's transaction values are gamma(p, ν) around their own mean, ν is gamma(q, γ) across
// customers, independent of the purchase process. Fitted on customers with repeat purchases.
#pragma once

#include <span>

#include "core/status.hpp"

namespace treu {

// One customer's repeat purchases: x of them, mean value m (any money unit, > 0).
struct SpendSummary {
  double x = 0;
  double m = 0;
};

struct GammaGammaParams {
  double p = 1, q = 1, gamma = 1;
};

struct GammaGammaFit {
  GammaGammaParams params;
  double log_likelihood = 0;
  double std_errors[3] = {0, 0, 0};
  int evaluations = 0;
};

// Log-likelihood of the sample (customers with x > 0) and, if asked, its gradient with respect
// to (p, q, γ).
double GammaGammaLogLikelihood(const GammaGammaParams& p, std::span<const SpendSummary> data,
                               double* gradient = nullptr);

// Maximum-likelihood fit from p = q = γ = 1 over the customers with x > 0. InvalidArgument
// when there are none or a value isn't positive.
Result<GammaGammaFit> FitGammaGamma(std::span<const SpendSummary> data);

// The expected mean transaction value of a customer with this history (the population mean
// p·γ/(q − 1) when x = 0; requires q > 1).
double GammaGammaExpectedValue(const GammaGammaParams& p, const SpendSummary& s);

}  // namespace treu
