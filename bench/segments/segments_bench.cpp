// Segment evaluation on a synthetic table of 1M customers (fixed seed; country, plan, email,
// orders_count, revenue_total, last_order_at, days_since_last_order, p_alive, consent.email,
// attributes.tier, attributes.score, with nulls), and the same rows in an in-memory SQLite
// table `customers` as the baseline, run side by side:
//   BM_Vectorised      EvaluateVectorised() of the six-clause profile kProfile
//   BM_RowInterpreter  Evaluate() (row at a time) of the same expression
//   BM_Sqlite          the equivalent SELECT id FROM customers WHERE ... (kProfileSql), prepared
//                      once, stepped to completion (a full scan: no index fits every segment)
//   BM_Ratios          the three timed once more (best of 3) and reported as counters:
//                      sqlite_over_vectorised, row_over_vectorised
//   BM_Matches100      one changed customer tested against 100 compiled segments
//                      (CompiledSegment::Matches); goal: under 100 µs for all 100
//   BM_Compile100      compiling those 100 segments
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "segments/binder.hpp"
#include "segments/evaluator.hpp"
#include "segments/vector_evaluator.hpp"

namespace treu::segment {
namespace {

constexpr std::size_t kCustomers = 1'000'000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr const char* kProfile =
    "country in [\"DE\", \"AT\"] and orders_count >= 2 and revenue_total > 100 and "
    "last_order_at < now() - 90d and consent.email = true and plan != \"free\"";
// ?1 = now - 90 days in µs.
constexpr const char* kProfileSql =
    "SELECT id FROM customers WHERE country IN ('DE', 'AT') AND orders_count >= 2 AND "
    "revenue_total > 100 "
    "AND last_order_at < ?1 AND consent_email = 1 AND plan != 'free'";

const Timestamp kNow{DaysFromCivil({2025, 6, 1}) * kMicrosPerDay};

template <typename T>
struct Weighted {
  T value;
  int weight;
};

// One value by weight; an empty string stands for null.
template <typename T, std::size_t N>
const T& Draw(std::mt19937_64& rng, const Weighted<T> (&items)[N]) {
  int total = 0;
  for (const auto& i : items) total += i.weight;
  int r = static_cast<int>(rng() % static_cast<std::uint64_t>(total));
  for (const auto& i : items) {
    if ((r -= i.weight) < 0) return i.value;
  }
  return items[N - 1].value;
}

// Builds a string column value by value.
struct StringColumn {
  Column column;
  std::map<std::string, std::int32_t> index;

  StringColumn() { column.type = ColumnType::kString; }
  void Add(const std::string& value) {
    if (value.empty()) {
      column.codes.push_back(-1);
      return;
    }
    auto [it, added] =
        index.try_emplace(value, static_cast<std::int32_t>(column.dictionary.size()));
    if (added) column.dictionary.push_back(value);
    column.codes.push_back(it->second);
  }
};

struct Data {
  CustomerTable table;
  sqlite3* db = nullptr;
  sqlite3_stmt* profile = nullptr;
  std::vector<std::string> segment_texts;  // the 100 varied segments
};

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite: %s: %s\n", what, sqlite3_errmsg(db));
    std::abort();
  }
}

