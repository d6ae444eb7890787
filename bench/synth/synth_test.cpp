#include "synth/synth.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "synth/csv_writer.hpp"

namespace treu {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

// A directory under the test temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  explicit TempDir(std::string_view name) {
    path_ = std::filesystem::path(testing::TempDir()) /
            ("treu_synth_test_" + std::string(name) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RFC 4180 records of a whole file: quoted fields may hold commas, quotes and line breaks.
std::vector<std::vector<std::string>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
    } else {
      field += ch;
    }
  }
  return records;
}

std::uint64_t Fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001B3ULL;
  }
  return h;
}

// One line of text per object with every field, for digests and comparisons.
std::string Describe(const Customer& c) {
  std::string out = "customer " + c.external_id + "|" + c.email + "|" + c.name + "|" + c.country +
                    "|" + c.locale + "|" + c.time_zone + "|" + std::to_string(c.created_at.micros) +
                    "|" + std::to_string(c.updated_at.micros);
  for (const auto& [k, v] : c.attributes) out += "|" + k + "=" + FormatAttributeValue(v);
  for (const auto& [ch, consent] : c.consent) {
    out += "|" + std::string(ChannelName(ch)) + "=" + (consent.granted ? "1" : "0") +
           consent.source + std::to_string(consent.at.micros);
  }
  return out;
}

std::string Describe(const Order& o) {
  std::string out = "order " + o.external_id + "|" + o.customer_external_id + "|" +
                    std::to_string(o.placed_at.micros) + "|" + std::to_string(o.total.minor) +
                    std::string(o.total.currency.code()) + "|" +
                    std::string(OrderStatusName(o.status));
  for (const auto& r : o.refunds) {
    out += "|r" + std::to_string(r.refunded_at.micros) + ":" + std::to_string(r.amount_minor);
  }
  return out;
}

std::string Describe(const Subscription& s) {
  std::string out = "subscription " + s.external_id + "|" + s.customer_external_id + "|" +
                    std::string(s.currency.code()) + "|" + std::to_string(s.started_at.micros) +
                    "|" + (s.ended_at ? std::to_string(s.ended_at->micros) : "-");
  for (const auto& st : s.history) {
    out += "|" + std::to_string(st.effective_at.micros) + ":" + st.plan + ":" +
           std::string(BillingIntervalName(st.interval)) + ":" + std::to_string(st.amount_minor) +
           ":" + std::to_string(st.quantity) + ":" + std::to_string(st.discount_bp) + ":" +
           std::string(SubscriptionStatusName(st.status));
  }
  return out;
}

std::string Describe(const Event& e) {
  return "event " + std::string(EventTypeName(e.type)) + "|" + e.name + "|" + e.message_id + "|" +
         e.user_id + "|" + e.anonymous_id + "|" + std::to_string(e.timestamp.micros) + "|" +
         std::to_string(e.received_at.micros) + "|" + e.properties_json;
}

// Records every object as a line, tagged with the index of its customer.
class RecordingSink final : public SynthSink {
 public:
  Status OnCustomer(const Customer& c) override {
    ++customer_;
    return Add(Describe(c));
  }
  Status OnOrder(const Order& o) override { return Add(Describe(o)); }
  Status OnSubscription(const Subscription& s) override { return Add(Describe(s)); }
  Status OnEvent(const Event& e) override { return Add(Describe(e)); }

  // Lines of the first `customers` customers.
  std::vector<std::string> Prefix(std::int64_t customers) const {
    std::vector<std::string> out;
    for (const auto& [c, line] : lines_) {
      if (c < customers) out.push_back(line);
    }
    return out;
  }
  std::vector<std::string> Lines(std::string_view kind_prefix = "") const {
    std::vector<std::string> out;
    for (const auto& [c, line] : lines_) {
      if (line.starts_with(kind_prefix)) out.push_back(line);
    }
    return out;
  }

 private:
  Status Add(std::string line) {
    lines_.emplace_back(customer_, std::move(line));
    return Ok();
  }
  std::int64_t customer_ = -1;
  std::vector<std::pair<std::int64_t, std::string>> lines_;
};

// Hashes every object.
class DigestSink final : public SynthSink {
 public:
  Status OnCustomer(const Customer& c) override { return Add(Describe(c)); }
  Status OnOrder(const Order& o) override { return Add(Describe(o)); }
  Status OnSubscription(const Subscription& s) override { return Add(Describe(s)); }
  Status OnEvent(const Event& e) override { return Add(Describe(e)); }
  std::uint64_t digest() const { return digest_; }

 private:
  Status Add(const std::string& line) {
    digest_ = Fnv1a(Fnv1a(digest_, line), "\n");
    return Ok();
  }
  std::uint64_t digest_ = 0xCBF29CE484222325ULL;
};

