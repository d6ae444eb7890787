#include "models/pareto_nbd.hpp"

#include <algorithm>
#include <bit>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <tuple>
#include <vector>

#include "models/mle.hpp"

namespace treu {
namespace {

using pareto_nbd_internal::LogHyp2F1;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The series below stop once the bound on the remaining tail of every partial sum is at most
// this fraction of that sum, i.e. below the rounding error of the sum itself.
constexpr double kTailTolerance = 1e-17;
// Series are used for -9 <= z <= 0.9 (z, or the transformed argument for z < 0, at most 0.9)
// when they need at most kMaxCheapTerms terms; the quadrature takes over otherwise.
constexpr double kSeriesMaxZ = 0.9;
constexpr double kSeriesMinZ = -9.0;  // z/(z-1) = 0.9
constexpr int kMaxSeriesTerms = 1'000'000;
constexpr double kMaxCheapTerms = 800;  // beyond this many terms the quadrature is faster
// Partial sums are rescaled by kRescale when they pass it, so that huge values (large b) stay
// finite; the scale is carried in the log.
constexpr double kRescale = 1e250;
const double kLogRescale = std::log(kRescale);

LogHyp2F1 NaNResult() { return {kNaN, kNaN, kNaN, kNaN, false}; }

// ln Γ(v) for v > 0. Boost's, because glibc's lgamma writes the global signgam, a data race
// when several threads evaluate models at once.
double LogGamma(double v) { return boost::math::lgamma(v); }

// ₂F₁(a, b; a+1; z) for 0 <= z <= 0.9 from
//   ₂F₁(a, b; a+1; z) = a Σ_{n>=0} t_n/(a+n),   t_n = (b)_n z^n / n!,
// all terms positive. With S = Σ t_n/(a+n) (so F = a S) the partial derivatives are sums of
// the same kind, accumulated term by term:
//   ∂S/∂a = -Σ t_n/(a+n)²,  ∂S/∂b = Σ t_n ψ_n/(a+n) with ψ_n = Σ_{k<n} 1/(b+k) = ∂ln (b)_n/∂b,
//   ∂S/∂z = Σ y_n/(a+n) with y_n = n t_n/z = (b)_n z^(n-1)/(n-1)!.
// Truncation bound. For m >= n the ratio of consecutive terms of S is
//   (b+m) z/(m+1) · (a+m)/(a+m+1) <= ρ_n = z·max(1, (b+n)/(n+1)),
// since (b+m)/(m+1) moves monotonically towards 1. The terms of the a-sum have smaller ratios;
// those of the z-sum at most z·max(1, (b+n)/n); those of the b-sum at most
// ρ_n·(1 + 1/((b+n) ψ_n)), because ψ_{m+1}/ψ_m = 1 + 1/((b+m) ψ_m) and (b+m) ψ_m grows with m.
// With ρ the largest of these, once ρ < 1 each tail after term n is at most (its n-th term)·
// ρ/(1-ρ) (a geometric majorant); we stop when that is <= kTailTolerance of every partial sum.
// Returns false if kMaxSeriesTerms terms were not enough.
bool SeriesNonNegativeZ(double a, double b, double z, LogHyp2F1* out) {
  double s = 1 / a, s_a = 1 / (a * a), s_b = 0, s_z = 0;
  double y = b;    // y_n, from n = 1
  double psi = 0;  // ψ_n
  double log_scale = 0;
  for (int n = 1; n < kMaxSeriesTerms; ++n) {
    // One division for the three reciprocals 1/(a+n), 1/(b+n-1), 1/n.
    const double an = a + n, bn = b + n - 1, nn = n;
    const double d = 1 / (an * bn * nn);
    const double inv = bn * nn * d;
    psi += an * nn * d;
    const double term = y * z * (an * bn * d) * inv;  // t_n/(a+n)
    s += term;
    s_a += term * inv;
    s_b += term * psi;
    s_z += y * inv;
    // The bound holds at every n; testing it every 4th term keeps its divisions off the loop.
    const double rho =
        n % 4 != 0 ? 1
                   : z * std::max(std::max(1.0, (b + n) / (n + 1.0)) * (1 + 1 / ((b + n) * psi)),
                                  std::max(1.0, (b + n) / n));
    if (rho < 1) {
      const double f = rho / (1 - rho);
      if (term * f <= kTailTolerance * s && term * inv * f <= kTailTolerance * s_a &&
          term * psi * f <= kTailTolerance * s_b && y * inv * f <= kTailTolerance * s_z) {
        out->value = std::log(a) + std::log(s) + log_scale;
        out->d_a = 1 / a - s_a / s;
        out->d_b = s_b / s;
        out->d_z = s_z / s;
        out->quadrature = false;
        return true;
      }
    }
    y *= (b + n) * z * (an * bn * d);
    if (s > kRescale || y > kRescale) {
      s /= kRescale, s_a /= kRescale, s_b /= kRescale, s_z /= kRescale, y /= kRescale;
      log_scale += kLogRescale;
    }
  }
  return false;
}

// ₂F₁(a, b; a+1; z) near z = 1 by the connection formula to 1 - z (DLMF 15.8.4 with c = a+1,
// c-a = 1, c-a-b = 1-b), with y = 1 - z:
//   F = T1 + T2,  T1 = Γ(a+1)Γ(1-b)/Γ(a+1-b) · z^(-a),
//                 T2 = a/(b-1) · y^(1-b) · S,  S = Σ_{n>=0} u_n,  u_n = (a+1-b)_n/(2-b)_n · y^n.
// The series converges like y^n, so z = 0.999 costs a few dozen terms where the direct series
// needs thousands. Derivatives: ∂T1/∂a = T1(ψ(a+1) - ψ(a+1-b) - ln z), ∂T1/∂b = T1(ψ(a+1-b) -
// ψ(1-b)), ∂T1/∂z = -a T1/z; with P = a/(b-1) y^(1-b): ∂P/∂a = P/a, ∂P/∂b = -P(1/(b-1) + ln y),
// ∂P/∂z = P(b-1)/y; ∂u_n/∂a = u_n φ_n, ∂u_n/∂b = u_n(χ_n - φ_n), ∂u_n/∂z = -n u_n/y with
// φ_n = Σ_{k<n} 1/(a+1-b+k), χ_n = Σ_{k<n} 1/(2-b+k).
// Truncation: once 2-b+n > 0, the later term ratios are at most ρ = y·max(1, (a+1-b+n)/(2-b+n))
// ((a+1-b+m)/(2-b+m) moves monotonically to 1), and the weighted sums' at most ρ(1 + 2/n); the
// sum stops when every tail bound is below 1e-17 of its sum. The two terms have poles at
// integer b that cancel, and S alternates while 2-b+n < 0: the result is refused (false, so the
// caller falls back to the quadrature) when Σ|parts| / |F| exceeds 10, i.e. when more than one
// digit would cancel.
bool ConnectionNearOne(double a, double b, double z, LogHyp2F1* out) {
  using boost::math::digamma;
  const double y = 1 - z;
  const double A = a + 1 - b, C = 2 - b;
  if (!(y > 0) || C == std::round(C) || (A == std::round(A) && A <= 0) || b == 1) return false;
  // Everything relative to e^L, L = ln|P|, so that large (1-z)^(1-b) doesn't overflow.
  const double L = std::log(a / std::abs(b - 1)) + (1 - b) * std::log(y);
  const double sign_p = b > 1 ? 1 : -1;
  double u = 1, sum = 1, abs_sum = 1, s_a = 0, s_b = 0, s_y = 0, phi = 0, chi = 0;
  bool done = false;
  for (int n = 0; n < 100'000; ++n) {
    // u holds u_n; add the next term u_{n+1}.
    phi += 1 / (A + n);
    chi += 1 / (C + n);
    u *= (A + n) / (C + n) * y;
    const double k = n + 1;
    sum += u;
    abs_sum += std::abs(u);
    s_a += u * phi;
    s_b += u * (chi - phi);
    s_y += u * k / y;
    if (C + k > 0 && A + k > 0 && k >= 4) {
      const double rho = y * std::max(1.0, (A + k) / (C + k)) * (1 + 2 / k);
      if (rho < 1) {
        const double f = rho / (1 - rho);
        const double tail = std::abs(u) * f;
        if (tail <= kTailTolerance * std::abs(sum) && tail * std::abs(phi) <= kTailTolerance * std::abs(s_a) &&
            tail * std::abs(chi - phi) <= kTailTolerance * std::abs(s_b) &&
            tail * k / y <= kTailTolerance * std::abs(s_y)) {
          done = true;
          break;
        }
      }
    }
    if (!std::isfinite(sum) || std::abs(u) > 1e250) return false;
  }
  if (!done) return false;
  // T1 / e^L with its sign: Γ(a+1) > 0; Γ(1-b) and Γ(a+1-b) may be negative.
  int sign_g1 = 1, sign_g2 = 1;
  const double lg1 = boost::math::lgamma(1 - b, &sign_g1), lg2 = boost::math::lgamma(A, &sign_g2);
  const double log_t1 = boost::math::lgamma(a + 1) + lg1 - lg2 - a * std::log(z) - L;
  if (log_t1 > 700) return false;
  const double t1 = sign_g1 * sign_g2 * std::exp(log_t1);
  const double t2 = sign_p * sum;
  const double f = t1 + t2;
  if (!(f > 0) || (std::abs(t1) + abs_sum) > 10 * f) return false;
  const double dt1_a = t1 * (digamma(a + 1) - digamma(A) - std::log(z));
  const double dt1_b = t1 * (digamma(A) - digamma(1 - b));
  const double dt1_z = -a * t1 / z;
  // ∂(P·S)/e^L, with P/e^L = sign_p.
  const double dt2_a = sign_p * (sum / a + s_a);
  const double dt2_b = sign_p * (-sum * (1 / (b - 1) + std::log(y)) + s_b);
  const double dt2_z = sign_p * (sum * (b - 1) / y - s_y);
  out->value = std::log(f) + L;
  out->d_a = (dt1_a + dt2_a) / f;
  out->d_b = (dt1_b + dt2_b) / f;
  out->d_z = (dt1_z + dt2_z) / f;
  out->quadrature = false;
  return std::isfinite(out->value) && std::isfinite(out->d_a) && std::isfinite(out->d_b) &&
         std::isfinite(out->d_z);
}

// ₂F₁(a, b; a+1; z) for -9 <= z < 0 by Pfaff's transformation
//   ₂F₁(a, b; a+1; z) = (1-z)^(-b) ₂F₁(1, b; a+1; w),  w = z/(z-1) ∈ (0, 0.9],
//   ₂F₁(1, b; a+1; w) = G = Σ_{n>=0} u_n,  u_n = (b)_n w^n/(a+1)_n > 0,
// which avoids the cancellation of the alternating series in z. ∂u_n/∂a = -u_n φ_n with
// φ_n = Σ_{k<n} 1/(a+1+k), ∂u_n/∂b = u_n ψ_n, ∂u_n/∂w = n u_n/w.
// Truncation bound as above: for m >= n the term ratios (b+m) w/(a+1+m) are at most
// ρ_n = w·max(1, (b+n)/(a+1+n)); those of the weighted sums at most ρ_n times
// (1 + 1/((a+1+n) φ_n)), (1 + 1/((b+n) ψ_n)) and (n+1)/n respectively.
bool SeriesNegativeZ(double a, double b, double z, LogHyp2F1* out) {
  const double w = z / (z - 1);
  double g = 1, g_a = 0, g_b = 0, g_w = 0;  // Σ u_n, Σ u_n φ_n, Σ u_n ψ_n, Σ n u_n
  double u = 1, phi = 0, psi = 0, log_scale = 0;
  for (int n = 1; n < kMaxSeriesTerms; ++n) {
    u *= (b + n - 1) * w / (a + n);
    phi += 1 / (a + n);
    psi += 1 / (b + n - 1);
    g += u;
    g_a += u * phi;
    g_b += u * psi;
    g_w += n * u;
    const double rho_u = w * std::max(1.0, (b + n) / (a + 1 + n));
    const double rho =
        rho_u * std::max({1 + 1 / ((a + 1 + n) * phi), 1 + 1 / ((b + n) * psi), (n + 1.0) / n});
    if (rho < 1) {
      const double f = rho / (1 - rho);
      if (u * f <= kTailTolerance * g && u * phi * f <= kTailTolerance * g_a &&
          u * psi * f <= kTailTolerance * g_b && n * u * f <= kTailTolerance * g_w) {
        const double log1mz = std::log1p(-z);
        out->value = -b * log1mz + std::log(g) + log_scale;
        out->d_a = -g_a / g;
        out->d_b = -log1mz + g_b / g;
        out->d_z = b / (1 - z) - g_w / (w * g) / ((1 - z) * (1 - z));
        out->quadrature = false;
        return true;
      }
    }
    if (g > kRescale) {
      g /= kRescale, g_a /= kRescale, g_b /= kRescale, g_w /= kRescale, u /= kRescale;
      log_scale += kLogRescale;
    }
  }
  return false;
}

// Tanh-sinh (double-exponential) quadrature on [0, 1]: u(t) = 1/(1 + e^(-π sinh t)),
// du/dt = π cosh t · u (1-u), trapezoidal sums in t over [-6, 6] (the complement 1-u reaches
// ~1e-275 there) with the step halved from 1 until successive levels agree to kDeTolerance
// for every component. The error of a level is roughly the square of the previous level's
// (relative to ∫|f|), so agreement to 1e-13 leaves an error far below it. The integrand gets
// u and 1-u, both to full relative accuracy, so that end-point singularities and peaks
// (u^(a-1) at 0, (1-zu)^(-b) at 1) are resolved. Nodes are tabulated once per process.
constexpr int kDeMaxLevel = 10;  // step 2^-10: at most 12,289 nodes
constexpr double kDeTMax = 6;
constexpr double kDeTolerance = 1e-13;

struct DeNode {
  double u, one_minus_u, weight;  // for t > 0; t < 0 mirrors u and 1-u
};

const std::vector<std::vector<DeNode>>& DeNodes() {
  static const std::vector<std::vector<DeNode>> levels = [] {
    std::vector<std::vector<DeNode>> out(kDeMaxLevel + 1);
    for (int k = 0; k <= kDeMaxLevel; ++k) {
      const double h = std::ldexp(1.0, -k);
      for (int j = 1; j * h <= kDeTMax; j += (k == 0 ? 1 : 2)) {  // level k adds the odd multiples
        const double t = j * h;
        const double e = std::exp(-std::numbers::pi * std::sinh(t));
        const double u = 1 / (1 + e), v = e / (1 + e);
        out[k].push_back({u, v, std::numbers::pi * std::cosh(t) * u * v});
      }
    }
    return out;
  }();
  return levels;
}

// ∫₀¹ f(u, 1-u) du for a vector-valued f returning std::array<double, K>.
template <std::size_t K, class F>
std::array<double, K> TanhSinh(const F& f) {
  const auto& levels = DeNodes();
  std::array<double, K> sum = f(0.5, 0.5);
  for (double& v : sum) v *= std::numbers::pi / 4;
  std::array<double, K> previous{};
  for (int k = 0; k <= kDeMaxLevel; ++k) {
    for (const DeNode& n : levels[k]) {
      const std::array<double, K> right = f(n.u, n.one_minus_u), left = f(n.one_minus_u, n.u);
      for (std::size_t i = 0; i < K; ++i) sum[i] += n.weight * (right[i] + left[i]);
    }
    std::array<double, K> estimate;
    for (std::size_t i = 0; i < K; ++i) estimate[i] = std::ldexp(sum[i], -k);
    bool converged = k >= 3;
    for (std::size_t i = 0; i < K && converged; ++i) {
      converged = std::abs(estimate[i] - previous[i]) <= kDeTolerance * std::abs(estimate[i]);
    }
    if (converged) return estimate;
    previous = estimate;
  }
  return previous;
}

// ₂F₁(a, b; a+1; z) for any z < 1 from Euler's integral (c = a+1 > a > 0)
//   ₂F₁(a, b; a+1; z) = a ∫₀¹ u^(a-1) (1-zu)^(-b) du,
// differentiated under the integral sign: ∂a ln F = 1/a + <ln u>, ∂b ln F = -<ln(1-zu)>,
// ∂z ln F = b <u/(1-zu)>, where <f> = ∫ f g / ∫ g and g the integrand; the four integrals
// share the nodes. For z > 0 the integrand is scaled by (1-z)^b, so
// g = u^(a-1) exp(-b ln((1-zu)/(1-z))) <= u^(a-1), and 1-zu is formed as (1-z) + z(1-u) from
// the exact 1-u, which keeps the sharp peak at u = 1 for z -> 1 accurate. Used where the
// series would need many terms (z > 0.9, z < -9, large b): ~8-20 µs, and within a few ulps of
// ln F of 40-digit values from z = -20 to z = 1 - 1e-8; at z = 0.9999 the series of Boost's
// hypergeometric_pFq is ~1e-12 off and takes ~10 ms, and it gives up beyond ~1 - 1e-6.
LogHyp2F1 Quadrature(double a, double b, double z) {
  const double log_c = z > 0 ? std::log1p(-z) : 0;  // ln of the scale (1-z) for z > 0
  const double c = z > 0 ? 1 - z : 1;
  const std::array<double, 4> i = TanhSinh<4>([&](double u, double one_minus_u) {
    const double log_u = u < 0.5 ? std::log(u) : std::log1p(-one_minus_u);
    const double ell =
        z > 0 ? std::log1p(z * one_minus_u / c) : std::log1p(-z * u);  // ln((1-zu)/c)
    const double one_minus_zu = z > 0 ? c + z * one_minus_u : 1 - z * u;
    const double g = std::exp((a - 1) * log_u - b * ell);
    return std::array<double, 4>{g, log_u * g, ell * g, u / one_minus_zu * g};
  });
  if (!(i[0] > 0) || !std::isfinite(i[0])) return NaNResult();
  return {std::log(a) - b * log_c + std::log(i[0]), 1 / a + i[1] / i[0], -log_c - i[2] / i[0],
          b * i[3] / i[0], true};
}

// Validation shared by the fit and the log-likelihood; the error names the first bad record.
Status ValidateSample(std::span<const PurchaseSummary> data) {
  if (data.empty()) return InvalidArgument("data", "no customers to fit");
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PurchaseSummary& s = data[i];
    const bool finite =
        std::isfinite(s.x) && std::isfinite(s.t_x) && std::isfinite(s.T) && std::isfinite(s.n);
    if (!finite || !(s.x >= 0 && s.t_x >= 0 && s.T >= s.t_x) || (s.x > 0 && s.t_x <= 0)) {
      return InvalidArgument("data[" + std::to_string(i) + "]",
                             "needs finite x >= 0, 0 <= t_x <= T, and t_x > 0 when x > 0");
    }
    if (!(s.n > 0)) {
      return InvalidArgument("data[" + std::to_string(i) + "]", "needs a weight n > 0");
    }
  }
  return Ok();
}

bool ValidParams(const ParetoNbdParams& p) {
  for (double v : {p.r, p.alpha, p.s, p.beta}) {
    if (!(v > 0) || !std::isfinite(v)) return false;
  }
  return true;
}

// The per-(x, t) pieces of the likelihood (Fader & Hardie 2005, eq. for L and A0):
//   ln A(x, t) = -(r+x) ln(α+t) - s ln(β+t)
//   ln F(x, t) = -(r+s+x) ln(κ+t) + ln ₂F₁(r+s+x, b; r+s+x+1; |α-β|/(κ+t)),
// with κ = α, b = s+1 when α >= β and κ = β, b = r+x otherwise, so that 0 <= z < 1 and z is
// small when α ≈ β. F(x, t) = (r+s+x) ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ, a decreasing
// function of t, and a customer's likelihood is
//   L = Γ(r+x) α^r β^s / Γ(r) · [A(x, T) + s/(r+s+x) · (F(x, t_x) - F(x, T))].
// Derivatives are with respect to the natural parameters (r, α, s, β).
struct PointTerms {
  double log_a = 0, log_f = 0;
  std::array<double, 4> d_log_a{}, d_log_f{};
};

PointTerms EvaluatePoint(const ParetoNbdParams& p, double x, double t, bool with_gradient) {
  const double r = p.r, alpha = p.alpha, s = p.s, beta = p.beta;
  const double la = std::log(alpha + t), lb = std::log(beta + t);
  const double a = r + s + x;
  PointTerms out;
  out.log_a = -(r + x) * la - s * lb;
  if (alpha >= beta) {
    const double z = (alpha - beta) / (alpha + t);
    const LogHyp2F1 h = pareto_nbd_internal::LogHyp2F1APlusOne(a, s + 1, z);
    out.log_f = -a * la + h.value;
    if (with_gradient) {
      const double inv = 1 / (alpha + t);
      out.d_log_f = {-la + h.d_a, -a * inv + h.d_z * (beta + t) * inv * inv, -la + h.d_a + h.d_b,
                     -h.d_z * inv};
    }
  } else {
    const double z = (beta - alpha) / (beta + t);
    const LogHyp2F1 h = pareto_nbd_internal::LogHyp2F1APlusOne(a, r + x, z);
    out.log_f = -a * lb + h.value;
    if (with_gradient) {
      const double inv = 1 / (beta + t);
      out.d_log_f = {-lb + h.d_a + h.d_b, -h.d_z * inv, -lb + h.d_a,
                     -a * inv + h.d_z * (alpha + t) * inv * inv};
    }
  }
  if (with_gradient) out.d_log_a = {-la, -(r + x) / (alpha + t), -lb, -s / (beta + t)};
  return out;
}

// A sample indexed for repeated likelihood evaluation: identical histories merged (weights
// summed), and the distinct (x, t) pairs among all t_x and T values ("points") listed once, so
// each evaluation computes one hypergeometric function per point and then only a few
// exponentials per distinct history. With day-granular times there are few points (at most
// distinct x × distinct days) even for millions of customers.
class PreparedSample {
 public:
  // REQUIRES: ValidateSample(data) succeeded.
  explicit PreparedSample(std::span<const PurchaseSummary> data) {
    // Merge identical histories first (hashing is several times faster than sorting a million
    // records), then sort only the distinct ones.
    std::vector<PurchaseSummary> rec;
    {
      // Open addressing with linear probing, at most half full; slots hold indices into rec.
      std::size_t capacity = 16;
      while (capacity < 2 * data.size()) capacity *= 2;
      constexpr std::uint32_t kEmpty = 0xffffffff;
      std::vector<std::uint32_t> slots(capacity, kEmpty);
      for (const PurchaseSummary& s : data) {
        // + 0.0 turns -0 into +0, so equal keys hash alike; t_x means nothing when x = 0.
        const double x = s.x + 0.0, t_x = s.x == 0 ? 0.0 : s.t_x + 0.0, t_end = s.T + 0.0;
        std::size_t i = Hash(x, t_x, t_end) & (capacity - 1);
        while (true) {
          if (slots[i] == kEmpty) {
            slots[i] = static_cast<std::uint32_t>(rec.size());
            rec.push_back({x, t_x, t_end, s.n});
            break;
          }
          PurchaseSummary& r = rec[slots[i]];
          if (r.x == x && r.t_x == t_x && r.T == t_end) {
            r.n += s.n;
            break;
          }
          i = (i + 1) & (capacity - 1);
        }
      }
    }
    std::sort(rec.begin(), rec.end(), [](const PurchaseSummary& u, const PurchaseSummary& v) {
      return std::tie(u.x, u.t_x, u.T) < std::tie(v.x, v.t_x, v.T);
    });
    std::vector<double> ts;
    for (std::size_t i = 0; i < rec.size();) {
      std::size_t end = i;
      while (end < rec.size() && rec[end].x == rec[i].x) ++end;
      const auto x_index = static_cast<std::uint32_t>(x_.size());
      x_.push_back(rec[i].x);
      weight_.push_back(0);
      ts.clear();
      for (std::size_t k = i; k < end; ++k) {
        ts.push_back(rec[k].t_x);
        ts.push_back(rec[k].T);
      }
      std::sort(ts.begin(), ts.end());
      ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
      const auto base = static_cast<std::uint32_t>(point_t_.size());
      for (double t : ts) {
        point_t_.push_back(t);
        point_x_.push_back(x_index);
      }
      auto index_of = [&](double t) {
        return base +
               static_cast<std::uint32_t>(std::lower_bound(ts.begin(), ts.end(), t) - ts.begin());
      };
      for (std::size_t k = i; k < end; ++k) {
        weight_.back() += rec[k].n;
        histories_.push_back({x_index, index_of(rec[k].t_x), index_of(rec[k].T), rec[k].n});
      }
      i = end;
    }
  }

