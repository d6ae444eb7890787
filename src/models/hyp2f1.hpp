// The Gaussian hypergeometric function 2F1(a, b; c; z) for the purchase models, where a, b,
// c > 0 and 0 <= z < 1: fast for z <= 0.9, correct up to z close to 1. Pure numerics, thread
// safe, no allocation.
#pragma once

namespace treu {

// 2F1(a, b; c; z) = sum over k >= 0 of (a)_k (b)_k / ((c)_k k!) z^k, with (q)_k the rising
// factorial q (q+1) ... (q+k-1).
// REQUIRES: a, b, c > 0 and 0 <= z < 1. Returns NaN otherwise (and for NaN inputs), +inf when
// the value overflows a double.
//
// Method and accuracy:
// - The power series, summed in long double (64-bit mantissa). Every term is positive, so
//   there is no cancellation. Once the term ratios are known to stay below
//   rho = z * max(1, (a+k)/(c+k)) * max(1, (b+k)/(1+k)) < 1 (each factor moves monotonically
//   towards 1 as k grows, so rho bounds every later ratio), the neglected tail after the term
//   t_k is at most t_k * rho / (1 - rho); the sum stops when that bound is below 1e-17 of the
//   partial sum. Rounding adds about (number of terms) * 1e-19 relative, so the result is
//   accurate to about one double ulp while that stays below 1e-16, i.e. up to ~10^3 terms, and
//   to 1e-14 up to ~10^5 terms. Cost: about 5 ns per term; the number of terms is about
//   40 / (1 - z) (50 at z = 0.5, 400 at 0.9, 3,600 at 0.99, 36,000 at 0.999), plus, when
//   a + b - c > 1, the index of the largest term, about (a + b - c - 1) z / (1 - z).
// - Used when z <= 0.9, and above that whenever the transformation below is not safe.
// - For z > 0.9: the linear transformation z -> 1 - z (Abramowitz & Stegun 15.3.6), which
//   needs two series in 1 - z < 0.1 and seven log-gamma values, all in long double (about
//   2.5 us). It is used only when c - a - b is not an integer and a running estimate of its
//   rounding error (the cancellation between its two terms and inside their series, times the
//   rounding of the gamma factors) stays below 1e-14; measured errors are below 1e-15.
//   Otherwise (e.g. c - a - b within a few thousandths of 0 or of a positive integer, or
//   parameters in the thousands) the series above is used, which is always correct but costs
//   about 40 / (1 - z) terms (0.2 ms at z = 0.999).
// - Should the series need more than 10^8 terms (only with z within ~4e-7 of 1 and an unsafe
//   transformation), the transformation is accepted up to an estimated error of 1e-8, and NaN
//   is returned beyond that.
double Hyp2F1(double a, double b, double c, double z);

}  // namespace treu