SynthConfig Custom(std::int64_t customers, std::uint64_t seed = 42) {
  SynthConfig c;
  c.customers = customers;
  c.seed = seed;
  return c;
}

std::uint64_t DigestOf(const SynthConfig& config) {
  DigestSink sink;
  EXPECT_TRUE(GenerateSynth(config, sink));
  return sink.digest();
}

double Mean(const std::vector<double>& xs) {
  double s = 0;
  for (double x : xs) s += x;
  return s / static_cast<double>(xs.size());
}

double Variance(const std::vector<double>& xs) {
  const double m = Mean(xs);
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  return s / static_cast<double>(xs.size());
}

std::vector<double> Draw(int n, const std::function<double(SynthRng&)>& f) {
  SynthRng rng(7);
  std::vector<double> xs(static_cast<std::size_t>(n));
  for (auto& x : xs) x = f(rng);
  return xs;
}

// ---------------------------------------------------------------------------------------------
// Random numbers

TEST(SynthRngTest, SameSeedSameSequenceAndStreamsDiffer) {
  SynthRng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(SynthRng::For(42, 0, 1).Next(), SynthRng::For(42, 0, 2).Next());
  EXPECT_NE(SynthRng::For(42, 0, 1).Next(), SynthRng::For(42, 1, 1).Next());
  EXPECT_NE(SynthRng::For(42, 0, 1).Next(), SynthRng::For(43, 0, 1).Next());
  EXPECT_EQ(SynthRng::For(42, 5, 3).Next(), SynthRng::For(42, 5, 3).Next());
}

TEST(SynthRngTest, SamplersHaveTheirMoments) {
  constexpr int kN = 200'000;
  const auto uniform = Draw(kN, [](SynthRng& r) { return r.Uniform(); });
  EXPECT_NEAR(Mean(uniform), 0.5, 0.005);
  EXPECT_NEAR(Variance(uniform), 1.0 / 12, 0.002);
  const auto expo = Draw(kN, [](SynthRng& r) { return r.Exponential(); });
  EXPECT_NEAR(Mean(expo), 1, 0.01);
  const auto normal = Draw(kN, [](SynthRng& r) { return r.Normal(); });
  EXPECT_NEAR(Mean(normal), 0, 0.01);
  EXPECT_NEAR(Variance(normal), 1, 0.02);
  for (double shape : {0.243, 1.0, 3.74, 6.25}) {
    const auto g = Draw(kN, [shape](SynthRng& r) { return r.Gamma(shape); });
    EXPECT_NEAR(Mean(g), shape, 0.015 * std::max(1.0, shape)) << shape;
    EXPECT_NEAR(Variance(g), shape, 0.05 * std::max(1.0, shape)) << shape;
  }
  const auto beta = Draw(kN, [](SynthRng& r) { return r.Beta(0.793, 2.426); });
  EXPECT_NEAR(Mean(beta), 0.793 / (0.793 + 2.426), 0.005);
  for (double mean : {0.5, 4.0, 20.0, 75.0}) {
    const auto p = Draw(kN, [mean](SynthRng& r) { return static_cast<double>(r.Poisson(mean)); });
    EXPECT_NEAR(Mean(p), mean, 0.01 * std::max(1.0, mean)) << mean;
    EXPECT_NEAR(Variance(p), mean, 0.05 * std::max(1.0, mean)) << mean;
  }
  SynthRng rng(1);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t x = rng.UniformInt(-2, 3);
    ASSERT_GE(x, -2);
    ASSERT_LE(x, 3);
    seen.insert(x);
    const double u = rng.UniformOpen();
    ASSERT_GT(u, 0);
    ASSERT_LT(u, 1);
  }
  EXPECT_EQ(seen.size(), 6u);
}

// ---------------------------------------------------------------------------------------------
// Configuration