  // Σ n over the sample.
  double TotalWeight() const {
    double total = 0;
    for (double w : weight_) total += w;
    return total;
  }

  // Log-likelihood at p and, when `gradient` is not null, its gradient with respect to the
  // natural parameters (r, α, s, β). NaN for invalid parameters.
  double LogLikelihood(const ParetoNbdParams& p, std::array<double, 4>* gradient) const {
    if (!ValidParams(p)) return kNaN;
    const bool with_gradient = gradient != nullptr;
    const double r = p.r, alpha = p.alpha, s = p.s, beta = p.beta;
    const std::size_t nx = x_.size(), np = point_t_.size();

    // Per distinct x: ln of Γ(r+x) α^r β^s / Γ(r), and ln(s/(r+s+x)).
    const double lg_r = LogGamma(r), dg_r = boost::math::digamma(r);
    const double ln_alpha = std::log(alpha), ln_beta = std::log(beta), ln_s = std::log(s);
    std::vector<double> log_c(nx), log_q(nx);
    for (std::size_t i = 0; i < nx; ++i) {
      log_c[i] = LogGamma(r + x_[i]) - lg_r + r * ln_alpha + s * ln_beta;
      log_q[i] = ln_s - std::log(r + s + x_[i]);
    }

    std::vector<double> log_a(np), log_f(np);
    std::vector<std::array<double, 4>> d_log_a(with_gradient ? np : 0),
        d_log_f(with_gradient ? np : 0);
    for (std::size_t j = 0; j < np; ++j) {
      const PointTerms pt = EvaluatePoint(p, x_[point_x_[j]], point_t_[j], with_gradient);
      log_a[j] = pt.log_a;
      log_f[j] = pt.log_f;
      if (with_gradient) {
        d_log_a[j] = pt.d_log_a;
        d_log_f[j] = pt.d_log_f;
      }
    }

    // Per history, in log space with the larger of the two terms factored out:
    //   L/(Γ(r+x) α^r β^s/Γ(r)) = e^u + e^v (1 - e^w),
    //   u = ln A(T), v = ln F(t_x) + ln(s/(r+s+x)), w = ln F(T) - ln F(t_x) <= 0,
    // so the difference F(t_x) - F(T) of A0 is never formed from two large numbers: 1 - e^w is
    // -expm1(w), exact to rounding whatever the size of w. What rounding remains is in w itself
    // (absolute ~1e-16·|ln F|); it matters relatively only when t_x is close to T, and then the
    // whole second term is a small share (<= about s(T-t_x)/(β+t_x)) of L.
    // The gradient collects, per point, the weight of its ln A and ln F derivatives, and per x
    // the weight of the d ln(s/(r+s+x)) terms; those 4-vectors are applied once at the end.
    std::vector<double> w_a(with_gradient ? np : 0), w_f(with_gradient ? np : 0),
        w_q(with_gradient ? nx : 0);
    double ll = 0;
    for (std::size_t i = 0; i < nx; ++i) ll += weight_[i] * log_c[i];
    double ll_hist = 0;
    for (const History& h : histories_) {
      const double u = log_a[h.end], v = log_f[h.tx] + log_q[h.x], w = log_f[h.end] - log_f[h.tx];
      const double one_minus_ew = w < 0 ? -std::expm1(w) : 0;
      double e_u, e_v, m;
      if (u >= v) {
        m = u, e_u = 1, e_v = std::exp(v - u);
      } else {
        m = v, e_u = std::exp(u - v), e_v = 1;
      }
      const double sum = e_u + e_v * one_minus_ew;
      ll_hist += h.n * (m + std::log(sum));
      if (with_gradient) {
        const double k = h.n / sum;
        w_a[h.end] += k * e_u;
        w_f[h.tx] += k * e_v;
        w_f[h.end] -= k * e_v * (1 - one_minus_ew);
        w_q[h.x] += k * e_v * one_minus_ew;
      }
    }
    ll += ll_hist;

    if (with_gradient) {
      std::array<double, 4> g{};
      for (std::size_t i = 0; i < nx; ++i) {
        const double a = r + s + x_[i];
        const std::array<double, 4> d_log_c = {boost::math::digamma(r + x_[i]) - dg_r + ln_alpha,
                                               r / alpha, ln_beta, s / beta};
        const std::array<double, 4> d_log_q = {-1 / a, 0, 1 / s - 1 / a, 0};
        for (int k = 0; k < 4; ++k) g[k] += weight_[i] * d_log_c[k] + w_q[i] * d_log_q[k];
      }
      for (std::size_t j = 0; j < np; ++j) {
        for (int k = 0; k < 4; ++k) g[k] += w_a[j] * d_log_a[j][k] + w_f[j] * d_log_f[j][k];
      }
      *gradient = g;
    }
    return ll;
  }

