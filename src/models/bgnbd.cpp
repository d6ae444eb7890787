#include "models/bgnbd.hpp"

#include <math.h>  // lgamma_r: std::lgamma writes the global signgam, which is not thread safe

#include <algorithm>
#include <bit>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "models/mle.hpp"

namespace treu {
namespace beta_geometric_internal {
namespace {

using boost::math::digamma;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double LogGamma(double x) {
  int sign = 0;
  return lgamma_r(x, &sign);
}

// ---------------------------------------------------------------------------------------------
// The likelihood. With A1 = ln Γ(r+x) − ln Γ(r) + r ln α, A2 = ln B(a, b+x+s) − ln B(a, b),
// s = 0 for BG/NBD and 1 for MBG/NBD, the log-likelihood of one history is
//   A1 + A2 + ln[(α+T)^−(r+x) + [x > 0 or s = 1] a/(b+x−1+s) (α+t_x)^−(r+x)].
// A1 and A2 depend on the history only through x, so they are summed once per distinct x. The
// last term is −(r+x) ln(α+T) + softplus(u) with u = ln a − ln(b+x−1+s) + (r+x)(ln(α+T) −
// ln(α+t_x)), which needs ln(α+T) and ln(α+t_x) once per distinct T and t_x (see
// PreparedSample) and one exp and one log per distinct history (x, t_x, T).

// Open-addressing hash map from 64-bit keys to dense indices 0, 1, 2, ... in order of first
// appearance.
class DenseIndex {
 public:
  DenseIndex() { Rehash(64); }

  std::size_t size() const { return size_; }

  // The index of `key`, added as the next index when new (`*added` tells which).
  std::uint32_t Insert(std::uint64_t key, bool* added) {
    for (std::size_t i = Slot(key);; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (e.index_plus_1 == 0) {
        e = {key, static_cast<std::uint32_t>(++size_)};
        *added = true;
        if (2 * size_ > slots_.size()) Rehash(2 * slots_.size());
        return static_cast<std::uint32_t>(size_ - 1);
      }
      if (e.key == key) {
        *added = false;
        return e.index_plus_1 - 1;
      }
    }
  }

 private:
  struct Entry {
    std::uint64_t key = 0;
    std::uint32_t index_plus_1 = 0;  // 0: empty
  };

  std::size_t Slot(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void Rehash(std::size_t capacity) {
    std::vector<Entry> old = std::move(slots_);
    slots_.assign(capacity, Entry{});
    mask_ = capacity - 1;
    shift_ = 64 - std::countr_zero(capacity);
    for (const Entry& e : old) {
      if (e.index_plus_1 == 0) continue;
      std::size_t i = Slot(e.key);
      while (slots_[i].index_plus_1 != 0) i = (i + 1) & mask_;
      slots_[i] = e;
    }
  }

  std::vector<Entry> slots_;
  std::size_t mask_ = 0;
  int shift_ = 0;
  std::size_t size_ = 0;
};

std::uint64_t Bits(double v) { return std::bit_cast<std::uint64_t>(v + 0.0); }  // -0 -> +0

// A distinct history and its total weight.
struct Record {
  std::uint32_t xi, ri, ai;  // indices into the distinct x, t_x (recency) and T (age) values
  double n;
};

// Open-addressing hash map from 64-bit keys to summed positive weights (0 marks an empty slot).
class WeightByKey {
 public:
  WeightByKey() : slots_(1024) {}

  void Add(std::uint64_t key, double weight) {
    for (std::size_t i = Slot(key);; i = (i + 1) & (slots_.size() - 1)) {
      Entry& e = slots_[i];
      if (e.weight == 0) {
        e = {key, weight};
        if (2 * ++size_ > slots_.size()) Grow();
        return;
      }
      if (e.key == key) {
        e.weight += weight;
        return;
      }
    }
  }

  // Calls f(key, weight) for every key, in slot order (which depends only on the keys added).
  template <typename F>
  void ForEach(const F& f) const {
    for (const Entry& e : slots_) {
      if (e.weight != 0) f(e.key, e.weight);
    }
  }