std::vector<std::string> SegmentTexts(std::mt19937_64& rng) {
  static const char* const kCountries[] = {"DE", "AT", "US", "FR", "GB", "CH", "NL"};
  static const char* const kPlans[] = {"free", "pro", "team", "enterprise"};
  auto pick = [&](const auto& items) { return std::string(items[rng() % std::size(items)]); };
  auto num = [&](int lo, int hi) {
    return std::to_string(lo + static_cast<int>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
  };
  std::vector<std::string> out;
  for (int i = 0; i < 100; ++i) {
    std::string s;
    switch (i % 12) {
      case 0:
        s = "country = \"" + pick(kCountries) + "\" and revenue_total > " + num(50, 500);
        break;
      case 1:
        s = "plan in [\"" + pick(kPlans) + "\", \"" + pick(kPlans) +
            "\"] and last_order_at < now() - " + num(30, 365) + "d";
        break;
      case 2:
        s = "orders_count >= " + num(1, 8) + " and consent.email";
        break;
      case 3:
        s = "p_alive < 0." + num(1, 9) + " and revenue_total > " + num(100, 1000);
        break;
      case 4:
        s = "days_since_last_order > " + num(30, 400) + " and not (plan = \"free\")";
        break;
      case 5:
        s = "attributes.tier = \"gold\" or revenue_total > " + num(500, 3000);
        break;
      case 6:
        s = "last_order_at > now() - " + num(1, 12) + "mo and orders_count = 1";
        break;
      case 7:
        s = "country in [\"" + pick(kCountries) + "\", \"" + pick(kCountries) +
            "\"] and orders_count >= " + num(1, 4) + " and revenue_total > " + num(50, 300) +
            " and last_order_at < now() - " + num(30, 180) +
            "d and consent.email = true and plan != \"" + pick(kPlans) + "\"";
        break;
      case 8:
        s = "revenue_total + attributes.score > " + num(100, 600) + " and country != \"US\"";
        break;
      case 9:
        s = i == 9 ? "email contains \"@gmail\" and orders_count = 0"
                   : "email is not null and p_alive > 0." + num(5, 9);
        break;
      case 10:
        s = "attributes.score is null and consent.email = false or orders_count > " + num(10, 20);
        break;
      default:
        s = "last_order_at + 1mo < now() - " + num(1, 60) +
            "d and (country = \"DE\" or plan = \"team\")";
        break;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Data Build() {
  Data d;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::lognormal_distribution<double> order_value(3.8, 0.7);
  std::exponential_distribution<double> recency(1.0 / 120);  // days since the last order
  static const Weighted<std::string> kCountries[] = {{"DE", 30}, {"US", 18}, {"AT", 8}, {"FR", 9},
                                                     {"GB", 10}, {"CH", 5},  {"NL", 5}, {"IT", 4},
                                                     {"ES", 4},  {"PL", 3},  {"", 4}};
  static const Weighted<std::string> kPlans[] = {
      {"free", 45}, {"pro", 30}, {"team", 12}, {"enterprise", 3}, {"", 10}};
  static const Weighted<std::string> kDomains[] = {
      {"gmail.com", 30}, {"web.de", 15},          {"gmx.de", 15}, {"outlook.com", 15},
      {"yahoo.com", 10}, {"company.example", 12}, {"", 3}};
  static const Weighted<std::string> kTiers[] = {
      {"gold", 10}, {"silver", 20}, {"bronze", 20}, {"", 50}};
  static const Weighted<int> kConsent[] = {{1, 55}, {0, 30}, {-1, 15}};

  CustomerTable& t = d.table;
  t.customers = kCustomers;
  t.as_of = kNow;
  StringColumn country, plan, email, tier;
  Column orders, revenue, last, since, alive, consent, score;
  orders.type = ColumnType::kNumber;
  revenue.type = ColumnType::kMoney;
  last.type = ColumnType::kTime;
  since.type = ColumnType::kNumber;
  alive.type = ColumnType::kNumber;
  consent.type = ColumnType::kBool;
  score.type = ColumnType::kNumber;

  Check(sqlite3_open(":memory:", &d.db), d.db, "open");
  Check(sqlite3_exec(
            d.db,
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, country TEXT, plan TEXT, email TEXT, "
            "orders_count REAL, revenue_total REAL, last_order_at INTEGER, days_since_last_order "
            "REAL, "
            "p_alive REAL, consent_email INTEGER, tier TEXT, score REAL); BEGIN",
            nullptr, nullptr, nullptr),
        d.db, "create");
  sqlite3_stmt* insert = nullptr;
  Check(
      sqlite3_prepare_v2(d.db, "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &insert, nullptr),
      d.db, "prepare insert");
  auto bind_text = [&](int i, const std::string& v) {
    if (v.empty()) return sqlite3_bind_null(insert, i);
    return sqlite3_bind_text(insert, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  auto bind_number = [&](int i, double v) {
    return std::isnan(v) ? sqlite3_bind_null(insert, i) : sqlite3_bind_double(insert, i, v);
  };

  for (std::size_t c = 0; c < kCustomers; ++c) {
    const std::string& co = Draw(rng, kCountries);
    const std::string& pl = Draw(rng, kPlans);
    const std::string& domain = Draw(rng, kDomains);
    const std::string em = domain.empty() ? "" : "customer" + std::to_string(c) + "@" + domain;
    const std::string& ti = Draw(rng, kTiers);
    const int n = static_cast<int>(
        std::floor(std::log(1 - u(rng)) / std::log(0.65)));  // geometric, ~35% none
    double total = 0;
    for (int k = 0; k < n; ++k) total += order_value(rng);
    total = std::round(total * 100) / 100;
    std::int64_t last_at = kNullTime;
    double days = kNaN;
    if (n > 0) {
      days = std::min(std::floor(recency(rng)), 1095.0);
      last_at = kNow.micros - static_cast<std::int64_t>(days) * kMicrosPerDay -
                static_cast<std::int64_t>(u(rng) * kMicrosPerDay);
      days = std::floor(static_cast<double>(kNow.micros - last_at) / kMicrosPerDay);
    }
    const double p = u(rng) < 0.1 ? kNaN : std::sqrt(u(rng));
    const int consent_email = Draw(rng, kConsent);
    const double sc = u(rng) < 0.3 ? kNaN : std::floor(u(rng) * 100);

    country.Add(co);
    plan.Add(pl);
    email.Add(em);
    tier.Add(ti);
    orders.numbers.push_back(n);
    revenue.numbers.push_back(total);
    last.times.push_back(last_at);
    since.numbers.push_back(days);
    alive.numbers.push_back(p);
    consent.bools.push_back(static_cast<std::int8_t>(consent_email));
    score.numbers.push_back(sc);

    sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(c));
    bind_text(2, co);
    bind_text(3, pl);
    bind_text(4, em);
    sqlite3_bind_double(insert, 5, n);
    sqlite3_bind_double(insert, 6, total);
    if (last_at == kNullTime) {
      sqlite3_bind_null(insert, 7);
    } else {
      sqlite3_bind_int64(insert, 7, last_at);
    }
    bind_number(8, days);
    bind_number(9, p);
    if (consent_email < 0) {
      sqlite3_bind_null(insert, 10);
    } else {
      sqlite3_bind_int(insert, 10, consent_email);
    }
    bind_text(11, ti);
    bind_number(12, sc);
    Check(sqlite3_step(insert), d.db, "insert");
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  Check(sqlite3_exec(d.db, "COMMIT", nullptr, nullptr, nullptr), d.db, "commit");
  Check(sqlite3_prepare_v2(d.db, kProfileSql, -1, &d.profile, nullptr), d.db, "prepare profile");
  sqlite3_bind_int64(d.profile, 1, kNow.micros - 90 * kMicrosPerDay);

  t.columns["country"] = std::move(country.column);
  t.columns["plan"] = std::move(plan.column);
  t.columns["email"] = std::move(email.column);
  t.columns["attributes.tier"] = std::move(tier.column);
  t.columns["orders_count"] = std::move(orders);
  t.columns["revenue_total"] = std::move(revenue);
  t.columns["last_order_at"] = std::move(last);
  t.columns["days_since_last_order"] = std::move(since);
  t.columns["p_alive"] = std::move(alive);
  t.columns["consent.email"] = std::move(consent);
  t.columns["attributes.score"] = std::move(score);
  d.segment_texts = SegmentTexts(rng);
  return d;
}

Data& Shared() {
  static Data data = Build();
  return data;
}

EvalContext Context() { return EvalContext{&Shared().table, kNow, TimeZone::Utc(), {}}; }

ExprPtr Bound(const std::string& text) {
  auto bound = ParseAndBind(text);
  if (!bound) {
    std::fprintf(stderr, "%s\n", bound.error().ToString().c_str());
    std::abort();
  }
  return std::move(*bound);
}

std::size_t CountTrue(const std::vector<bool>& v) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), true));
}

std::size_t RunSqlite() {
  sqlite3_stmt* s = Shared().profile;
  std::size_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    benchmark::DoNotOptimize(sqlite3_column_int64(s, 0));
    ++rows;
  }
  Check(rc, Shared().db, "step");
  sqlite3_reset(s);
  return rows;
}

void BM_Vectorised(benchmark::State& state) {
  const EvalContext ctx = Context();
  const ExprPtr e = Bound(kProfile);
  std::size_t members = 0;
  for (auto _ : state) {
    auto set = EvaluateVectorised(*e, ctx);
    members = CountTrue(*set);
    benchmark::DoNotOptimize(set);
  }
  state.counters["members"] = static_cast<double>(members);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCustomers));
}