 private:
  static std::size_t Hash(double x, double t_x, double t_end) {
    std::uint64_t h = 0;
    for (double v : {x, t_x, t_end}) {
      h = (h ^ std::bit_cast<std::uint64_t>(v)) * 0x9e3779b97f4a7c15ULL;  // Fibonacci hashing
      h ^= h >> 32;
    }
    return static_cast<std::size_t>(h);
  }
  struct History {
    std::uint32_t x;        // index into x_
    std::uint32_t tx, end;  // indices of the points (x, t_x) and (x, T)
    double n;               // number of customers with this history
  };
  std::vector<double> x_;               // distinct x, ascending
  std::vector<double> weight_;          // customers per distinct x
  std::vector<double> point_t_;         // the t of each point, grouped by x
  std::vector<std::uint32_t> point_x_;  // the x index of each point
  std::vector<History> histories_;      // distinct (x, t_x, T) with summed weights
};

// (1 - (1+y)^(-k))/k, and its limit ln(1+y) as k -> 0, without cancellation.
double PowerIntegral(double k, double y) {
  const double l = std::log1p(y);
  const double u = k * l;
  if (u == 0) return l;
  return l * (-std::expm1(-u) / u);
}

// ln J for J = ∫₀ᵗ τ^x (α+τ)^-(r+x) (β+τ)^-(s+1) dτ, the died-before-t part of P(X(t) = x).
// With κ = max(α, β), expanding the factor of the smaller rate around κ+τ,
//   (β+τ)^-(s+1) = (α+τ)^-(s+1) Σ_k (s+1)_k/k! ((α-β)/(α+τ))^k        (α >= β)
//   (α+τ)^-(r+x) = (β+τ)^-(r+x) Σ_k (r+x)_k/k! ((β-α)/(β+τ))^k        (α < β),
// and integrating term by term with τ/(κ+τ) as the variable gives
//   J = κ^-(r+s) Σ_k (b)_k z0^k/k! · B_v(x+1, r+s+k),   z0 = |α-β|/κ, v = t/(κ+t),
// (b = s+1 or r+x), a sum of positive terms; B_v is the incomplete beta function, stepped in k
// by B_v(p, q+1) = (q B_v(p, q) + v^p (1-v)^q)/(p+q). Since B_v(p, q) decreases in q, the
// term ratios for k' >= k are at most z0·max(1, (b+k)/(k+1)) and the tail bound of the 2F1
// series applies. For z0 > 0.9 the series is slow, and J is integrated directly by tanh-sinh,
// the integrand scaled by its maximum on [0, t] (its log is unimodal in τ).
double LogDeathIntegral(const ParetoNbdParams& p, double x, double t) {
  const double r = p.r, alpha = p.alpha, s = p.s, beta = p.beta;
  const double kappa = std::max(alpha, beta);
  const double z0 = std::abs(alpha - beta) / kappa;
  if (z0 <= kSeriesMaxZ) {
    const double b = alpha >= beta ? s + 1 : r + x;
    const double pp = x + 1, q0 = r + s;
    const double log_kt = std::log(kappa + t);
    const double log_v = std::log(t) - log_kt, log_1mv = std::log(kappa) - log_kt;
    const double v = t / (kappa + t);
    const double reg = boost::math::ibeta(pp, q0, v);
    if (!(reg > 0)) return -std::numeric_limits<double>::infinity();
    const double log_b0 = std::log(reg) + LogGamma(pp) + LogGamma(q0) - LogGamma(pp + q0);
    double ratio = 1;  // B_v(p, q0+k)/B_v(p, q0)
    double c = 1, sum = 1, log_scale = 0;
    for (int k = 0; k < kMaxSeriesTerms; ++k) {
      const double q = q0 + k;
      ratio = (q * ratio + std::exp(pp * log_v + q * log_1mv - log_b0)) / (pp + q);
      c *= (b + k) * z0 / (k + 1);
      const double term = c * ratio;
      sum += term;
      const double rho = z0 * std::max(1.0, (b + k + 1) / (k + 2.0));
      if (rho < 1 && term * rho / (1 - rho) <= kTailTolerance * sum) break;
      if (sum > kRescale) {
        sum /= kRescale, c /= kRescale;
        log_scale += kLogRescale;
      }
    }
    return -(r + s) * std::log(kappa) + log_b0 + std::log(sum) + log_scale;
  }
  auto h = [&](double tau) {
    return (x > 0 ? x * std::log(tau) : 0) - (r + x) * std::log(alpha + tau) -
           (s + 1) * std::log(beta + tau);
  };
  double tau_max = 0;
  if (x > 0) {
    // h'(τ) = 0 ⇔ -(r+s+1) τ² + (xα - rβ - (s+1)α) τ + xαβ = 0: one positive root.
    const double qa = r + s + 1, qb = x * alpha - r * beta - (s + 1) * alpha;
    tau_max = std::min(t, (qb + std::sqrt(qb * qb + 4 * qa * x * alpha * beta)) / (2 * qa));
  }
  const double h_max = h(tau_max);
  const double i = TanhSinh<1>(
      [&](double u, double) { return std::array<double, 1>{std::exp(h(t * u) - h_max)}; })[0];
  return h_max + std::log(t * i);
}

}  // namespace

