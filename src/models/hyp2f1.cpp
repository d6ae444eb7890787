#include "models/hyp2f1.hpp"

#include <math.h>  // lgammal_r: std::lgamma writes the global signgam, which is not thread safe

#include <algorithm>
#include <cmath>
#include <limits>

namespace treu {
namespace {

using Real = long double;  // 64-bit mantissa on x86-64

// Relative size of the neglected tail at which a series stops.
constexpr Real kTailTolerance = 1e-17L;
// Above this z the transformation to 1 - z is tried first.
constexpr double kTransformAbove = 0.9;
// The largest estimated relative error accepted from the transformation.
constexpr double kTransformMaxError = 1e-14;
// Its series in 1 - z < 0.1 converge within a few hundred terms for any sensible parameters.
constexpr long kMaxTransformTerms = 100000;
// The direct series gives up after this many terms (about 0.5 s; z within ~4e-7 of 1).
constexpr long kMaxSeriesTerms = 100000000;
// When it does, the transformation is still accepted up to this estimated error.
constexpr double kTransformLastResortError = 1e-8;

struct SeriesSum {
  Real sum = 0;            // sum of the terms
  Real abs_sum = 0;        // sum of their absolute values (equal to `sum` when all are positive)
  bool converged = false;  // false when max_terms were summed without reaching the tolerance
};

// Sums t_0 = 1, t_{k+1} = t_k (a+k)(b+k) / ((c+k)(k+1)) z for real a, b, c.
// REQUIRES: 0 <= z < 1; c + k != 0 for every k (c not zero or a negative integer).
// The sum stops when a term is exactly zero (a or b a non-positive integer: a polynomial) or,
// once a+k, b+k and c+k are all positive (so that every later term has the sign of the
// current one and its ratio to the previous one is at most rho, see the header), when the
// tail bound |t_k| rho / (1 - rho) is below kTailTolerance of the partial sum.
SeriesSum SumSeries(Real a, Real b, Real c, Real z, long max_terms) {
  Real t = 1, sum = 1, abs_sum = 1;
  Real rho = 2;  // a bound on all later term ratios once below 1
  for (long k = 0;; ++k) {
    if (k == max_terms) return {sum, abs_sum, false};
    const Real ak = a + static_cast<Real>(k), bk = b + static_cast<Real>(k);
    const Real ck = c + static_cast<Real>(k), k1 = static_cast<Real>(k + 1);
    t *= (ak * bk) / (ck * k1) * z;
    sum += t;
    abs_sum += std::fabs(t);
    if (t == 0) break;
    // Ratios from here on are (a+j)(b+j)/((c+j)(j+1)) z for j >= k + 1. A bound computed at
    // one k stays valid for every later k, so once found it is only refreshed now and then.
    if ((rho >= 1 || (k & 15) == 0) && ak + 1 > 0 && bk + 1 > 0 && ck + 1 > 0) {
      rho = z * std::max(Real{1}, (ak + 1) / (ck + 1)) * std::max(Real{1}, (bk + 1) / (k1 + 1));
    }
    if (rho < 1 && std::fabs(t) * rho <= kTailTolerance * (1 - rho) * std::fabs(sum)) break;
  }
  return {sum, abs_sum, true};
}

// log |Gamma(x)| and its sign; +inf at the poles (0 and the negative integers).
Real LogAbsGamma(Real x, int* sign) {
  *sign = 1;
  if (x <= 0 && x == std::floor(x)) return std::numeric_limits<Real>::infinity();
  return lgammal_r(x, sign);
}

// The transformation z -> 1 - z (A&S 15.3.6), for non-integer d = c - a - b:
//   F(a,b;c;z) = G(c)G(d)/(G(c-a)G(c-b)) F(a,b;1-d;w) + w^d G(c)G(-d)/(G(a)G(b)) F(c-a,c-b;1+d;w)
// with w = 1 - z and G the gamma function. Stores the value in *out and returns an estimate of
// its relative error, or +inf when the transformation cannot be used. Everything is formed in
// long double, so the gamma factors carry a relative rounding of about 1e-19 times the size of
// their log-gamma values; the estimate multiplies that (and the series tolerance) by the
// cancellation between the two terms and inside their series.
double ByTransformation(double a, double b, double c, double z, double* out) {
  const Real d = static_cast<Real>(c) - a - b;
  if (d == std::round(d)) return std::numeric_limits<double>::infinity();
  const Real w = 1 - static_cast<Real>(z);
  constexpr Real kEps = std::numeric_limits<Real>::epsilon();
  constexpr Real kSeriesError = 2 * kTailTolerance;
  int s_c, s_d, s_ca, s_cb, s_a, s_b, s_md;
  const Real lg_c = LogAbsGamma(c, &s_c);
  Real first = 0, first_error = 0;
  const Real lg_ca = LogAbsGamma(static_cast<Real>(c) - a, &s_ca);
  const Real lg_cb = LogAbsGamma(static_cast<Real>(c) - b, &s_cb);
  // A 1/Gamma at a pole (c - a or c - b a non-positive integer) makes the first term vanish.
  if (!std::isinf(lg_ca) && !std::isinf(lg_cb)) {
    const Real lg_d = LogAbsGamma(d, &s_d);
    const SeriesSum s1 = SumSeries(a, b, 1 - d, w, kMaxTransformTerms);
    if (!s1.converged) return std::numeric_limits<double>::infinity();
    const Real log_scale = lg_c + lg_d - lg_ca - lg_cb;
    const Real scale = static_cast<Real>(s_c * s_d * s_ca * s_cb) * std::exp(log_scale);
    first = scale * s1.sum;
    const Real exponent_error =
        8 * kEps * (std::fabs(lg_c) + std::fabs(lg_d) + std::fabs(lg_ca) + std::fabs(lg_cb) + 4);
    first_error = std::fabs(scale) * s1.abs_sum * (exponent_error + kSeriesError);
  }
  const Real lg_a = LogAbsGamma(a, &s_a), lg_b = LogAbsGamma(b, &s_b);
  const Real lg_md = LogAbsGamma(-d, &s_md);
  const SeriesSum s2 =
      SumSeries(static_cast<Real>(c) - a, static_cast<Real>(c) - b, 1 + d, w, kMaxTransformTerms);
  if (!s2.converged) return std::numeric_limits<double>::infinity();
  const Real log_w_d = d * std::log(w);
  const Real log_scale2 = lg_c + lg_md - lg_a - lg_b + log_w_d;
  const Real scale2 = static_cast<Real>(s_c * s_md * s_a * s_b) * std::exp(log_scale2);
  const Real second = scale2 * s2.sum;
  const Real exponent_error2 = 8 * kEps *
                               (std::fabs(lg_c) + std::fabs(lg_md) + std::fabs(lg_a) +
                                std::fabs(lg_b) + std::fabs(log_w_d) + 4);
  const Real second_error = std::fabs(scale2) * s2.abs_sum * (exponent_error2 + kSeriesError);
  const Real value = first + second;
  if (!(value > 0) || !std::isfinite(value)) return std::numeric_limits<double>::infinity();
  *out = static_cast<double>(value);
  // Plus the final rounding to double.
  return static_cast<double>((first_error + second_error) / value) + 1.2e-16;
}

}  // namespace

double Hyp2F1(double a, double b, double c, double z) {
  if (!(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1) || !std::isfinite(a) || !std::isfinite(b) ||
      !std::isfinite(c)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (z == 0) return 1;
  double transformed = 0, transform_error = std::numeric_limits<double>::infinity();
  if (z > kTransformAbove) {
    transform_error = ByTransformation(a, b, c, z, &transformed);
    if (transform_error <= kTransformMaxError) return transformed;
  }
  const SeriesSum s = SumSeries(a, b, c, z, kMaxSeriesTerms);
  if (s.converged) return static_cast<double>(s.sum);
  if (transform_error <= kTransformLastResortError) return transformed;
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace treu