 private:
  struct Entry {
    std::uint64_t key = 0;
    double weight = 0;
  };

  std::size_t Slot(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >>
                                    (64 - std::countr_zero(slots_.size())));
  }

  void Grow() {
    std::vector<Entry> old(2 * slots_.size());
    old.swap(slots_);
    for (const Entry& e : old) {
      if (e.weight == 0) continue;
      std::size_t i = Slot(e.key);
      while (slots_[i].weight != 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = e;
    }
  }

  std::vector<Entry> slots_;
  std::size_t size_ = 0;
};

// Whether times look exact rather than whole days: more than kProbeDistinct distinct T among
// the first kProbe histories.
constexpr std::size_t kProbe = 8192;
constexpr std::size_t kProbeDistinct = 1024;
// x below this (and integral) is mapped to its distinct value through a plain array.
constexpr double kIndexedXBelow = 1 << 20;
constexpr std::uint32_t kNoIndex = std::numeric_limits<std::uint32_t>::max();

// A sample, or its systematic subsample data[0], data[stride], ..., prepared once per fit, in
// one of two forms:
// - by distinct values (the usual case, times in whole days): the distinct x, t_x and T, and
//   the distinct histories (x, t_x, T) with their total weights. Histories with x = 0 (so
//   t_x = 0) are merged by T through a plain array, the others through a hash map of their
//   packed indices. An evaluation then needs one log per distinct T and t_x and one exp and log
//   per distinct history.
// - by value, when times look exact (hardly any repeats, so value tables would be as large as
//   the sample and only add cache misses) and every x is an integer below 2^20: the sample is
//   read as it is, with its logs computed per history; only x goes through a table.
// The order of everything depends only on the sample.
struct PreparedSample {
  std::vector<double> x_values, x_weights;  // distinct x and the total weight of each

  // By distinct values.
  std::vector<double> recency_values, age_values;  // distinct t_x and T
  std::vector<Record> records;                     // distinct (x, t_x, T)

  // By value.
  bool by_value = false;
  std::span<const PurchaseSummary> data;
  std::size_t stride = 1;
  std::vector<std::uint32_t> x_index;  // integer x -> index into x_values

  PreparedSample(std::span<const PurchaseSummary> sample, std::size_t step = 1)
      : data(sample), stride(step) {
    by_value = TimesLookExact() && IndexIntegerXs();
    if (!by_value) Deduplicate();
  }

  // The number of histories an evaluation visits.
  std::size_t size() const {
    return by_value ? (data.size() + stride - 1) / stride : records.size();
  }

 private:
  bool TimesLookExact() const {
    DenseIndex ages;
    bool added = false;
    std::size_t seen = 0;
    for (std::size_t i = 0; i < data.size() && seen < kProbe; i += stride, ++seen)
      ages.Insert(Bits(data[i].T), &added);
    return ages.size() > kProbeDistinct;
  }

  // Indexes every x through x_index; false (and nothing indexed) unless all are integers in
  // [0, kIndexedXBelow).
  bool IndexIntegerXs() {
    for (std::size_t i = 0; i < data.size(); i += stride) {
      const double x = data[i].x;
      if (!(x >= 0 && x == std::floor(x) && x < kIndexedXBelow)) {
        x_values.clear();
        x_weights.clear();
        x_index.clear();
        return false;
      }
      const auto v = static_cast<std::size_t>(x);
      if (v >= x_index.size()) x_index.resize(v + 1, kNoIndex);
      if (x_index[v] == kNoIndex) {
        x_index[v] = static_cast<std::uint32_t>(x_values.size());
        x_values.push_back(x);
        x_weights.push_back(0);
      }
      x_weights[x_index[v]] += data[i].n;
    }
    return true;
  }