namespace pareto_nbd_internal {

LogHyp2F1 LogHyp2F1APlusOne(double a, double b, double z) {
  if (!(a > 0) || !(b > 0) || !(z < 1) || !std::isfinite(a) || !std::isfinite(b) || std::isnan(z)) {
    return NaNResult();
  }
  // The series' terms peak near n = (b-1)z/(1-z) and then fall like z^n, so they need about
  // (bz + 40)/(1-z) terms (for z < 0, with w = z/(z-1) and b-a in place of z and b); at ~12 ns
  // a term the quadrature (~10-20 µs) is cheaper beyond ~800 terms, e.g. for large x.
  LogHyp2F1 out;
  if (z >= 0) {
    if (z <= kSeriesMaxZ && (b * z + 40) / (1 - z) <= kMaxCheapTerms &&
        SeriesNonNegativeZ(a, b, z, &out)) {
      return out;
    }
    if (z >= 0.5 && ConnectionNearOne(a, b, z, &out)) return out;
  } else if (z >= kSeriesMinZ) {
    const double w = z / (z - 1);
    if ((std::max(0.0, b - a) * w + 40) / (1 - w) <= kMaxCheapTerms &&
        SeriesNegativeZ(a, b, z, &out)) {
      return out;
    }
  }
  return Quadrature(a, b, z);
}

}  // namespace pareto_nbd_internal