TEST(SynthConfigTest, SizesAndErrors) {
  EXPECT_EQ(SynthSize("S").value().customers, 10'000);
  EXPECT_EQ(SynthSize("m").value().customers, 100'000);
  EXPECT_EQ(SynthSize("L").value().customers, 1'000'000);
  EXPECT_EQ(SynthSize("L").value().size_name, "L");
  EXPECT_EQ(SynthSize("XL").error().ToString(), "size: 'XL' is not one of S, M, L");
  EXPECT_TRUE(ValidateSynthConfig(SynthSize("L").value()));

  SynthConfig c = Custom(10);
  c.customers = -1;
  EXPECT_EQ(ValidateSynthConfig(c).error().ToString(),
            "synth config customers: must not be negative");
  c = Custom(10);
  c.currency = "XYZ";
  EXPECT_EQ(ValidateSynthConfig(c).error().context(), "synth config currency");
  c = Custom(10);
  c.end = {2023, 1, 1};
  EXPECT_EQ(ValidateSynthConfig(c).error().ToString(),
            "synth config end: must be at least two days after start");
  c = Custom(10);
  c.subscription_share = 1.5;
  EXPECT_FALSE(ValidateSynthConfig(c));
  CountingSink counter;
  EXPECT_EQ(GenerateSynth(c, counter).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(counter.counts().customers, 0);
}

// ---------------------------------------------------------------------------------------------
// Generation

// Checks every object of a generation: validity, references, order, ranges.
class CheckingSink final : public SynthSink {
 public:
  explicit CheckingSink(const SynthConfig& config)
      : start_(Timestamp{DaysFromCivil(config.start) * kMicrosPerDay}),
        end_(Timestamp{(DaysFromCivil(config.end) + 1) * kMicrosPerDay}) {
    for (int k = 0; k < Currency::FromCode(config.currency).value().exponent(); ++k) {
      min_total_ *= 10;  // the spend floor of 1.00 in minor units
    }
  }

  Status OnCustomer(const Customer& c) override {
    Check(ValidateCustomer(c), c.external_id);
    char expected[32];
    std::snprintf(expected, sizeof expected, "c%06lld", static_cast<long long>(customers_));
    Expect(c.external_id == expected, "customer id " + c.external_id);
    ++customers_;
    customer_ = c.external_id;
    created_ = c.created_at;
    first_order_ = true;
    last_order_ = Timestamp{INT64_MIN};
    last_event_ = Timestamp{INT64_MIN};
    InRange(c.created_at, c.external_id);
    Expect(!c.email.empty() || c.consent.empty(), "consent without email " + c.external_id);
    if (!c.email.empty()) emails_.insert(c.email);
    with_email_ += !c.email.empty();
    if (auto it = c.consent.find(Channel::kEmail); it != c.consent.end() && it->second.granted) {
      ++consented_;
    }
    const auto tier = c.attributes.find("plan_tier");
    Expect(tier != c.attributes.end() && TypeOf(tier->second) == AttributeType::kString,
           "plan_tier " + c.external_id);
    if (auto b = c.attributes.find("birthday"); b != c.attributes.end()) {
      Expect(TypeOf(b->second) == AttributeType::kTime, "birthday type");
    }
    if (auto n = c.attributes.find("newsletter"); n != c.attributes.end()) {
      Expect(TypeOf(n->second) == AttributeType::kBool, "newsletter type");
    }
    if (c.name.find_first_of(",\"") != std::string::npos) ++names_to_quote_;
    if (c.name.find('\xC3') != std::string::npos) ++non_ascii_names_;
    return Ok();
  }

  Status OnOrder(const Order& o) override {
    Check(ValidateOrder(o), o.external_id);
    ++orders_;
    char expected[32];
    std::snprintf(expected, sizeof expected, "o%08lld", static_cast<long long>(orders_));
    Expect(o.external_id == expected, "order id " + o.external_id);
    Expect(o.customer_external_id == customer_, "order customer " + o.external_id);
    Expect(!o.customer.valid() && !o.id.valid(), "storage ids set on " + o.external_id);
    Expect(o.placed_at >= last_order_, "orders out of time order at " + o.external_id);
    InRange(o.placed_at, o.external_id);
    if (first_order_) Expect(created_ <= o.placed_at, "created after first order " + customer_);
    first_order_ = false;
    last_order_ = o.placed_at;
    Expect(o.total.minor >= min_total_, "total below the floor " + o.external_id);
    std::int64_t refunded = 0;
    for (const auto& r : o.refunds) {
      InRange(r.refunded_at, o.external_id);
      refunded += r.amount_minor;
    }
    refunds_ += static_cast<std::int64_t>(o.refunds.size());
    revenue_ += o.total.minor;
    if (o.status == OrderStatus::kRefunded) {
      ++refunded_;
      Expect(refunded == o.total.minor, "refunded order not refunded in full " + o.external_id);
    } else if (o.status == OrderStatus::kCancelled) {
      ++cancelled_;
      Expect(o.refunds.empty(), "cancelled order with refunds");
    } else if (!o.refunds.empty()) {
      ++partial_;
      Expect(refunded < o.total.minor, "partial refund not partial " + o.external_id);
    }
    return Ok();
  }

  Status OnSubscription(const Subscription& s) override {
    Check(ValidateSubscription(s), s.external_id);
    ++subscriptions_;
    subscribers_.insert(customer_);
    char expected[32];
    std::snprintf(expected, sizeof expected, "s%07lld", static_cast<long long>(subscriptions_));
    Expect(s.external_id == expected, "subscription id " + s.external_id);
    Expect(s.customer_external_id == customer_, "subscription customer " + s.external_id);
    Expect(s.history.front().effective_at == s.started_at, "first state not at start");
    Expect(s.started_at >= created_, "subscription before the customer " + s.external_id);
    InRange(s.started_at, s.external_id);
    const bool canceled = s.history.back().status == SubscriptionStatus::kCanceled;
    Expect(canceled == s.ended_at.has_value(), "canceled state iff ended " + s.external_id);
    if (s.ended_at) {
      InRange(*s.ended_at, s.external_id);
      Expect(s.history.back().effective_at == *s.ended_at, "cancellation not at ended_at");
      ++ended_;
    }
    for (std::size_t i = 0; i < s.history.size(); ++i) {
      const auto& st = s.history[i];
      Expect(st.amount_minor > 0 && st.quantity >= 1, "empty terms in " + s.external_id);
      if (i + 1 < s.history.size() || !canceled) {
        Expect(st.status == SubscriptionStatus::kActive, "inner state not active");
      }
      if (i > 0 && st.status == SubscriptionStatus::kActive) {
        const auto& prev = s.history[i - 1];
        const double before = static_cast<double>(prev.amount_minor * prev.quantity) *
                              (1 - prev.discount_bp / 10000.0);
        const double after =
            static_cast<double>(st.amount_minor * st.quantity) * (1 - st.discount_bp / 10000.0);
        if (after > before) ++expansions_;
        if (after < before) ++contractions_;
      }
      discounted_ += st.discount_bp > 0;
      yearly_ += st.interval == BillingInterval::kYear;
    }
    return Ok();
  }

  Status OnEvent(const Event& e) override {
    Check(ValidateEvent(e), e.message_id);
    ++events_;
    Expect(e.user_id == customer_, "event user " + e.message_id);
    Expect(e.timestamp >= last_event_, "events out of time order " + e.message_id);
    Expect(e.received_at >= e.timestamp, "received before sent " + e.message_id);
    InRange(e.timestamp, e.message_id);
    last_event_ = e.timestamp;
    Expect(message_ids_.insert(e.message_id).second, "duplicate messageId " + e.message_id);
    Expect(e.message_id.size() == 36 && e.message_id[14] == '4', "not a UUID " + e.message_id);
    if (events_ % 7 == 0) {  // a sample: all would be slow under sanitizers
      const auto j = nlohmann::json::parse(e.properties_json, nullptr, false);
      Expect(j.is_object(), "properties not a JSON object: " + e.properties_json);
    }
    if (e.type == EventType::kPage) {
      Expect(e.name == "Page Viewed", "page name " + e.name);
    } else {
      Expect(e.type == EventType::kTrack, "type");
      Expect(e.name == "Product Viewed" || e.name == "Added to Cart" || e.name == "Order Completed",
             "event name " + e.name);
    }
    ++by_name_[e.name];
    return Ok();
  }

  std::int64_t customers_ = 0, orders_ = 0, subscriptions_ = 0, events_ = 0;
  std::int64_t refunds_ = 0, refunded_ = 0, partial_ = 0, cancelled_ = 0, ended_ = 0;
  std::int64_t expansions_ = 0, contractions_ = 0, discounted_ = 0, yearly_ = 0;
  std::int64_t with_email_ = 0, consented_ = 0, names_to_quote_ = 0, non_ascii_names_ = 0;
  std::int64_t revenue_ = 0;
  std::set<std::string> subscribers_;
  std::unordered_set<std::string> emails_;
  std::map<std::string, std::int64_t> by_name_;
  int failures_ = 0;

 private:
  void Expect(bool ok, const std::string& what) {
    if (!ok && ++failures_ <= 20) ADD_FAILURE() << what;
  }
  void Check(const Status& s, const std::string& what) {
    Expect(s.has_value(), what + ": " + (s ? "" : s.error().ToString()));
  }
  void InRange(Timestamp t, const std::string& what) {
    Expect(start_ <= t && t < end_, "time out of range at " + what);
  }

  Timestamp start_, end_;
  std::int64_t min_total_ = 1;
  std::string customer_;
  Timestamp created_;
  bool first_order_ = true;
  Timestamp last_order_, last_event_;
  std::unordered_set<std::string> message_ids_;
};

TEST(SynthTest, SizeSHasExpectedCountsAndEverythingValidates) {
  const SynthConfig config = SynthSize("S").value();
  CheckingSink check(config);
  CountingSink counter(&check);
  ASSERT_TRUE(GenerateSynth(config, counter));
  EXPECT_EQ(check.failures_, 0);
  const SynthCounts& n = counter.counts();
  EXPECT_EQ(n.customers, 10'000);
  EXPECT_GE(n.orders, 95'000);
  EXPECT_LE(n.orders, 105'000);
  EXPECT_GE(n.subscriptions, 2'000);  // 20 % of customers, plus reactivations
  EXPECT_LE(n.subscriptions, 2'400);
  EXPECT_NEAR(static_cast<double>(check.subscribers_.size()), 2'000, 150);
  EXPECT_GE(n.events, 180'000);
  EXPECT_LE(n.events, 220'000);
  EXPECT_EQ(n.refunds, check.refunds_);
  // Shares of order outcomes.
  EXPECT_NEAR(static_cast<double>(check.cancelled_) / n.orders, 0.02, 0.005);
  EXPECT_NEAR(static_cast<double>(check.refunded_ + check.partial_) / n.orders, 0.05, 0.01);
  EXPECT_GT(check.partial_, 0);
  EXPECT_GT(n.refunds, check.refunded_ + check.partial_);  // some orders refunded twice
  // Average order value near the Gamma-Gamma mean p*γ/(q-1) = 35.2.
  EXPECT_NEAR(static_cast<double>(check.revenue_) / n.orders / 100, 35.2, 3);
  // Subscription histories have all kinds of movement.
  EXPECT_GT(check.ended_, 200);
  EXPECT_GT(check.expansions_, 100);
  EXPECT_GT(check.contractions_, 30);
  EXPECT_GT(check.discounted_, 100);
  EXPECT_GT(check.yearly_, 100);
  EXPECT_GT(n.subscriptions - static_cast<std::int64_t>(check.subscribers_.size()), 20);
  // Customers: unique emails, most consent, some names that need quoting in CSV.
  EXPECT_EQ(static_cast<std::int64_t>(check.emails_.size()), check.with_email_);
  EXPECT_NEAR(static_cast<double>(check.with_email_) / n.customers, 0.96, 0.01);
  EXPECT_NEAR(static_cast<double>(check.consented_) / check.with_email_, 0.85, 0.02);
  EXPECT_GT(check.names_to_quote_, 5);
  EXPECT_GT(check.non_ascii_names_, 100);
  for (const char* name : {"Page Viewed", "Product Viewed", "Added to Cart", "Order Completed"}) {
    EXPECT_GT(check.by_name_[name], n.events / 10) << name;
  }
}

TEST(SynthTest, SameSeedSameOutputOtherSeedOtherOutput) {
  const SynthConfig config = Custom(2'000);
  const std::uint64_t first = DigestOf(config);
  EXPECT_EQ(first, DigestOf(config));
  EXPECT_NE(first, DigestOf(Custom(2'000, 43)));
}

TEST(SynthTest, CustomerDataDoesNotDependOnSize) {
  RecordingSink small, large;
  ASSERT_TRUE(GenerateSynth(Custom(300), small));
  ASSERT_TRUE(GenerateSynth(Custom(600), large));
  EXPECT_EQ(small.Prefix(300), large.Prefix(300));
  EXPECT_GT(large.Lines().size(), small.Lines().size());
}

TEST(SynthTest, EventsOffChangesNothingElse) {
  SynthConfig config = Custom(500);
  RecordingSink with, without;
  ASSERT_TRUE(GenerateSynth(config, with));
  config.events = false;
  ASSERT_TRUE(GenerateSynth(config, without));
  EXPECT_TRUE(without.Lines("event").empty());
  EXPECT_FALSE(with.Lines("event").empty());
  for (const char* kind : {"customer", "order", "subscription"}) {
    EXPECT_EQ(with.Lines(kind), without.Lines(kind)) << kind;
  }
}

TEST(SynthTest, OtherCurrencyAndRange) {
  SynthConfig config = Custom(200);
  config.currency = "JPY";
  config.start = {2020, 2, 1};
  config.end = {2020, 4, 30};
  CheckingSink check(config);
  ASSERT_TRUE(GenerateSynth(config, check));
  EXPECT_EQ(check.failures_, 0);
  EXPECT_EQ(check.customers_, 200);
  EXPECT_GT(check.orders_, 200);
}

// Fails on the n-th order.
class FailingSink final : public SynthSink {
 public:
  Status OnCustomer(const Customer&) override { return Ok(); }
  Status OnOrder(const Order&) override {
    if (++orders_ == 5) return Unavailable("disk", "full");
    EXPECT_LT(orders_, 5) << "called after an error";
    return Ok();
  }
  Status OnSubscription(const Subscription&) override { return Ok(); }
  Status OnEvent(const Event&) override { return Ok(); }
  int orders_ = 0;
};

TEST(SynthTest, StopsAtTheFirstSinkError) {
  FailingSink sink;
  const Status s = GenerateSynth(Custom(100), sink);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().ToString(), "disk: full");
  EXPECT_EQ(sink.orders_, 5);
}

// ---------------------------------------------------------------------------------------------
// CSV writer

TEST(CsvWriterTest, QuotesFieldsPerRfc4180) {
  auto quoted = [](std::string_view s) {
    std::string out;
    AppendCsvField(out, s);
    return out;
  };
  EXPECT_EQ(quoted("plain"), "plain");
  EXPECT_EQ(quoted(""), "");
  EXPECT_EQ(quoted("Müller"), "Müller");
  EXPECT_EQ(quoted("Smith, Jr."), "\"Smith, Jr.\"");
  EXPECT_EQ(quoted("Robert \"Bob\" Smith"), "\"Robert \"\"Bob\"\" Smith\"");
  EXPECT_EQ(quoted("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(quoted("cr\r"), "\"cr\r\"");
  EXPECT_EQ(quoted("\""), "\"\"\"\"");
}

TEST(CsvWriterTest, TimestampsMatchFormatTimestamp) {
  SynthRng rng(3);
  for (int i = 0; i < 20'000; ++i) {
    // 1900..2100, half of them on whole seconds.
    std::int64_t t = rng.UniformInt(-2'208'988'800LL, 4'102'444'800LL) * kMicrosPerSecond;
    if (i % 2 == 1) t += rng.UniformInt(0, kMicrosPerSecond - 1);
    std::string out;
    AppendRfc3339(out, Timestamp{t});
    ASSERT_EQ(out, FormatTimestamp(Timestamp{t})) << t;
  }
  std::string out;
  AppendRfc3339(out, Timestamp::FromSeconds(1'709'296'200));
  EXPECT_EQ(out, "2024-03-01T12:30:00Z");
}

TEST(CsvWriterTest, DiscountAsPercent) {
  EXPECT_EQ(FormatDiscountPercent(0), "0");
  EXPECT_EQ(FormatDiscountPercent(1250), "12.5");
  EXPECT_EQ(FormatDiscountPercent(1000), "10");
  EXPECT_EQ(FormatDiscountPercent(1234), "12.34");
  EXPECT_EQ(FormatDiscountPercent(5), "0.05");
  EXPECT_EQ(FormatDiscountPercent(50), "0.5");
  EXPECT_EQ(FormatDiscountPercent(10000), "100");
  const Currency eur = Currency::FromCode("EUR").value();
  for (int bp = 0; bp <= 10000; bp += 7) {  // the importer reads it back exactly
    ASSERT_EQ(ParseMinorUnits(FormatDiscountPercent(bp), eur).value(), bp);
  }
}

TEST(CsvWriterTest, WritesRowsExactly) {
  TempDir dir("rows");
  auto sink = CsvSink::Open(dir.path()).value();
  const Currency eur = Currency::FromCode("EUR").value();
  Customer c;
  c.external_id = "c1";
  c.email = "ann@example.com";
  c.name = "Ann \"Nan\" Smith, Jr.\nline two";
  c.country = "GB";
  c.locale = "en-GB";
  c.time_zone = "Europe/London";
  c.created_at = Timestamp::FromSeconds(1'709'296'200);
  c.consent[Channel::kEmail] = Consent{false, "import", c.created_at};
  c.attributes["plan_tier"] = std::string("gold, old");
  c.attributes["birthday"] = Timestamp{DaysFromCivil({1990, 5, 17}) * kMicrosPerDay};
  c.attributes["newsletter"] = true;
  c.attributes["other"] = 1.5;  // not a column
  ASSERT_TRUE(sink->OnCustomer(c));
  Customer bare;
  bare.external_id = "c2";
  ASSERT_TRUE(sink->OnCustomer(bare));

  Order o;
  o.external_id = "o1";
  o.customer_external_id = "c1";
  o.placed_at = Timestamp::FromSeconds(1'709'296'200);
  o.total = Money{1234, eur};
  ASSERT_TRUE(sink->OnOrder(o));
  o.external_id = "o2";
  o.refunds = {{Timestamp::FromSeconds(1'709'400'000), 200},
               {Timestamp::FromSeconds(1'709'300'000), 34}};
  ASSERT_TRUE(sink->OnOrder(o));

  Subscription s;
  s.external_id = "s1";
  s.customer_external_id = "c1";
  s.currency = eur;
  s.started_at = Timestamp::FromSeconds(1'700'000'000);
  s.ended_at = Timestamp::FromSeconds(1'720'000'000);
  SubscriptionState st;
  st.effective_at = s.started_at;
  st.plan = "pro";
  st.amount_minor = 7900;
  st.quantity = 3;
  st.discount_bp = 1250;
  s.history.push_back(st);
  st.effective_at = *s.ended_at;
  st.status = SubscriptionStatus::kCanceled;
  st.interval = BillingInterval::kYear;
  st.discount_bp = 0;
  s.history.push_back(st);
  ASSERT_TRUE(sink->OnSubscription(s));

  Event e;
  e.type = EventType::kPage;
  e.name = "Page \"Viewed\"";
  e.message_id = "m1";
  e.user_id = "c1";
  e.timestamp = Timestamp::FromSeconds(1'709'296'200);
  e.properties_json = R"({"url":"https://shop.example/?a=1,2"})";
  ASSERT_TRUE(sink->OnEvent(e));
  e.type = EventType::kTrack;
  e.name = "Signed Up";
  e.user_id.clear();
  e.anonymous_id = "anon\t1";
  e.properties_json.clear();
  ASSERT_TRUE(sink->OnEvent(e));
  ASSERT_TRUE(sink->Finish());
  EXPECT_EQ(sink->OnOrder(o).error().code(), ErrorCode::kFailedPrecondition);

  EXPECT_EQ(ReadFile(dir.File("customers.csv")),
            std::string(kCustomersCsvHeader) +
                "\nc1,ann@example.com,\"Ann \"\"Nan\"\" Smith, Jr.\nline two\",GB,en-GB,"
                "Europe/London,2024-03-01T12:30:00Z,false,\"gold, old\","
                "1990-05-17T00:00:00Z,true\n"
                "c2,,,,,,,,,,\n");
  EXPECT_EQ(ReadFile(dir.File("orders.csv")),
            std::string(kOrdersCsvHeader) +
                "\no1,c1,2024-03-01T12:30:00Z,12.34,EUR,completed,,\n"
                "o2,c1,2024-03-01T12:30:00Z,12.34,EUR,completed,2024-03-02T17:20:00Z,2.34\n");
  EXPECT_EQ(ReadFile(dir.File("subscriptions.csv")),
            std::string(kSubscriptionsCsvHeader) +
                "\ns1,c1,pro,month,79.00,EUR,3,12.5,active,2023-11-14T22:13:20Z,"
                "2024-07-03T09:46:40Z,2023-11-14T22:13:20Z\n"
                "s1,c1,pro,year,79.00,EUR,3,0,canceled,2023-11-14T22:13:20Z,"
                "2024-07-03T09:46:40Z,2024-07-03T09:46:40Z\n");
  EXPECT_EQ(ReadFile(dir.File("events.jsonl")),
            "{\"type\":\"page\",\"name\":\"Page \\\"Viewed\\\"\",\"userId\":\"c1\","
            "\"messageId\":\"m1\",\"timestamp\":\"2024-03-01T12:30:00Z\","
            "\"properties\":{\"url\":\"https://shop.example/?a=1,2\"}}\n"
            "{\"type\":\"track\",\"event\":\"Signed Up\",\"anonymousId\":\"anon\\t1\","
            "\"messageId\":\"m1\",\"timestamp\":\"2024-03-01T12:30:00Z\",\"properties\":{}}\n");
}

TEST(CsvWriterTest, GeneratedFilesParseBackToTheObjects) {
  TempDir dir("generated");
  const SynthConfig config = Custom(1'500);
  RecordingSink recorded;
  CountingSink counter(&recorded);
  {
    auto sink = CsvSink::Open(dir.path()).value();
    // Write and record the same objects: a fan-out sink.
    struct Tee final : SynthSink {
      SynthSink* a;
      SynthSink* b;
      Tee(SynthSink* x, SynthSink* y) : a(x), b(y) {}
      Status OnCustomer(const Customer& c) override {
        TREU_RETURN_IF_ERROR(a->OnCustomer(c));
        return b->OnCustomer(c);
      }
      Status OnOrder(const Order& o) override {
        TREU_RETURN_IF_ERROR(a->OnOrder(o));
        return b->OnOrder(o);
      }
      Status OnSubscription(const Subscription& s) override {
        TREU_RETURN_IF_ERROR(a->OnSubscription(s));
        return b->OnSubscription(s);
      }
      Status OnEvent(const Event& e) override {
        TREU_RETURN_IF_ERROR(a->OnEvent(e));
        return b->OnEvent(e);
      }
    } tee(sink.get(), &counter);
    ASSERT_TRUE(GenerateSynth(config, tee));
    ASSERT_TRUE(sink->Finish());
  }
  const SynthCounts& n = counter.counts();
  const TimeZone utc = TimeZone::Utc();
  const Currency eur = Currency::FromCode("EUR").value();

  // customers.csv: every record has all columns and reads back to the customer.
  const auto customers = ParseCsv(ReadFile(dir.File("customers.csv")));
  ASSERT_EQ(static_cast<std::int64_t>(customers.size()), n.customers + 1);
  const auto customer_lines = recorded.Lines("customer");
  for (std::size_t i = 1; i < customers.size(); ++i) {
    const auto& f = customers[i];
    ASSERT_EQ(f.size(), 11u) << i;
    Customer c;
    c.external_id = f[0];
    c.email = f[1];
    c.name = f[2];
    c.country = f[3];
    c.locale = f[4];
    c.time_zone = f[5];
    c.created_at = ParseTimestamp(f[6], utc).value();
    c.updated_at = c.created_at;
    if (!f[7].empty()) c.consent[Channel::kEmail] = Consent{f[7] == "true", "import", c.created_at};
    const char* names[] = {"plan_tier", "birthday", "newsletter"};
    for (int k = 0; k < 3; ++k) {
      if (!f[8 + k].empty()) c.attributes[names[k]] = ParseAttributeValue(f[8 + k], utc);
    }
    ASSERT_EQ(Describe(c), customer_lines[i - 1]);
  }

  // orders.csv: money and times read back exactly.
  const auto orders = ParseCsv(ReadFile(dir.File("orders.csv")));
  ASSERT_EQ(static_cast<std::int64_t>(orders.size()), n.orders + 1);
  const auto order_lines = recorded.Lines("order");
  std::int64_t with_refund = 0;
  for (std::size_t i = 1; i < orders.size(); ++i) {
    const auto& f = orders[i];
    ASSERT_EQ(f.size(), 8u) << i;
    const std::string prefix = "order " + f[0] + "|" + f[1] + "|" +
                               std::to_string(ParseTimestamp(f[2], utc).value().micros) + "|" +
                               std::to_string(ParseMinorUnits(f[3], eur).value()) + f[4] + "|" +
                               f[5];
    ASSERT_TRUE(order_lines[i - 1].starts_with(prefix)) << order_lines[i - 1] << " vs " << prefix;
    EXPECT_EQ(f[6].empty(), f[7].empty());
    with_refund += !f[6].empty();
  }
  EXPECT_GT(with_refund, 0);

  // subscriptions.csv: one row per state.
  const auto subs = ParseCsv(ReadFile(dir.File("subscriptions.csv")));
  EXPECT_EQ(subs[0].size(), 12u);
  ASSERT_EQ(static_cast<std::int64_t>(subs.size()), n.subscription_states + 1);
  for (std::size_t i = 1; i < subs.size(); ++i) ASSERT_EQ(subs[i].size(), 12u) << i;

  // events.jsonl: one Segment-spec object per line.
  std::ifstream events(dir.File("events.jsonl"));
  std::string line;
  std::int64_t lines = 0;
  while (std::getline(events, line)) {
    ++lines;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    ASSERT_TRUE(j.contains("userId") && j.contains("messageId") && j.contains("timestamp") &&
                j["properties"].is_object())
        << line;
    if (j["type"] == "track") {
      ASSERT_TRUE(j["event"].is_string()) << line;
    } else {
      ASSERT_EQ(j["type"], "page") << line;
      ASSERT_EQ(j["name"], "Page Viewed") << line;
      ASSERT_TRUE(j["properties"]["url"].is_string()) << line;
    }
  }
  EXPECT_EQ(lines, n.events);
}

TEST(CsvWriterTest, SameSeedByteIdenticalFiles) {
  TempDir a("a"), b("b");
  for (const TempDir* dir : {&a, &b}) {
    auto sink = CsvSink::Open(dir->path()).value();
    ASSERT_TRUE(GenerateSynth(Custom(500), *sink));
    ASSERT_TRUE(sink->Finish());
  }
  for (const char* file : {"customers.csv", "orders.csv", "subscriptions.csv", "events.jsonl"}) {
    const std::string x = ReadFile(a.File(file));
    EXPECT_FALSE(x.empty()) << file;
    EXPECT_TRUE(x == ReadFile(b.File(file))) << file;
  }
}

TEST(CsvWriterTest, WithoutEventsAndOpenErrors) {
  TempDir dir("noevents");
  auto sink = CsvSink::Open(dir.path(), CsvSinkOptions{.events = false}).value();
  Event e;
  EXPECT_EQ(sink->OnEvent(e).error().code(), ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(sink->Finish());
  EXPECT_FALSE(std::filesystem::exists(dir.File("events.jsonl")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("orders.csv")));

  // A regular file where the directory should be.
  std::ofstream(dir.File("blocker")) << "x";
  const auto failed = CsvSink::Open(dir.File("blocker") + "/sub");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().context().find("blocker"), std::string::npos);
}

TEST(CsvWriterTest, ReportsWriteErrors) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // /dev/full accepts the open and fails every write with ENOSPC.
  TempDir dir("full");
  std::filesystem::create_directories(dir.path());
  std::filesystem::create_symlink("/dev/full", dir.File("orders.csv"));
  auto sink = CsvSink::Open(dir.path(), CsvSinkOptions{.events = false, .buffer_bytes = 1}).value();
  Order o;
  o.external_id = "o1";
  o.total.currency = Currency::FromCode("EUR").value();
  const Status s = sink->OnOrder(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.error().ToString().find("orders.csv"), std::string::npos);
  EXPECT_FALSE(sink->OnOrder(o));
  EXPECT_FALSE(sink->Finish());
}

}  // namespace
}  // namespace treu
