#include "analytics/kpis.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace treu {
namespace {

using U = KpiUnit;

const std::vector<KpiDefinition> kRegistry = {
    {"customers_active_start", "Active customers at start", "Aktive Kunden zu Beginn",
     "Customers active at the start of the period (basis and window of the workspace)", "S",
     U::kCount},
    {"customers_active_end", "Active customers at end", "Aktive Kunden am Ende",
     "Customers active at the end of the period", "E", U::kCount},
    {"customers_new", "New customers", "Neukunden",
     "Customers whose first activity (first order or subscription start) falls in the period",
     "N", U::kCount},
    {"retention_rate", "Retention rate", "Kundenbindungsrate",
     "Share of the customers at the start who are still active at the end, counting "
     "reactivated ones (the article's and the common formula)",
     "(E - N) / S", U::kRatio},
    {"retention_rate_strict", "Retention rate (strict)", "Kundenbindungsrate (streng)",
     "Share of the customers active at the start who are also active at the end",
     "|active at start ∩ active at end| / S", U::kRatio},
    {"churn_rate", "Churn rate", "Abwanderungsrate", "Share of the customers at the start lost by the end",
     "1 - retention_rate_strict", U::kRatio},
    {"repeat_purchase_rate", "Repeat purchase rate", "Wiederkaufrate",
     "Share of the period's buyers who ordered at least twice in it",
     "customers with >= 2 orders in P / customers with >= 1 order in P", U::kRatio},
    {"purchase_frequency", "Purchase frequency", "Kaufhäufigkeit",
     "Orders per buying customer in the period", "orders in P / buying customers in P", U::kScore},
    {"average_order_value", "Average order value", "Durchschnittlicher Bestellwert",
     "Revenue per completed order in the period", "revenue / orders in P", U::kMoney},
    {"revenue", "Revenue", "Umsatz", "Completed order totals in the period minus refunds in it",
     "Σ order totals in P - Σ refunds in P", U::kMoney},
    {"clv_historic", "Customer lifetime value (historic)", "Kundenwert (historisch)",
     "Customer value over the 12 months ending at the end of the period times the average "
     "lifespan, 1 / annual churn rate (capped at 10 years)",
     "average_order_value × purchase_frequency × min(1 / churn_rate, 10)", U::kMoney},
    {"clv_predicted", "Customer lifetime value (predicted)", "Kundenwert (prognostiziert)",
     "Mean over customers of Gamma-Gamma expected spend × BG/NBD expected purchases, "
     "discounted monthly",
     "Σ_i E[value] × E[purchases in month i] / (1 + d)^i", U::kMoney},
    {"mrr", "MRR", "MRR (monatlich wiederkehrender Umsatz)",
     "Monthly recurring revenue at the end of the period",
     "Σ active subscriptions: amount × quantity × (1 - discount), per month", U::kMoney},
    {"accounts", "Paying accounts", "Zahlende Kunden", "Customers with MRR > 0 at the end of the period",
     "customers with MRR(end) > 0", U::kCount},
    {"arpa", "ARPA", "Umsatz pro Kunde (ARPA)", "Average MRR per paying account at the end",
     "MRR(end) / accounts(end)", U::kMoney},
    {"revenue_churn_gross", "Gross revenue churn", "Umsatzabwanderung (brutto)",
     "MRR lost to churn and contraction, relative to MRR at the start",
     "(churn + contraction) / MRR(start)", U::kRatio},
    {"revenue_churn_net", "Net revenue churn", "Umsatzabwanderung (netto)",
     "MRR lost net of expansion and reactivation, relative to MRR at the start",
     "(churn + contraction - expansion - reactivation) / MRR(start)", U::kRatio},
    {"revenue_churn_simple", "Revenue churn (article)", "Umsatzabwanderung (Artikel)",
     "The article's simple formula; new customers' MRR offsets it",
     "((MRR(start) - MRR(end)) - expansion) / MRR(start)", U::kRatio},
    {"nrr", "Net revenue retention", "Netto-Umsatzbindung",
     "MRR kept from the customers paying at the start, with their expansion",
     "(MRR(start) + expansion - contraction - churn) / MRR(start)", U::kRatio},
    {"grr", "Gross revenue retention", "Brutto-Umsatzbindung",
     "MRR kept from the customers paying at the start, without expansion",
     "(MRR(start) - contraction - churn) / MRR(start)", U::kRatio},
    {"revenue_growth_rate", "Revenue growth rate", "Umsatzwachstum", "Growth of MRR over the period",
     "(MRR(end) - MRR(start)) / MRR(start)", U::kRatio},
    {"nps", "Net Promoter Score", "Net Promoter Score",
     "100 × (promoters - detractors) / answers, over NPS answers in the period",
     "100 × (promoters - detractors) / answers", U::kScore},
    {"csat", "Customer satisfaction (CSAT)", "Kundenzufriedenheit (CSAT)",
     "Share of CSAT answers (1-5) that are 4 or 5, in percent", "100 × answers >= 4 / answers",
     U::kScore},
    {"csat_good_bad_ratio", "CSAT good/bad ratio (article)", "CSAT-Verhältnis gut/schlecht (Artikel)",
     "The article's formula: good answers (4-5) per bad answer (1-2), in percent",
     "100 × good / bad", U::kScore},
    {"ces", "Customer effort score", "Customer Effort Score", "Mean of the CES answers (1-7) in the period",
     "mean of answers", U::kScore},
};

// Midnight `days` calendar days before the local date of t (t is a period boundary, so a
// local midnight): the start of the activity window ending at t.
Timestamp DaysBefore(const TimeZone& zone, Timestamp t, int days) {
  return zone.StartOfDay(CivilFromDays(DaysFromCivil(zone.LocalDate(t)) - days));
}

bool AnyIn(std::span<const std::int64_t> sorted, std::int64_t from, std::int64_t to) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), from);
  return it != sorted.end() && *it < to;
}