void BM_RowInterpreter(benchmark::State& state) {
  const EvalContext ctx = Context();
  const ExprPtr e = Bound(kProfile);
  std::size_t members = 0;
  for (auto _ : state) {
    auto set = Evaluate(*e, ctx);
    members = CountTrue(*set);
    benchmark::DoNotOptimize(set);
  }
  state.counters["members"] = static_cast<double>(members);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCustomers));
}

void BM_Sqlite(benchmark::State& state) {
  Shared();
  std::size_t members = 0;
  for (auto _ : state) members = RunSqlite();
  state.counters["members"] = static_cast<double>(members);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCustomers));
}

// Best of 3 wall-clock runs of f, in milliseconds.
template <typename F>
double BestMs(F f) {
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  return best;
}

void BM_Ratios(benchmark::State& state) {
  const EvalContext ctx = Context();
  const ExprPtr e = Bound(kProfile);
  const std::size_t fast_members = CountTrue(EvaluateVectorised(*e, ctx).value());
  const std::size_t row_members = CountTrue(Evaluate(*e, ctx).value());
  const std::size_t sql_members = RunSqlite();
  if (fast_members != row_members || fast_members != sql_members) {
    state.SkipWithError("the three evaluations disagree on the members");
    return;
  }
  for (auto _ : state) {
    const double vectorised =
        BestMs([&] { benchmark::DoNotOptimize(EvaluateVectorised(*e, ctx)); });
    const double row = BestMs([&] { benchmark::DoNotOptimize(Evaluate(*e, ctx)); });
    const double sql = BestMs([&] { benchmark::DoNotOptimize(RunSqlite()); });
    state.counters["vectorised_ms"] = vectorised;
    state.counters["row_ms"] = row;
    state.counters["sqlite_ms"] = sql;
    state.counters["sqlite_over_vectorised"] = sql / vectorised;
    state.counters["row_over_vectorised"] = row / vectorised;
    state.counters["members"] = static_cast<double>(fast_members);
  }
}

