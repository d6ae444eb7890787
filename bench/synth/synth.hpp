// Deterministic synthetic data for `treu demo` and the benchmarks: customers, orders from a
// BG/NBD-like purchase process with Gamma-Gamma spend, B2B subscriptions with a history of
// upgrades, downgrades, churn and reactivation, and Segment-style behavioural events.
//
// Determinism: the same configuration and seed give the same objects, in the same order,
// on every run of this toolchain. All randomness comes from the samplers in this file
// (xoshiro256** seeded through splitmix64), never from std::*_distribution, whose results
// are implementation-defined. Each customer draws from generators derived from the seed and
// the customer's index only, so customer i's data is the same whatever the number of
// customers: a smaller data set is a prefix of a larger one with the same seed (ids
// included), and switching events off changes nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/time.hpp"
#include "domain/domain.hpp"

namespace treu {

// ---------------------------------------------------------------------------------------------
// Random numbers

// xoshiro256** (Blackman & Vigna), seeded from one 64-bit value through splitmix64, with
// the samplers the generator needs. Results depend only on the seed and the sequence of
// calls (plus the platform's log/exp/pow/sqrt, which are fixed on one toolchain).
// Not thread-safe; cheap to copy.
class SynthRng {
 public:
  explicit SynthRng(std::uint64_t seed);
  // A generator for stream `stream` of item `index` under `seed`: independent streams for
  // each (seed, index, stream) triple.
  static SynthRng For(std::uint64_t seed, std::uint64_t index, std::uint64_t stream);

  std::uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform in (0, 1): never 0, so safe for log.
  double UniformOpen();
  // Uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  std::int64_t UniformInt(std::int64_t lo, std::int64_t hi);
  // True with probability p.
  bool Bernoulli(double p) { return Uniform() < p; }
  // Exponential with mean 1.
  double Exponential();
  // Standard normal (Marsaglia's polar method; the second value is discarded).
  double Normal();
  // Gamma with the given shape and scale 1 (Marsaglia & Tsang 2000; shapes below 1 by
  // boosting: Gamma(k) = Gamma(k + 1) * U^(1/k)). REQUIRES: shape > 0.
  double Gamma(double shape);
  // Beta(a, b) as X / (X + Y) of two gammas. REQUIRES: a > 0, b > 0.
  double Beta(double a, double b);
  // Poisson with the given mean: by multiplication of uniforms below 30, else a rounded
  // normal approximation (good enough for synthetic data). REQUIRES: mean >= 0.
  std::int64_t Poisson(double mean);

 private:
  std::uint64_t s_[4];
};

// The splitmix64 finaliser: a bijective 64-bit mix.
std::uint64_t SynthMix(std::uint64_t x);

// ---------------------------------------------------------------------------------------------
// Configuration

// Purchases follow a BG/NBD-like process: the first order at the customer's arrival, then
// repeat orders at Poisson rate λ ~ Gamma(shape r, rate α) per week; after each repeat
// order the customer drops out for good with probability p ~ Beta(a, b). The defaults keep
// the CDNOW shapes r and a (r = 0.243, a = 0.793) and scale α and b so that a customer
// arriving in the first two thirds of a two-year window places about ten orders.
struct PurchaseBehaviour {
  double r = 0.243;
  double alpha = 0.55;  // weeks
  double a = 0.793;
  double b = 8.0;
  double max_rate_per_week = 7.0;  // λ is capped here (at most one order a day on average)
  std::int64_t max_orders_per_customer = 1000;
};

// Gamma-Gamma spend: per customer ν ~ Gamma(shape q, rate γ); each order's value
// z ~ Gamma(shape p, rate ν), in major units, at least `floor_major`, rounded to minor units.
struct SpendModel {
  double p = 6.25;
  double q = 3.74;
  double gamma = 15.44;
  double floor_major = 1.0;
};

struct SynthConfig {
  std::string size_name = "custom";            // "S", "M", "L", or "custom"
  std::int64_t customers = 0;                  // >= 0
  double subscription_share = 0.2;             // share of customers with a subscription, 0..1
  std::int64_t events_per_customer_mean = 20;  // >= 0
  bool events = true;                          // false: OnEvent is never called
  std::uint64_t seed = 42;
  // The data covers [start 00:00Z, end + 1 day 00:00Z). Customers arrive over the first
  // two thirds. Fixed dates, never "now", so output does not depend on the day of the run.
  CivilDate start{2024, 1, 1};
  CivilDate end{2025, 12, 31};
  std::string currency = "EUR";  // ISO 4217; amounts are the same numbers in major units
  PurchaseBehaviour purchases;
  SpendModel spend;
  double cancel_share = 0.02;      // share of orders cancelled
  double refund_share = 0.05;      // share of orders with refunds
  double full_refund_share = 0.6;  // of refunded orders, refunded in full
};

// The preset of a named size (case-insensitive): "S" 10k customers (~100k orders, ~2k
// subscriptions, ~200k events), "M" 100k customers (~1M orders), "L" 1M customers (~10M
// orders, ~200k subscriptions, ~20M events). All presets share every per-customer parameter,
// so they differ only in the number of customers. InvalidArgument for other names.
Result<SynthConfig> SynthSize(std::string_view name);

// InvalidArgument naming the field when a configuration can't be generated.
Status ValidateSynthConfig(const SynthConfig& config);

// ---------------------------------------------------------------------------------------------
// Generation

// Receives the generated objects. Every object passes its domain Validate* function.
// References are valid only during the call; the generator reuses the objects.
class SynthSink {
 public:
  virtual ~SynthSink() = default;
  virtual Status OnCustomer(const Customer& customer) = 0;
  virtual Status OnOrder(const Order& order) = 0;
  virtual Status OnSubscription(const Subscription& subscription) = 0;
  virtual Status OnEvent(const Event& event) = 0;
};

// Generates the data set of `config` into `sink`, one customer at a time in customer order:
// the customer, then its orders (by time), its subscriptions (by start), its events (by
// time). Memory use is bounded by one customer's data, whatever the size. Ids and
// references: customers "c000000".., orders "o00000001".., subscriptions "s0000001".. (the
// numbers grow wider past these widths); orders and subscriptions name their customer by
// customer_external_id and leave `customer` invalid; events carry the customer's external
// id as user_id. No storage ids are set. Returns InvalidArgument for a bad configuration,
// or the first error a sink call returns (generation stops there).
Status GenerateSynth(const SynthConfig& config, SynthSink& sink);

// What a generation produced.
struct SynthCounts {
  std::int64_t customers = 0;
  std::int64_t orders = 0;
  std::int64_t refunds = 0;  // refund records (an order may have two)
  std::int64_t subscriptions = 0;
  std::int64_t subscription_states = 0;  // history entries, i.e. subscription CSV rows
  std::int64_t events = 0;
};

// A sink that counts what passes through and forwards it to another sink (or nowhere).
// The target, if any, must outlive this object.
class CountingSink final : public SynthSink {
 public:
  explicit CountingSink(SynthSink* target = nullptr) : target_(target) {}

  Status OnCustomer(const Customer& customer) override;
  Status OnOrder(const Order& order) override;
  Status OnSubscription(const Subscription& subscription) override;
  Status OnEvent(const Event& event) override;

  const SynthCounts& counts() const { return counts_; }

 private:
  SynthSink* target_;
  SynthCounts counts_;
};

}  // namespace treu