  void Deduplicate() {
    constexpr int kField = 21;  // bits per index in a packed key
    constexpr std::uint32_t kFieldMask = (1u << kField) - 1;
    DenseIndex xs, recencies, ages;
    WeightByKey histories;
    std::vector<double> zero_weight_by_age;
    bool added = false;
    std::uint32_t zero_xi = 0;
    bool any_zero = false;
    for (std::size_t i = 0; i < data.size(); i += stride) {
      const PurchaseSummary& s = data[i];
      const std::uint32_t xi = xs.Insert(Bits(s.x), &added);
      if (added) {
        x_values.push_back(s.x);
        x_weights.push_back(0);
      }
      x_weights[xi] += s.n;
      const std::uint32_t ai = ages.Insert(Bits(s.T), &added);
      if (added) {
        age_values.push_back(s.T);
        zero_weight_by_age.push_back(0);
      }
      if (s.x == 0) {
        zero_weight_by_age[ai] += s.n;
        zero_xi = xi;
        any_zero = true;
        continue;
      }
      const std::uint32_t ri = recencies.Insert(Bits(s.t_x), &added);
      if (added) recency_values.push_back(s.t_x);
      if (xi <= kFieldMask && ai <= kFieldMask && ri <= kFieldMask) {
        histories.Add((std::uint64_t{xi} << (2 * kField)) | (std::uint64_t{ai} << kField) | ri,
                      s.n);
      } else {  // more than two million distinct values: no merging
        records.push_back({xi, ri, ai, s.n});
      }
    }
    if (any_zero) {
      const std::uint32_t zero_ri = recencies.Insert(Bits(0.0), &added);
      if (added) recency_values.push_back(0.0);
      for (std::uint32_t ai = 0; ai < zero_weight_by_age.size(); ++ai) {
        if (zero_weight_by_age[ai] > 0)
          records.push_back({zero_xi, zero_ri, ai, zero_weight_by_age[ai]});
      }
    }
    histories.ForEach([this](std::uint64_t key, double n) {
      records.push_back({static_cast<std::uint32_t>(key >> (2 * kField)),
                         static_cast<std::uint32_t>(key) & kFieldMask,
                         static_cast<std::uint32_t>(key >> kField) & kFieldMask, n});
    });
  }
};

// Runs part(0) and part(1), the second on a thread of its own when `parallel`. The caller
// combines the parts' results in a fixed order, so the outcome does not depend on timing.
template <typename Part>
void RunInTwoParts(bool parallel, const Part& part) {
  if (parallel) {
    try {
      std::jthread helper([&part] { part(1); });
      part(0);
      return;  // joins the helper
    } catch (const std::system_error&) {
      // No thread could be started (part(0) has not run): run both parts here.
    }
  }
  part(0);
  part(1);
}

// The half [begin, end) of 0 .. size − 1 that part 0 or 1 takes.
void Half(int part, std::size_t size, std::size_t* begin, std::size_t* end) {
  *begin = part == 0 ? 0 : size / 2;
  *end = part == 0 ? size / 2 : size;
}

// Above these sizes the sums are split over two threads.
constexpr std::size_t kParallelHistories = 100000;
constexpr std::size_t kParallelTables = 50000;

struct PerX {
  double rx;   // r + x
  double k;    // ln a − ln(b+x−1+s), or −inf when the drop-out term is absent (BG/NBD, x = 0)
  double inv;  // 1 / (b+x−1+s), or 0 when absent
  double const_ll, const_gr, const_ga, const_gb;  // A1 + A2 and its derivatives in r, a, b
};

// ln(α+v) and 1/(α+v) for a time v (T or t_x).
struct TimeTerms {
  double ln, inv;
};

// Sums over histories: the log-likelihood terms, d/dr, d/dα (both without A1), and the
// weighted drop-out shares w4 and w4 / (b+x−1+s), from which d/da and d/db follow.
struct Partial {
  double ll = 0, gr = 0, galpha = 0, ga = 0, gb = 0;
};

// One history without a drop-out term (BG/NBD, x = 0): −(r+x) ln(α+T).
inline void AddWithoutDropout(Partial& acc, bool with_gradient, double n, const PerX& e,
                              TimeTerms age) {
  acc.ll -= n * e.rx * age.ln;
  if (with_gradient) {
    acc.gr -= n * age.ln;
    acc.galpha -= n * e.rx * age.inv;
  }
}

// One history: −(r+x) ln(α+T) + softplus(u), u = k + (r+x)(ln(α+T) − ln(α+t_x)).
inline void AddWithDropout(Partial& acc, bool with_gradient, double n, const PerX& e, TimeTerms age,
                           TimeTerms recency) {
  const double u = e.k + e.rx * (age.ln - recency.ln);
  const double ex = std::exp(-std::abs(u));
  // ln(1 + e^u) = max(u, 0) + ln(1 + e^−|u|); its absolute rounding error is ~1e-16.
  const double softplus = std::max(u, 0.0) + std::log(1 + ex);
  acc.ll += n * (softplus - e.rx * age.ln);
  if (with_gradient) {
    const double w4 = (u > 0 ? 1 : ex) / (1 + ex);  // share of the drop-out term
    const double w3 = 1 - w4;
    acc.gr -= n * (w3 * age.ln + w4 * recency.ln);
    acc.galpha -= n * e.rx * (w3 * age.inv + w4 * recency.inv);
    acc.ga += n * w4;
    acc.gb += n * w4 * e.inv;
  }
}

double Evaluate(Dropout dropout, const BgNbdParams& p, const PreparedSample& ps,
                std::array<double, 4>* gradient_log_params) {
  const double r = p.r, alpha = p.alpha, a = p.a, b = p.b;
  const double s = dropout == Dropout::kAlsoAfterFirstPurchase ? 1 : 0;
  const double ln_alpha = std::log(alpha), ln_a = std::log(a);
  const double lg_r = LogGamma(r), lg_b = LogGamma(b), lg_ab = LogGamma(a + b);
  const double dg_r = digamma(r), dg_b = digamma(b), dg_ab = digamma(a + b);
  const bool with_gradient = gradient_log_params != nullptr;
  const auto time_terms = [alpha](double v) {
    return TimeTerms{std::log(alpha + v), 1 / (alpha + v)};
  };

  // Tables, each filled in two halves.
  std::vector<PerX> per_x(ps.x_values.size());
  std::vector<TimeTerms> age_terms(ps.age_values.size()), recency_terms(ps.recency_values.size());
  const auto tables = [&](int part) {
    std::size_t begin, end;
    Half(part, per_x.size(), &begin, &end);
    for (std::size_t i = begin; i < end; ++i) {
      const double x = ps.x_values[i];
      PerX& e = per_x[i];
      e.rx = r + x;
      const bool has_dropout_term = x > 0 || s > 0;
      const double bx = b + x - 1 + s;
      e.k = has_dropout_term ? ln_a - std::log(bx) : -std::numeric_limits<double>::infinity();
      e.inv = has_dropout_term ? 1 / bx : 0;
      e.const_ll = LogGamma(r + x) - lg_r + r * ln_alpha + lg_ab + LogGamma(b + x + s) - lg_b -
                   LogGamma(a + b + x + s);
      if (with_gradient) {
        const double dg_abx = digamma(a + b + x + s);
        e.const_gr = digamma(r + x) - dg_r + ln_alpha;
        e.const_ga = dg_ab - dg_abx;
        e.const_gb = dg_ab + digamma(b + x + s) - dg_b - dg_abx;
      }
    }
    Half(part, age_terms.size(), &begin, &end);
    for (std::size_t i = begin; i < end; ++i) age_terms[i] = time_terms(ps.age_values[i]);
    Half(part, recency_terms.size(), &begin, &end);
    for (std::size_t i = begin; i < end; ++i) recency_terms[i] = time_terms(ps.recency_values[i]);
  };
  RunInTwoParts(per_x.size() + age_terms.size() + recency_terms.size() > kParallelTables, tables);

  // The histories, in two fixed halves.
  Partial parts[2];
  const auto histories = [&](int part) {
    std::size_t begin, end;
    Half(part, ps.size(), &begin, &end);
    Partial acc;
    if (ps.by_value) {
      for (std::size_t i = begin * ps.stride, stop = end * ps.stride; i < stop; i += ps.stride) {
        const PurchaseSummary& h = ps.data[i];
        const PerX& e = per_x[ps.x_index[static_cast<std::size_t>(h.x)]];
        if (std::isinf(e.k)) {
          AddWithoutDropout(acc, with_gradient, h.n, e, time_terms(h.T));
        } else {
          AddWithDropout(acc, with_gradient, h.n, e, time_terms(h.T), time_terms(h.t_x));
        }
      }
    } else {
      for (std::size_t i = begin; i < end; ++i) {
        const Record& h = ps.records[i];
        const PerX& e = per_x[h.xi];
        if (std::isinf(e.k)) {
          AddWithoutDropout(acc, with_gradient, h.n, e, age_terms[h.ai]);
        } else {
          AddWithDropout(acc, with_gradient, h.n, e, age_terms[h.ai], recency_terms[h.ri]);
        }
      }
    }
    parts[part] = acc;
  };
  RunInTwoParts(ps.size() > kParallelHistories, histories);

  Partial rec;  // the histories' sums, in a fixed order
  for (const Partial& q : parts) {
    rec.ll += q.ll;
    rec.gr += q.gr;
    rec.galpha += q.galpha;
    rec.ga += q.ga;
    rec.gb += q.gb;
  }
  // The per-x terms A1 + A2 and their derivatives.
  double weight = 0, ll = rec.ll, cgr = 0, cga = 0, cgb = 0;
  for (std::size_t i = 0; i < per_x.size(); ++i) {
    const double w = ps.x_weights[i];
    weight += w;
    ll += w * per_x[i].const_ll;
    if (with_gradient) {
      cgr += w * per_x[i].const_gr;
      cga += w * per_x[i].const_ga;
      cgb += w * per_x[i].const_gb;
    }
  }
  if (with_gradient) {
    const double dr = rec.gr + cgr;
    const double dalpha = rec.galpha + weight * r / alpha;
    const double da = cga + rec.ga / a;
    const double db = cgb - rec.gb;
    // Chain rule for the log-parameters: d/d(ln θ) = θ · d/dθ.
    *gradient_log_params = {dr * r, dalpha * alpha, da * a, db * b};
  }
  return ll;
}

}  // namespace

Status ValidateSample(std::span<const PurchaseSummary> data) {
  if (data.empty()) return InvalidArgument("data", "no customers to fit");
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PurchaseSummary& s = data[i];
    const bool finite =
        std::isfinite(s.x) && std::isfinite(s.t_x) && std::isfinite(s.T) && std::isfinite(s.n);
    if (!finite || !(s.x >= 0 && s.t_x >= 0 && s.T >= s.t_x && s.n > 0) ||
        (s.x > 0 ? !(s.t_x > 0) : s.t_x != 0)) {
      return InvalidArgument(
          "data[" + std::to_string(i) + "]",
          "needs finite x >= 0, 0 <= t_x <= T, t_x > 0 when x > 0 and t_x = 0 when "
          "x = 0, and a finite weight n > 0");
    }
  }
  return Ok();
}

double LogLikelihood(Dropout dropout, const BgNbdParams& p, std::span<const PurchaseSummary> data,
                     std::array<double, 4>* gradient_log_params) {
  return Evaluate(dropout, p, PreparedSample(data), gradient_log_params);
}

namespace {

// Samples of more histories than this are first fitted on a subsample of about kSubsampleSize.
constexpr std::size_t kSubsampleAbove = 100000;
constexpr std::size_t kSubsampleSize = 50000;

treu::LogLikelihood NaturalLogLikelihood(Dropout dropout, const PreparedSample& ps) {
  return [dropout, &ps](const std::vector<double>& th, std::vector<double>* gradient) {
    const BgNbdParams p{th[0], th[1], th[2], th[3]};
    std::array<double, 4> g{};
    const double v = Evaluate(dropout, p, ps, gradient != nullptr ? &g : nullptr);
    if (gradient != nullptr) {
      for (int i = 0; i < 4; ++i) (*gradient)[i] = g[i] / th[i];  // back to natural parameters
    }
    return v;
  };
}

}  // namespace

Result<BgNbdFit> Fit(Dropout dropout, std::span<const PurchaseSummary> data, const char* model) {
  TREU_RETURN_IF_ERROR(ValidateSample(data));
  const PreparedSample full(data);
  std::vector<double> start{1, 1, 1, 1};
  int evaluations = 0;
  if (data.size() > kSubsampleAbove) {
    // A deterministic systematic subsample (every k-th history) gives the starting point.
    const PreparedSample ps(data, (data.size() + kSubsampleSize - 1) / kSubsampleSize);
    const Result<MleResult> first =
        MaximizeLikelihood(model, NaturalLogLikelihood(dropout, ps), start);
    if (first) {
      start = first->theta;
      evaluations += first->evaluations;
    }  // else: start the whole sample from scratch
  }
  TREU_ASSIGN_OR_RETURN(MleResult m,
                        MaximizeLikelihood(model, NaturalLogLikelihood(dropout, full), start));
  BgNbdFit fit;
  fit.params = {m.theta[0], m.theta[1], m.theta[2], m.theta[3]};
  fit.log_likelihood = m.log_likelihood;
  fit.evaluations = evaluations + m.evaluations;
  for (int i = 0; i < 4; ++i) fit.std_errors[i] = m.std_errors[i];
  return fit;
}

// With K ~ NB(shape, z) the purchases in the period if there were no drop-out (z = t/(rate+t))
// and S_k = sum over j < k of E[(1−p)^j] = sum of (b)_j/(a+b)_j the expected purchases among the
// first k made before drop-out, the expectation is E[S_K] = sum over k >= 1 of P(K = k) S_k, a
// series of positive terms u_k. From k on, u_{j+1}/u_j <= rho = z (1 + shape/k) (the NB ratio
// is (shape+j) z/(j+1) and S_{j+1}/S_j <= (j+1)/j since (b)_j/(a+b)_j decreases), so once
// rho < 1 the tail after u_k is at most u_k rho/(1−rho); the sum stops below 1e-17 relative.
// In double: each term carries the rounding of its k ratios, so the result is accurate to
// about 1e-16 sqrt(terms) (1e-16 terms at worst), e.g. 1e-14 with 5,000 terms.
double ExpectedPurchasesBeforeDropout(double shape, double rate, double a, double b, double t) {
  if (!(shape > 0 && rate > 0 && a > 0 && b > 0 && t >= 0) || !std::isfinite(shape) ||
      !std::isfinite(rate) || !std::isfinite(a) || !std::isfinite(b) || !std::isfinite(t)) {
    return kNaN;
  }
  if (t == 0) return 0;
  constexpr double kTolerance = 1e-17, kHuge = 1e250;
  const double z = t / (rate + t);
  // ln P(K = 0) = −shape ln(1 + t/rate); the terms are kept relative to P(K = 0), rescaled when
  // they grow large, with the log of the scale in log_scale.
  double log_scale = -shape * std::log1p(t / rate);
  double pk = 1, sk = 0, qk = 1, total = 0;
  double rho = 2;  // a bound on the later term ratios once below 1
  for (long k = 1;; ++k) {
    const double j = static_cast<double>(k - 1), kk = static_cast<double>(k), abj = a + b + j;
    const double d = 1 / (kk * abj);  // one division for both ratios
    pk *= (shape + j) * z * abj * d;  // P(K = k) / scale
    sk += qk;
    qk *= (b + j) * kk * d;  // (b)_k / (a+b)_k
    const double u = pk * sk;
    total += u;
    // The bound z (1 + shape/k) decreases with k, so one computed earlier stays valid.
    if (rho >= 1 || (k & 15) == 0) rho = z * (1 + shape / kk);
    if (rho < 1 && u * rho <= kTolerance * (1 - rho) * total) break;
    if (pk > kHuge) {
      pk /= kHuge;
      total /= kHuge;
      log_scale += std::log(kHuge);
    }
  }
  return std::exp(std::log(total) + log_scale);
}

bool ValidParams(const BgNbdParams& p) {
  const double v[] = {p.r, p.alpha, p.a, p.b};
  return std::all_of(std::begin(v), std::end(v),
                     [](double q) { return q > 0 && std::isfinite(q); });
}

bool ValidHistory(const PurchaseSummary& s) {
  return std::isfinite(s.x) && std::isfinite(s.T) && s.x >= 0 && s.t_x >= 0 && s.T >= s.t_x &&
         (s.x > 0 ? s.t_x > 0 : s.t_x == 0);
}

double ProbPurchases(Dropout dropout, const BgNbdParams& p, double t, int n) {
  if (!ValidParams(p) || !(t >= 0) || !std::isfinite(t)) return kNaN;
  if (n < 0) return 0;
  if (t == 0) return n == 0 ? 1 : 0;
  // s: the drop-out chances besides the n after the repeat purchases (MBG/NBD: one more, right
  // after the first purchase).
  const double s = dropout == Dropout::kAlsoAfterFirstPurchase ? 1 : 0;
  const double r = p.r, alpha = p.alpha, a = p.a, b = p.b, dn = n;
  // MBG/NBD: dropped out right after the first purchase.
  double prob = s == 1 && n == 0 ? a / (a + b) : 0;
  // Negative-binomial P(N(t) = n) of the purchases while alive throughout.
  const double log_nb = LogGamma(r + dn) - LogGamma(r) - LogGamma(dn + 1) -
                        r * std::log1p(t / alpha) + dn * (std::log(t) - std::log(alpha + t));
  // B(a, b+n+s)/B(a, b): survived all n + s drop-out chances.
  const double log_alive = LogGamma(b + dn + s) - LogGamma(b) + LogGamma(a + b) - LogGamma(a + b + dn + s);
  prob += std::exp(log_alive + log_nb);
  if (n > 0) {
    // B(a+1, b+n−1+s)/B(a, b): dropped out right after the n-th repeat purchase, which needs
    // N(t) >= n, with probability I_z(n, r), z = t/(α+t).
    const double log_drop = std::log(a) + LogGamma(b + dn - 1 + s) - LogGamma(b) + LogGamma(a + b) -
                            LogGamma(a + b + dn + s);
    try {
      prob += std::exp(log_drop) * boost::math::ibeta(dn, r, t / (alpha + t));
    } catch (const std::exception&) {
      return kNaN;
    }
  }
  return prob;
}

}  // namespace beta_geometric_internal

namespace bgi = beta_geometric_internal;
using bgi::ValidHistory;
using bgi::ValidParams;

double BgNbdLogLikelihood(const BgNbdParams& p, std::span<const PurchaseSummary> data,
                          std::array<double, 4>* gradient_log_params) {
  return bgi::LogLikelihood(bgi::Dropout::kAfterRepeatPurchases, p, data, gradient_log_params);
}

Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> data) {
  return bgi::Fit(bgi::Dropout::kAfterRepeatPurchases, data, "bgnbd");
}