double ParetoNbdLogLikelihood(const ParetoNbdParams& p, std::span<const PurchaseSummary> data,
                              std::array<double, 4>* gradient_log_params) {
  if (!ValidParams(p) || !ValidateSample(data)) {
    if (gradient_log_params != nullptr) gradient_log_params->fill(kNaN);
    return kNaN;
  }
  const PreparedSample sample(data);
  std::array<double, 4> g{};
  const double ll = sample.LogLikelihood(p, gradient_log_params != nullptr ? &g : nullptr);
  if (gradient_log_params != nullptr) {
    // Chain rule for the log-parameters: d/d(ln θ) = θ · d/dθ.
    *gradient_log_params = {g[0] * p.r, g[1] * p.alpha, g[2] * p.s, g[3] * p.beta};
  }
  return ll;
}

Result<ParetoNbdFit> FitParetoNbd(std::span<const PurchaseSummary> data) {
  TREU_RETURN_IF_ERROR(ValidateSample(data));
  const PreparedSample sample(data);
  // The optimiser sees the mean log-likelihood per customer. Its first L-BFGS step is a
  // steepest-descent step as long as the gradient, so with the total log-likelihood (gradient
  // ~ number of customers) it lands at absurd parameters (r ~ 1e-9, α/β ~ 1e4 on CDNOW) where
  // every 2F1 needs the slow quadrature; the mean keeps the steps O(1) in the log-parameters.
  // The maximiser is the same; the information matrix of the mean is 1/N of the total's, so the
  // standard errors are rescaled by 1/√N below.
  const double total_weight = sample.TotalWeight();
  const LogLikelihood ll = [&](const std::vector<double>& th, std::vector<double>* gradient) {
    const ParetoNbdParams p{th[0], th[1], th[2], th[3]};
    std::array<double, 4> g{};
    const double v = sample.LogLikelihood(p, gradient != nullptr ? &g : nullptr);
    if (gradient != nullptr) {
      for (int i = 0; i < 4; ++i) (*gradient)[i] = g[i] / total_weight;
    }
    return v / total_weight;
  };
  TREU_ASSIGN_OR_RETURN(MleResult m, MaximizeLikelihood("pareto_nbd", ll, {1, 1, 1, 1}));
  ParetoNbdFit fit;
  fit.params = {m.theta[0], m.theta[1], m.theta[2], m.theta[3]};
  fit.log_likelihood = sample.LogLikelihood(fit.params, nullptr);
  fit.evaluations = m.evaluations;
  for (int i = 0; i < 4; ++i) fit.std_errors[i] = m.std_errors[i] / std::sqrt(total_weight);
  return fit;
}

