// Retention KPIs of ../docs/kpis.md (the definitions users read): a registry with one row per
// metric, and their computation over a snapshot for a period, a series of periods, or a set of
// customers. Pure computation: snapshot in, numbers out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/period.hpp"
#include "snapshot/snapshot.hpp"

namespace treu {

enum class KpiUnit { kCount, kRatio, kMoney, kScore, kYears };
std::string_view KpiUnitName(KpiUnit u);

struct KpiDefinition {
  std::string_view id;
  std::string_view title_en;
  std::string_view title_de;
  std::string_view description;
  std::string_view formula;
  KpiUnit unit;
  // One plain-language sentence with the formula, for readers of the dashboard.
  std::string_view definition_en;
  std::string_view definition_de;
};

// Every metric, in the order of docs/kpis.md.
const std::vector<KpiDefinition>& KpiRegistry();
const KpiDefinition* FindKpi(std::string_view id);

// A number as reported: a count, a ratio, a score, or money — exact minor units for sums,
// a double in major units for averages.
struct KpiNumber {
  enum class Kind { kNumber, kMoneyExact, kMoneyAverage };
  Kind kind = Kind::kNumber;
  double number = 0;       // kNumber, kMoneyAverage (major units)
  std::int64_t minor = 0;  // kMoneyExact

  static KpiNumber Of(double v) { return {Kind::kNumber, v, 0}; }
  static KpiNumber Money(std::int64_t minor) { return {Kind::kMoneyExact, 0, minor}; }
  static KpiNumber MoneyAverage(double major) { return {Kind::kMoneyAverage, major, 0}; }
  bool operator==(const KpiNumber&) const = default;
};

struct KpiResult {
  std::string id;
  Period period = Period::Day({1970, 1, 1});
  Timestamp start, end;
  std::optional<KpiNumber> value;  // nullopt: see null_reason
  std::string null_reason;
  std::vector<std::pair<std::string, KpiNumber>> inputs;  // what the formula used
};

// What the feedback metrics (nps, csat, csat_good_bad_ratio, ces) are computed from: the survey
// answers in a period, counted by whoever keeps them (surveys/kpi_feedback.hpp), so analytics
// needs no survey types.
struct FeedbackSums {
  std::int64_t nps_answers = 0, promoters = 0, detractors = 0;
  std::int64_t csat_answers = 0, csat_good = 0, csat_bad = 0;
  std::int64_t ces_answers = 0;
  double ces_total = 0;
};
class FeedbackSource {
 public:
  virtual ~FeedbackSource() = default;
  // The answers given in [start, end), of the customers in `customers` (by snapshot index;
  // nullptr: everyone). Thread-safe.
  virtual FeedbackSums Sum(Timestamp start, Timestamp end, const std::vector<bool>* customers) const = 0;
};

struct KpiOptions {
  RetentionBasis basis = RetentionBasis::kPurchases;
  int window_days = kDefaultActivityWindowDays;  // purchase activity window W
  // Restricts every count to these customers (by snapshot index); nullptr: everyone.
  const std::vector<bool>* customers = nullptr;
  // Each customer's predicted 12-month CLV today (major units, NaN: none) for clv_predicted;
  // nullptr: no purchase and spend model fitted yet.
  std::shared_ptr<const std::vector<double>> clv_12m;
  // The survey answers for the feedback metrics; nullptr: they are null ("no survey answers").
  std::shared_ptr<const FeedbackSource> feedback;
};

// The workspace's basis and window.
KpiOptions DefaultKpiOptions(const Snapshot& s);

// An activity window as days: "90d", "12w", "1y" (at most 10 years). InvalidArgument otherwise.
Result<int> ParseWindowDays(std::string_view text);

// MRR movements over [start, end) in MRR units (see snapshot.hpp); exact, so that
// end = start + new + reactivation + expansion - contraction - churn.
struct MrrMovements {
  std::int64_t mrr_start = 0, mrr_end = 0;
  std::int64_t new_mrr = 0, reactivation = 0, expansion = 0, contraction = 0, churn = 0;
  std::int64_t accounts_start = 0, accounts_end = 0;
};

class Analytics {
 public:
  explicit Analytics(std::shared_ptr<const Snapshot> snapshot);

  const Snapshot& snapshot() const { return *snap_; }
  const TimeZone& zone() const { return zone_; }

  // InvalidArgument for an unknown id.
  Result<KpiResult> Compute(std::string_view id, const Period& p, const KpiOptions& o) const;
  // All metrics of the registry for one period.
  std::vector<KpiResult> ComputeAll(const Period& p, const KpiOptions& o) const;
  // All metrics for the n periods ending with `last`, oldest first, from one pass over the
  // customers.
  std::vector<std::vector<KpiResult>> ComputeSeries(const Period& last, int n, const KpiOptions& o) const;
  MrrMovements Movements(Timestamp start, Timestamp end, const KpiOptions& o) const;

 private:
  struct Stats;
  Stats Gather(Timestamp start, Timestamp end, const KpiOptions& o) const;
  std::vector<Stats> GatherMany(const std::vector<std::pair<Timestamp, Timestamp>>& ranges,
                                const KpiOptions& o) const;
  std::pair<Timestamp, Timestamp> YearEndingWith(const Period& p) const;
  KpiResult Derive(const KpiDefinition& def, const Period& p, const Stats& s,
                   const KpiOptions& o) const;

  std::shared_ptr<const Snapshot> snap_;
  TimeZone zone_;
};

// Cohort matrices: rows by the period of each customer's first activity.
struct CohortRow {
  Period cohort = Period::Day({1970, 1, 1});
  std::int64_t size = 0;
  std::vector<std::optional<double>> values;  // offset 0, 1, ...; nullopt when undefined
};

struct CohortOptions {
  PeriodKind by = PeriodKind::kMonth;   // month, quarter or week
  std::optional<Period> from, to;       // cohorts of these periods (default: all data)
  bool revenue = false;                 // revenue (or MRR) ratios instead of customer shares
};

Result<std::vector<CohortRow>> Cohorts(const Analytics& a, const CohortOptions& c, const KpiOptions& o);

// Both matrices from one pass (CohortOptions::revenue is ignored), for views that show both.
struct CohortMatrices {
  std::vector<CohortRow> customers;
  std::vector<CohortRow> revenue;
};
Result<CohortMatrices> CohortsBoth(const Analytics& a, const CohortOptions& c, const KpiOptions& o);

// The customers behind one cell of a matrix: of cohort `cohort` (a period of c.by), in the period
// `offset` periods later. Customer matrix (c.revenue false): those active then, by the rule the
// matrix counts them with, so there are share × size of them. Revenue matrix: those whose
// revenue (on the subscription basis: MRR at the period's end) then is not 0. Each with that
// revenue in minor units, in snapshot index order; empty for a cell outside the data.
// InvalidArgument naming "cohort" when it isn't a period of c.by, "offset" when negative.
struct CohortMember {
  Snapshot::Index customer = 0;
  std::int64_t revenue_minor = 0;
};
Result<std::vector<CohortMember>> CohortCellMembers(const Analytics& a, const CohortOptions& c, const KpiOptions& o,
                                                    const Period& cohort, int offset);

}  // namespace treu