double BgNbdPAlive(const BgNbdParams& p, const PurchaseSummary& s) {
  if (s.x <= 0) return 1.0;
  const double odds = p.a / (p.b + s.x - 1) *
                      std::exp((p.r + s.x) * (std::log(p.alpha + s.T) - std::log(p.alpha + s.t_x)));
  return 1.0 / (1.0 + odds);
}

double BgNbdExpectedPurchases(const BgNbdParams& p, const PurchaseSummary& s, double t) {
  if (!ValidParams(p) || !ValidHistory(s)) return bgi::kNaN;
  // Given alive at T: rate ~ gamma(r + x, α + T), drop-out probability ~ beta(a, b + x).
  return BgNbdPAlive(p, s) *
         bgi::ExpectedPurchasesBeforeDropout(p.r + s.x, p.alpha + s.T, p.a, p.b + s.x, t);
}

double BgNbdExpectedPurchasesNew(const BgNbdParams& p, double t) {
  if (!ValidParams(p)) return bgi::kNaN;
  return bgi::ExpectedPurchasesBeforeDropout(p.r, p.alpha, p.a, p.b, t);
}

double BgNbdProbPurchases(const BgNbdParams& p, double t, int n) {
  return bgi::ProbPurchases(bgi::Dropout::kAfterRepeatPurchases, p, t, n);
}

}  // namespace treu