std::optional<double> Ratio(double num, double den) {
  if (den == 0) return std::nullopt;
  return num / den;
}

}  // namespace

std::string_view KpiUnitName(KpiUnit u) {
  switch (u) {
    case KpiUnit::kCount: return "count";
    case KpiUnit::kRatio: return "ratio";
    case KpiUnit::kMoney: return "money";
    case KpiUnit::kScore: return "score";
    case KpiUnit::kYears: return "years";
  }
  return "unknown";
}

const std::vector<KpiDefinition>& KpiRegistry() { return kRegistry; }

const KpiDefinition* FindKpi(std::string_view id) {
  for (const auto& d : kRegistry) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

Result<int> ParseWindowDays(std::string_view text) {
  int n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  const int per = unit == "d" ? 1 : unit == "w" ? 7 : unit == "y" ? 365 : 0;
  if (ec != std::errc() || n <= 0 || per == 0 || n > 3650 / per) {
    return InvalidArgument("window", "'" + std::string(text) + "' is not a window like 90d, 12w or 1y (at most 10 years)");
  }
  return n * per;
}

KpiOptions DefaultKpiOptions(const Snapshot& s) {
  KpiOptions o;
  o.basis = s.workspace().retention_basis;
  o.window_days = s.workspace().activity_window_days;
  return o;
}

// Everything the metrics of one period need, gathered in one pass over the customers.
struct Analytics::Stats {
  Timestamp start, end;
  std::int64_t active_start = 0, active_end = 0, active_both = 0, new_customers = 0;
  std::int64_t buyers = 0, repeat_buyers = 0, orders = 0;
  std::int64_t order_total = 0, refunds = 0;  // minor units
  MrrMovements mrr;
  const Stats* year = nullptr;  // the 12 months ending with the period, when gathered with it
  std::int64_t revenue() const { return order_total - refunds; }
};

Analytics::Analytics(std::shared_ptr<const Snapshot> snapshot) : snap_(std::move(snapshot)) {
  auto z = TimeZone::Find(snap_->workspace().time_zone);
  zone_ = z ? *z : TimeZone::Utc();
}

MrrMovements Analytics::Movements(Timestamp start, Timestamp end, const KpiOptions& o) const {
  return Gather(start, end, o).mrr;
}

Analytics::Stats Analytics::Gather(Timestamp start, Timestamp end, const KpiOptions& o) const {
  return GatherMany({{start, end}}, o)[0];
}

// One pass over the customers for all ranges: each customer's columns are read once.
std::vector<Analytics::Stats> Analytics::GatherMany(
    const std::vector<std::pair<Timestamp, Timestamp>>& ranges, const KpiOptions& o) const {
  const Snapshot& s = *snap_;
  const std::size_t n_ranges = ranges.size();
  std::vector<Stats> out(n_ranges);
  std::vector<std::int64_t> w_start(n_ranges), w_end(n_ranges);
  for (std::size_t r = 0; r < n_ranges; ++r) {
    out[r].start = ranges[r].first;
    out[r].end = ranges[r].second;
    w_start[r] = DaysBefore(zone_, ranges[r].first, o.window_days).micros;
    w_end[r] = DaysBefore(zone_, ranges[r].second, o.window_days).micros;
  }
  const bool purchases = o.basis != RetentionBasis::kSubscriptions;
  const bool subscriptions = o.basis != RetentionBasis::kPurchases;
  for (Snapshot::Index c = 0; c < s.customers(); ++c) {
    if (o.customers != nullptr && (c >= o.customers->size() || !(*o.customers)[c])) continue;
    const auto times = s.order_times(c);
    const auto totals = s.order_totals(c);
    const auto rt = s.refund_times(c);
    const auto ra = s.refund_amounts(c);
    const auto mt = s.mrr_times(c);
    const auto mv = s.mrr_values(c);
    if (times.empty() && mt.empty() && rt.empty()) continue;  // never active: counts nowhere
    auto mrr_at = [&](std::int64_t t) -> std::int64_t {
      const auto it = std::upper_bound(mt.begin(), mt.end(), t);
      return it == mt.begin() ? 0 : mv[static_cast<std::size_t>(it - mt.begin() - 1)];
    };
    std::optional<std::int64_t> first_mrr;
    for (std::size_t i = 0; i < mt.size(); ++i) {
      if (mv[i] > 0) {
        first_mrr = mt[i];
        break;
      }
    }
    std::optional<std::int64_t> first;
    if (purchases && !times.empty()) first = times.front();
    if (subscriptions && first_mrr && (!first || *first_mrr < *first)) first = first_mrr;
    for (std::size_t r = 0; r < n_ranges; ++r) {
      Stats& st = out[r];
      const std::int64_t start = st.start.micros, end = st.end.micros;
      const std::int64_t m0 = mt.empty() ? 0 : mrr_at(start);
      const std::int64_t m1 = mt.empty() ? 0 : mrr_at(end);
      // Activity.
      const bool a0 = (purchases && AnyIn(times, w_start[r], start)) || (subscriptions && m0 > 0);
      const bool a1 = (purchases && AnyIn(times, w_end[r], end)) || (subscriptions && m1 > 0);
      st.active_start += a0;
      st.active_end += a1;
      st.active_both += a0 && a1;
      st.new_customers += first && *first >= start && *first < end;
      // Orders and refunds in the period.
      const auto lo = std::lower_bound(times.begin(), times.end(), start);
      const auto hi = std::lower_bound(lo, times.end(), end);
      const std::int64_t n = hi - lo;
      if (n > 0) {
        ++st.buyers;
        st.repeat_buyers += n >= 2;
        st.orders += n;
        for (auto i = lo - times.begin(); i < hi - times.begin(); ++i) st.order_total += totals[static_cast<std::size_t>(i)];
      }
      for (auto i = std::lower_bound(rt.begin(), rt.end(), start) - rt.begin();
           i < static_cast<std::ptrdiff_t>(rt.size()) && rt[static_cast<std::size_t>(i)] < end; ++i) {
        st.refunds += ra[static_cast<std::size_t>(i)];
      }
      // MRR movements.
      if (mt.empty()) continue;
      MrrMovements& m = st.mrr;
      m.mrr_start += m0;
      m.mrr_end += m1;
      m.accounts_start += m0 > 0;
      m.accounts_end += m1 > 0;
      if (m0 == 0 && m1 > 0) {
        (first_mrr && *first_mrr < start ? m.reactivation : m.new_mrr) += m1;
      } else if (m0 > 0 && m1 == 0) {
        m.churn += m0;
      } else if (m0 > 0 && m1 > m0) {
        m.expansion += m1 - m0;
      } else if (m1 > 0 && m1 < m0) {
        m.contraction += m0 - m1;
      }
    }
  }
  return out;
}

// The 12 months ending where `p` ends, for clv_historic.
std::pair<Timestamp, Timestamp> Analytics::YearEndingWith(const Period& p) const {
  const CivilDate end_day = CivilFromDays(DaysFromCivil(p.last_day()) + 1);
  CivilDate from = end_day;
  from.year -= 1;
  if (!IsValidDate(from.year, from.month, from.day)) from.day = 28;
  return {zone_.StartOfDay(from), zone_.StartOfDay(end_day)};
}

std::vector<std::vector<KpiResult>> Analytics::ComputeSeries(const Period& last, int n,
                                                             const KpiOptions& o) const {
  // Each period and the 12 months ending with it, all in one pass.
  std::vector<Period> periods;
  std::vector<std::pair<Timestamp, Timestamp>> ranges;
  for (int k = n - 1; k >= 0; --k) {
    periods.push_back(last.Shift(-k));
    ranges.emplace_back(periods.back().Start(zone_), periods.back().End(zone_));
  }
  for (const Period& p : periods) ranges.push_back(YearEndingWith(p));
  std::vector<Stats> stats = GatherMany(ranges, o);
  std::vector<std::vector<KpiResult>> out;
  for (std::size_t i = 0; i < periods.size(); ++i) {
    stats[i].year = &stats[periods.size() + i];
    std::vector<KpiResult> row;
    for (const auto& def : kRegistry) row.push_back(Derive(def, periods[i], stats[i], o));
    out.push_back(std::move(row));
  }
  return out;
}

Result<KpiResult> Analytics::Compute(std::string_view id, const Period& p, const KpiOptions& o) const {
  const KpiDefinition* def = FindKpi(id);
  if (def == nullptr) return InvalidArgument("kpi", "'" + std::string(id) + "' is not a metric; see treu kpi --list");
  return Derive(*def, p, Gather(p.Start(zone_), p.End(zone_), o), o);
}

std::vector<KpiResult> Analytics::ComputeAll(const Period& p, const KpiOptions& o) const {
  return ComputeSeries(p, 1, o)[0];
}

KpiResult Analytics::Derive(const KpiDefinition& def, const Period& p, const Stats& st,
                            const KpiOptions& o) const {
  KpiResult r;
  r.id = std::string(def.id);
  r.period = p;
  r.start = st.start;
  r.end = st.end;
  const std::string_view id = def.id;
  auto count = [](std::int64_t v) { return KpiNumber::Of(static_cast<double>(v)); };
  auto money_units = [](std::int64_t units) { return KpiNumber::Money(MrrUnitsToMinor(units)); };
  auto ratio = [&](std::optional<double> v, std::string reason) {
    if (v) r.value = KpiNumber::Of(*v);
    else r.null_reason = std::move(reason);
  };
  const double minor_per_major = [&] {
    double f = 1;
    for (int i = 0; i < snap_->currency().exponent(); ++i) f *= 10;
    return f;
  }();
  const MrrMovements& m = st.mrr;
  const std::string no_start = "no active customers at the start of the period";
  const std::string no_mrr = "no MRR at the start of the period";
  if (id == "customers_active_start") {
    r.value = count(st.active_start);
  } else if (id == "customers_active_end") {
    r.value = count(st.active_end);
  } else if (id == "customers_new") {
    r.value = count(st.new_customers);
  } else if (id == "retention_rate") {
    r.inputs = {{"S", count(st.active_start)}, {"E", count(st.active_end)}, {"N", count(st.new_customers)}};
    ratio(Ratio(static_cast<double>(st.active_end - st.new_customers), static_cast<double>(st.active_start)), no_start);
  } else if (id == "retention_rate_strict" || id == "churn_rate") {
    r.inputs = {{"S", count(st.active_start)}, {"retained", count(st.active_both)}};
    auto v = Ratio(static_cast<double>(st.active_both), static_cast<double>(st.active_start));
    if (v && id == "churn_rate") v = 1 - *v;
    ratio(v, no_start);
  } else if (id == "repeat_purchase_rate") {
    r.inputs = {{"repeat_buyers", count(st.repeat_buyers)}, {"buyers", count(st.buyers)}};
    ratio(Ratio(static_cast<double>(st.repeat_buyers), static_cast<double>(st.buyers)), "no orders in the period");
  } else if (id == "purchase_frequency") {
    r.inputs = {{"orders", count(st.orders)}, {"buyers", count(st.buyers)}};
    ratio(Ratio(static_cast<double>(st.orders), static_cast<double>(st.buyers)), "no orders in the period");
  } else if (id == "average_order_value") {
    r.inputs = {{"revenue", KpiNumber::Money(st.revenue())}, {"orders", count(st.orders)}};
    if (st.orders > 0) {
      r.value = KpiNumber::MoneyAverage(static_cast<double>(st.revenue()) / minor_per_major /
                                        static_cast<double>(st.orders));
    } else {
      r.null_reason = "no orders in the period";
    }
  } else if (id == "revenue") {
    r.inputs = {{"order_totals", KpiNumber::Money(st.order_total)}, {"refunds", KpiNumber::Money(st.refunds)}};
    r.value = KpiNumber::Money(st.revenue());
  } else if (id == "clv_historic") {
    // The 12 months ending at the end of the period.
    const auto year = YearEndingWith(p);
    const Stats y = st.year != nullptr ? *st.year : Gather(year.first, year.second, o);
    const double aov = y.orders > 0 ? static_cast<double>(y.revenue()) / minor_per_major / static_cast<double>(y.orders) : 0;
    const double freq = y.buyers > 0 ? static_cast<double>(y.orders) / static_cast<double>(y.buyers) : 0;
    r.inputs = {{"average_order_value", KpiNumber::MoneyAverage(aov)},
                {"purchase_frequency", KpiNumber::Of(freq)},
                {"customers_active_start", count(y.active_start)}};
    if (y.orders == 0) {
      r.null_reason = "no orders in the 12 months ending with the period";
    } else if (y.active_start == 0) {
      r.null_reason = "no active customers 12 months before the end of the period";
    } else {
      const double churn = 1 - static_cast<double>(y.active_both) / static_cast<double>(y.active_start);
      const double lifespan = churn > 0 ? std::min(1 / churn, 10.0) : 10.0;
      r.inputs.emplace_back("annual_churn_rate", KpiNumber::Of(churn));
      r.inputs.emplace_back("lifespan_years", KpiNumber::Of(lifespan));
      r.inputs.emplace_back("lifespan_capped", KpiNumber::Of(churn <= 0 || 1 / churn > 10 ? 1 : 0));
      r.value = KpiNumber::MoneyAverage(aov * freq * lifespan);
    }
  } else if (id == "clv_predicted") {
    r.null_reason = "no fitted purchase model yet (the predictions are computed by treu models)";
  } else if (id == "mrr") {
    r.inputs = {{"mrr_start", money_units(m.mrr_start)}};
    r.value = money_units(m.mrr_end);
  } else if (id == "accounts") {
    r.inputs = {{"accounts_start", count(m.accounts_start)}};
    r.value = count(m.accounts_end);
  } else if (id == "arpa") {
    r.inputs = {{"mrr", money_units(m.mrr_end)}, {"accounts", count(m.accounts_end)}};
    if (m.accounts_end > 0) {
      r.value = KpiNumber::MoneyAverage(static_cast<double>(m.mrr_end) /
                                        static_cast<double>(kMrrUnitsPerMinor) / minor_per_major /
                                        static_cast<double>(m.accounts_end));
    } else {
      r.null_reason = "no paying accounts at the end of the period";
    }
  } else if (id == "revenue_churn_gross" || id == "revenue_churn_net" || id == "revenue_churn_simple" ||
             id == "nrr" || id == "grr" || id == "revenue_growth_rate") {
    r.inputs = {{"mrr_start", money_units(m.mrr_start)}, {"mrr_end", money_units(m.mrr_end)},
                {"new", money_units(m.new_mrr)},         {"reactivation", money_units(m.reactivation)},
                {"expansion", money_units(m.expansion)}, {"contraction", money_units(m.contraction)},
                {"churn", money_units(m.churn)}};
    const double s0 = static_cast<double>(m.mrr_start);
    double num = 0;
    if (id == "revenue_churn_gross") num = static_cast<double>(m.churn + m.contraction);
    if (id == "revenue_churn_net") num = static_cast<double>(m.churn + m.contraction - m.expansion - m.reactivation);
    if (id == "revenue_churn_simple") num = static_cast<double>((m.mrr_start - m.mrr_end) - m.expansion);
    if (id == "nrr") num = static_cast<double>(m.mrr_start + m.expansion - m.contraction - m.churn);
    if (id == "grr") num = static_cast<double>(m.mrr_start - m.contraction - m.churn);
    if (id == "revenue_growth_rate") num = static_cast<double>(m.mrr_end - m.mrr_start);
    ratio(Ratio(num, s0), no_mrr);
  } else if (id == "nps" || id == "csat" || id == "csat_good_bad_ratio" || id == "ces") {
    r.inputs = {{"answers", count(0)}};
    r.null_reason = "no survey answers in the period";
  }
  return r;
}

Result<std::vector<CohortRow>> Cohorts(const Analytics& a, const CohortOptions& c, const KpiOptions& o) {
  if (c.by != PeriodKind::kMonth && c.by != PeriodKind::kQuarter && c.by != PeriodKind::kWeek) {
    return InvalidArgument("by", "must be month, quarter or week");
  }
  const Snapshot& s = a.snapshot();
  const TimeZone& zone = a.zone();
  const bool purchases = o.basis != RetentionBasis::kSubscriptions;
  const bool subscriptions = o.basis != RetentionBasis::kPurchases;
  // Each customer's first activity and the latest instant with data.
  std::vector<std::optional<Period>> cohort_of(s.customers());
  std::optional<std::int64_t> latest;
  auto note = [&](std::int64_t t) { latest = latest ? std::max(*latest, t) : t; };
  std::optional<Period> first_cohort;
  for (Snapshot::Index i = 0; i < s.customers(); ++i) {
    if (o.customers != nullptr && (i >= o.customers->size() || !(*o.customers)[i])) continue;
    const auto times = s.order_times(i);
    std::optional<std::int64_t> first;
    if (purchases && !times.empty()) {
      first = times.front();
      note(times.back());
    }
    if (subscriptions) {
      if (auto f = s.FirstMrr(i); f && (!first || f->micros < *first)) first = f->micros;
      // The last change to a positive MRR; an end (possibly scheduled later) isn't activity.
      const auto mt = s.mrr_times(i);
      const auto mv = s.mrr_values(i);
      for (std::size_t j = mt.size(); j-- > 0;) {
        if (mv[j] > 0) {
          note(mt[j]);
          break;
        }
      }
    }
    if (!s.refund_times(i).empty() && purchases) note(s.refund_times(i).back());
    if (!first) continue;
    cohort_of[i] = Period::Containing(c.by, zone.LocalDate(Timestamp{*first}));
    if (!first_cohort || cohort_of[i]->first_day() < first_cohort->first_day()) first_cohort = cohort_of[i];
  }
  std::vector<CohortRow> rows;
  if (!first_cohort) return rows;
  const Period last_period = Period::Containing(c.by, zone.LocalDate(Timestamp{*latest}));
  // Ordinal of a period of kind `by` relative to the first cohort.
  auto offset_of = [&](const Period& p) {
    int k = 0;
    Period q = *first_cohort;
    while (q.first_day() < p.first_day()) {
      q = q.Shift(1);
      ++k;
    }
    return k;
  };
  const int periods = offset_of(last_period) + 1;
  std::vector<Period> period_list;
  for (int k = 0; k < periods; ++k) period_list.push_back(first_cohort->Shift(k));
  std::vector<Timestamp> starts, ends;
  for (const auto& p : period_list) {
    starts.push_back(p.Start(zone));
    ends.push_back(p.End(zone));
  }
  auto period_index = [&](std::int64_t t) {
    const auto it = std::upper_bound(starts.begin(), starts.end(), Timestamp{t});
    return static_cast<int>(it - starts.begin()) - 1;
  };
  // Per cohort: size, and per period the active customers and the revenue (or MRR).
  struct Acc {
    std::int64_t size = 0;
    std::vector<std::int64_t> active, money;
  };
  std::map<int, Acc> acc;
  // seen[k] == stamp: the customer being visited was active in period k (no clearing).
  std::vector<std::uint32_t> seen(static_cast<std::size_t>(periods), 0);
  std::uint32_t stamp = 0;
  Acc* a0 = nullptr;
  int last_ci = -1;
  for (Snapshot::Index i = 0; i < s.customers(); ++i) {
    if (!cohort_of[i]) continue;
    const int ci = period_index(cohort_of[i]->Start(zone).micros);
    if (ci != last_ci) {
      a0 = &acc[ci];
      last_ci = ci;
      if (a0->active.empty()) {
        a0->active.assign(static_cast<std::size_t>(periods), 0);
        a0->money.assign(static_cast<std::size_t>(periods), 0);
      }
    }
    ++a0->size;
    ++stamp;
    auto mark = [&](int k) {
      if (seen[static_cast<std::size_t>(k)] != stamp) {
        seen[static_cast<std::size_t>(k)] = stamp;
        ++a0->active[static_cast<std::size_t>(k)];
      }
    };
    if (purchases) {
      const auto times = s.order_times(i);
      const auto totals = s.order_totals(i);
      for (std::size_t j = 0; j < times.size(); ++j) {
        const int k = period_index(times[j]);
        if (k < 0) continue;
        mark(k);
        a0->money[static_cast<std::size_t>(k)] += totals[j];
      }
      const auto rt = s.refund_times(i);
      const auto ra = s.refund_amounts(i);
      for (std::size_t j = 0; j < rt.size(); ++j) {
        const int k = period_index(rt[j]);
        if (k >= 0) a0->money[static_cast<std::size_t>(k)] -= ra[j];
      }
    }
    if (subscriptions && !s.mrr_times(i).empty()) {
      for (int k = 0; k < periods; ++k) {
        const std::int64_t m = s.MrrAt(i, ends[static_cast<std::size_t>(k)]);
        if (m > 0) mark(k);
        if (o.basis == RetentionBasis::kSubscriptions) a0->money[static_cast<std::size_t>(k)] += m;
      }
    }
  }
  for (auto& [ci, cohort] : acc) {
    const Acc& a0 = cohort;
    const Period& cp = period_list[static_cast<std::size_t>(ci)];
    if (c.from && cp.first_day() < c.from->first_day()) continue;
    if (c.to && cp.first_day() > c.to->last_day()) continue;
    CohortRow row;
    row.cohort = cp;
    row.size = a0.size;
    for (int k = ci; k < periods; ++k) {
      if (c.revenue) {
        const std::int64_t base = a0.money[static_cast<std::size_t>(ci)];
        row.values.push_back(base > 0 ? std::optional(static_cast<double>(a0.money[static_cast<std::size_t>(k)]) /
                                                      static_cast<double>(base))
                                      : std::nullopt);
      } else {
        row.values.push_back(static_cast<double>(a0.active[static_cast<std::size_t>(k)]) /
                             static_cast<double>(a0.size));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace treu