std::vector<CompiledSegment> CompileAll(const EvalContext& ctx) {
  std::vector<CompiledSegment> out;
  for (const std::string& text : Shared().segment_texts)
    out.push_back(CompiledSegment::Compile(*Bound(text), ctx).value());
  return out;
}

void BM_Matches100(benchmark::State& state) {
  const EvalContext ctx = Context();
  const std::vector<CompiledSegment> segments = CompileAll(ctx);
  std::size_t customer = 0, matched = 0;
  for (auto _ : state) {
    customer = (customer + 7919) % kCustomers;  // a different changed customer each time
    for (const CompiledSegment& s : segments) matched += s.Matches(customer);
  }
  benchmark::DoNotOptimize(matched);
  state.counters["segments"] = static_cast<double>(segments.size());
  state.counters["matches_per_customer"] =
      static_cast<double>(matched) /
      static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

void BM_Compile100(benchmark::State& state) {
  const EvalContext ctx = Context();
  for (auto _ : state) benchmark::DoNotOptimize(CompileAll(ctx));
}

// --- Event-count conditions: 20M events of 1M customers over the last year. ---

constexpr std::size_t kEvents = 20'000'000;

struct Events {
  EventLog log;
  sqlite3* db = nullptr;
  sqlite3_stmt* recent = nullptr;  // the SQL of kEventCount
};

// 60 % page views (a tenth of them of /pricing), 30 % product views, 10 % add-to-cart; the
// same rows in SQLite (customer, name, at, url) with an index on (name, at).
Events BuildEvents() {
  Events e;
  std::mt19937_64 rng(7);
  EventLog::Stream& views = e.log.by_name["Page Viewed"];
  EventLog::Stream& products = e.log.by_name["Product Viewed"];
  EventLog::Stream& carts = e.log.by_name["Added to Cart"];
  Check(sqlite3_open(":memory:", &e.db), e.db, "open");
  Check(sqlite3_exec(e.db, "CREATE TABLE events (customer INTEGER, name TEXT, at INTEGER, url TEXT)", nullptr,
                     nullptr, nullptr),
        e.db, "create");
  Check(sqlite3_exec(e.db, "BEGIN", nullptr, nullptr, nullptr), e.db, "begin");
  sqlite3_stmt* ins = nullptr;
  Check(sqlite3_prepare_v2(e.db, "INSERT INTO events VALUES (?, ?, ?, ?)", -1, &ins, nullptr), e.db, "prepare");
  for (std::size_t i = 0; i < kEvents; ++i) {
    const auto customer = static_cast<Snapshot::Index>(rng() % kCustomers);
    const std::int64_t at = kNow.micros - static_cast<std::int64_t>(rng() % (365 * 86'400ULL)) * kMicrosPerSecond;
    const unsigned kind = static_cast<unsigned>(rng() % 10);
    EventLog::Stream& st = kind < 6 ? views : kind < 9 ? products : carts;
    const char* name = kind < 6 ? "Page Viewed" : kind < 9 ? "Product Viewed" : "Added to Cart";
    std::string url = kind < 6 ? (rng() % 10 == 0 ? "/pricing" : "/products/p" + std::to_string(rng() % 500)) : "";
    st.Add(customer, at, url.empty() ? "{}" : "{\"url\":\"" + url + "\"}");
    sqlite3_bind_int64(ins, 1, customer);
    sqlite3_bind_text(ins, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, at);
    sqlite3_bind_text(ins, 4, url.c_str(), -1, SQLITE_TRANSIENT);
    Check(sqlite3_step(ins), e.db, "insert");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  Check(sqlite3_exec(e.db, "COMMIT; CREATE INDEX events_by_name_at ON events (name, at)", nullptr, nullptr, nullptr),
        e.db, "index");
  e.log.events = kEvents;
  const std::string sql = "SELECT customer FROM events WHERE name = 'Page Viewed' AND at > " +
                          std::to_string(kNow.micros - 30 * kMicrosPerDay) + " AND at <= " +
                          std::to_string(kNow.micros) + " GROUP BY customer HAVING count(*) >= 3";
  Check(sqlite3_prepare_v2(e.db, sql.c_str(), -1, &e.recent, nullptr), e.db, "prepare");
  return e;
}

Events& SharedEvents() {
  static Events e = BuildEvents();
  return e;
}

constexpr const char* kEventCount = "count(event \"Page Viewed\" within 30d) >= 3";
constexpr const char* kEventWhere =
    "country in [\"DE\", \"AT\"] and count(event \"Page Viewed\" within 7d where properties.url = \"/pricing\") >= 1";

void RunEventCondition(benchmark::State& state, const char* text) {
  SharedEvents();
  EvalContext ctx = Context();
  ctx.events = &SharedEvents().log;
  const ExprPtr e = Bound(text);
  std::size_t members = 0;
  for (auto _ : state) {
    auto set = EvaluateVectorised(*e, ctx);
    if (!set) std::abort();
    members = CountTrue(*set);
  }
  state.counters["members"] = static_cast<double>(members);
}

void BM_EventCount(benchmark::State& state) { RunEventCondition(state, kEventCount); }
void BM_EventCountWhere(benchmark::State& state) { RunEventCondition(state, kEventWhere); }

void BM_EventCountSqlite(benchmark::State& state) {
  sqlite3_stmt* s = SharedEvents().recent;
  std::size_t members = 0;
  for (auto _ : state) {
    members = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) ++members;
    Check(rc, SharedEvents().db, "step");
    sqlite3_reset(s);
  }
  state.counters["members"] = static_cast<double>(members);
}

BENCHMARK(BM_Vectorised)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RowInterpreter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sqlite)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ratios)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Matches100)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Compile100)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EventCount)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EventCountSqlite)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EventCountWhere)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace treu::segment

BENCHMARK_MAIN();