double ParetoNbdPAlive(const ParetoNbdParams& p, const PurchaseSummary& s) {
  if (!ValidParams(p)) return kNaN;
  const double t_x = s.x > 0 ? s.t_x : 0;
  const PointTerms at_t = EvaluatePoint(p, s.x, s.T, false);
  const PointTerms at_tx = EvaluatePoint(p, s.x, t_x, false);
  // P(alive) = A(T) / (A(T) + s/(r+s+x) (F(t_x) - F(T))), in the notation of PreparedSample.
  const double w = at_t.log_f - at_tx.log_f;
  const double one_minus_ew = w < 0 ? -std::expm1(w) : 0;
  if (one_minus_ew == 0) return 1.0;
  const double v = at_tx.log_f + std::log(p.s / (p.r + p.s + s.x));
  return 1 / (1 + std::exp(v - at_t.log_a) * one_minus_ew);
}

double ParetoNbdExpectedPurchasesIfAlive(const ParetoNbdParams& p, const PurchaseSummary& s, double t) {
  // (r+x)(β+T)/((α+T)(s-1)) · (1 - ((β+T)/(β+T+t))^(s-1)).
  return (p.r + s.x) / (p.alpha + s.T) * (p.beta + s.T) * PowerIntegral(p.s - 1, t / (p.beta + s.T));
}

