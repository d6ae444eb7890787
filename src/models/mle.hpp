// Maximum-likelihood estimation shared by the purchase and spend models: maximises a
// log-likelihood over log-parameters with NLopt's L-BFGS and an analytic gradient, then
// derives standard errors from the observed information (the negative Hessian of the
// log-likelihood in the natural parameters, by central differences of the gradient).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace treu {

// Log-likelihood at the natural parameters `theta`; when `gradient` is not null, also its
// gradient with respect to the natural parameters.
using LogLikelihood = std::function<double(const std::vector<double>& theta, std::vector<double>* gradient)>;

struct MleResult {
  std::vector<double> theta;       // natural parameters (all > 0)
  double log_likelihood = 0;
  std::vector<double> std_errors;  // NaN where the information matrix is singular
  int evaluations = 0;
};

// Starts from `start` (natural parameters, all > 0). FailedPrecondition naming `model` when
// the optimiser fails or does not converge.
Result<MleResult> MaximizeLikelihood(const std::string& model, const LogLikelihood& ll,
                                     std::vector<double> start);

}  // namespace treu