double ParetoNbdExpectedPurchases(const ParetoNbdParams& p, const PurchaseSummary& s, double t) {
  // E[Y(t) | x, t_x, T] = P(alive) · E[Y(t) | alive, x, T].
  return ParetoNbdPAlive(p, s) * ParetoNbdExpectedPurchasesIfAlive(p, s, t);
}

double ParetoNbdExpectedPurchasesNew(const ParetoNbdParams& p, double t) {
  // E[X(t)] = rβ/(α(s-1)) · (1 - (β/(β+t))^(s-1)).
  if (!ValidParams(p)) return kNaN;
  return p.r / p.alpha * p.beta * PowerIntegral(p.s - 1, t / p.beta);
}

double ParetoNbdProbPurchases(const ParetoNbdParams& p, double t, int n) {
  if (!ValidParams(p) || !std::isfinite(t)) return kNaN;
  if (n < 0) return 0;
  if (!(t > 0)) return n == 0 ? 1 : 0;
  const double r = p.r, alpha = p.alpha, s = p.s, beta = p.beta, x = n;
  const double log_comb = LogGamma(r + x) - LogGamma(r) - LogGamma(x + 1);
  // Alive at t with x purchases: NBD(x; r, α/(α+t)) · (β/(β+t))^s.
  const double log_alive = log_comb - r * std::log1p(t / alpha) +
                           (n > 0 ? x * (std::log(t) - std::log(alpha + t)) : 0) -
                           s * std::log1p(t / beta);
  // Died at τ < t after x purchases: ∫₀ᵗ s β^s/(β+τ)^(s+1) · NBD(x; r, α/(α+τ)) dτ.
  const double log_dead =
      std::log(s) + r * std::log(alpha) + s * std::log(beta) + log_comb + LogDeathIntegral(p, x, t);
  return std::exp(log_alive) + std::exp(log_dead);
}

}  // namespace treu
