#include "analytics/kpis.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <limits>
#include <map>
#include <thread>

namespace treu {
namespace {

using U = KpiUnit;

const std::vector<KpiDefinition> kRegistry = {
    {"customers_active_start", "Active customers at start", "Aktive Kunden zu Beginn",
     "Customers active at the start of the period (basis and window of the workspace)", "S",
     U::kCount,
     "Customers who were active at the start of the period (S): with a completed order in the activity window before it, or paying a subscription, by the workspace's retention basis.",
     "Kunden, die zu Beginn des Zeitraums aktiv waren (S): mit einer abgeschlossenen Bestellung im Aktivitätsfenster davor oder einem laufenden Abonnement, je nach Bindungsgrundlage des Arbeitsbereichs."},
    {"customers_active_end", "Active customers at end", "Aktive Kunden am Ende",
     "Customers active at the end of the period", "E", U::kCount,
     "Customers who are active at the end of the period (E), by the same rule as at the start.",
     "Kunden, die am Ende des Zeitraums aktiv sind (E), nach derselben Regel wie zu Beginn."},
    {"customers_new", "New customers", "Neukunden",
     "Customers whose first activity (first order or subscription start) falls in the period",
     "N", U::kCount,
     "Customers whose first activity (first order or first subscription) falls in the period (N).",
     "Kunden, deren erste Aktivität (erste Bestellung oder erstes Abonnement) in den Zeitraum fällt (N)."},
    {"retention_rate", "Retention rate", "Kundenbindungsrate",
     "Share of the customers at the start who are still active at the end, counting "
     "reactivated ones (the article's and the common formula)",
     "(E - N) / S", U::kRatio,
     "The share of customers kept over the period, counting reactivated ones: (E − N) / S.",
     "Der Anteil der im Zeitraum gehaltenen Kunden, reaktivierte mitgezählt: (E − N) / S."},
    {"retention_rate_strict", "Retention rate (strict)", "Kundenbindungsrate (streng)",
     "Share of the customers active at the start who are also active at the end",
     "|active at start ∩ active at end| / S", U::kRatio,
     "The share of customers active at the start who are still active at the end: |active at start ∩ active at end| / S.",
     "Der Anteil der zu Beginn aktiven Kunden, die am Ende noch aktiv sind: |aktiv zu Beginn ∩ aktiv am Ende| / S."},
    {"churn_rate", "Churn rate", "Abwanderungsrate", "Share of the customers at the start lost by the end",
     "1 - retention_rate_strict", U::kRatio,
     "The share of customers active at the start who are no longer active at the end: 1 − strict retention rate.",
     "Der Anteil der zu Beginn aktiven Kunden, die am Ende nicht mehr aktiv sind: 1 − strenge Kundenbindungsrate."},
    {"repeat_purchase_rate", "Repeat purchase rate", "Wiederkaufrate",
     "Share of the period's buyers who ordered at least twice in it",
     "customers with >= 2 orders in P / customers with >= 1 order in P", U::kRatio,
     "The share of the period's buyers who ordered at least twice in it: customers with ≥ 2 orders / customers with ≥ 1 order.",
     "Der Anteil der Käufer im Zeitraum, die darin mindestens zweimal bestellt haben: Kunden mit ≥ 2 Bestellungen / Kunden mit ≥ 1 Bestellung."},
    {"purchase_frequency", "Purchase frequency", "Kaufhäufigkeit",
     "Orders per buying customer in the period", "orders in P / buying customers in P", U::kScore,
     "How often a buying customer ordered in the period: completed orders / distinct buying customers.",
     "Wie oft ein kaufender Kunde im Zeitraum bestellt hat: abgeschlossene Bestellungen / verschiedene kaufende Kunden."},
    {"average_order_value", "Average order value", "Durchschnittlicher Bestellwert",
     "Revenue per completed order in the period", "revenue / orders in P", U::kMoney,
     "What a completed order brought in on average: revenue / completed orders in the period.",
     "Was eine abgeschlossene Bestellung im Schnitt eingebracht hat: Umsatz / abgeschlossene Bestellungen im Zeitraum."},
    {"revenue", "Revenue", "Umsatz", "Completed order totals in the period minus refunds in it",
     "Σ order totals in P - Σ refunds in P", U::kMoney,
     "Money taken in the period: Σ completed order totals − Σ refunds in the period.",
     "Im Zeitraum eingenommenes Geld: Σ Summen abgeschlossener Bestellungen − Σ Rückerstattungen im Zeitraum."},
    {"clv_historic", "Customer lifetime value (historic)", "Kundenwert (historisch)",
     "Customer value over the 12 months ending at the end of the period times the average "
     "lifespan, 1 / annual churn rate (capped at 10 years)",
     "average_order_value × purchase_frequency × min(1 / churn_rate, 10)", U::kMoney,
     "What a customer is worth over their lifetime, from the past 12 months: average order value × purchase frequency × average lifespan (1 / annual churn rate, at most 10 years).",
     "Was ein Kunde über seine gesamte Kundenbeziehung wert ist, aus den letzten 12 Monaten: durchschnittlicher Bestellwert × Kaufhäufigkeit × durchschnittliche Lebensdauer (1 / jährliche Abwanderungsrate, höchstens 10 Jahre)."},
    {"clv_predicted", "Customer lifetime value (predicted)", "Kundenwert (prognostiziert)",
     "Mean over customers of Gamma-Gamma expected spend × BG/NBD expected purchases, "
     "discounted monthly",
     "Σ_i E[value] × E[purchases in month i] / (1 + d)^i", U::kMoney,
     "What a customer is expected to spend in the next 12 months, averaged over customers: Gamma-Gamma expected order value × expected purchases per month, discounted monthly.",
     "Was ein Kunde in den nächsten 12 Monaten voraussichtlich ausgibt, gemittelt über die Kunden: erwarteter Bestellwert (Gamma-Gamma) × erwartete Käufe pro Monat, monatlich abgezinst."},
    {"mrr", "MRR", "MRR (monatlich wiederkehrender Umsatz)",
     "Monthly recurring revenue at the end of the period",
     "Σ active subscriptions: amount × quantity × (1 - discount), per month", U::kMoney,
     "Monthly recurring revenue at the end of the period: Σ over active subscriptions of amount × quantity × (1 − discount), converted to one month.",
     "Monatlich wiederkehrender Umsatz am Ende des Zeitraums: Σ über laufende Abonnements von Betrag × Menge × (1 − Rabatt), auf einen Monat umgerechnet."},
    {"accounts", "Paying accounts", "Zahlende Kunden", "Customers with MRR > 0 at the end of the period",
     "customers with MRR(end) > 0", U::kCount,
     "Customers paying a subscription at the end of the period: customers with MRR > 0.",
     "Kunden, die am Ende des Zeitraums ein Abonnement bezahlen: Kunden mit MRR > 0."},
    {"arpa", "ARPA", "Umsatz pro Kunde (ARPA)", "Average MRR per paying account at the end",
     "MRR(end) / accounts(end)", U::kMoney,
     "Average monthly recurring revenue per paying account at the end of the period: MRR / paying accounts.",
     "Durchschnittlicher monatlich wiederkehrender Umsatz pro zahlendem Kunden am Ende des Zeitraums: MRR / zahlende Kunden."},
    {"revenue_churn_gross", "Gross revenue churn", "Umsatzabwanderung (brutto)",
     "MRR lost to churn and contraction, relative to MRR at the start",
     "(churn + contraction) / MRR(start)", U::kRatio,
     "Recurring revenue lost to cancellations and downgrades, relative to the start: (churned + contracted MRR) / MRR at the start.",
     "Durch Kündigungen und Herabstufungen verlorener wiederkehrender Umsatz im Verhältnis zum Beginn: (gekündigter + verringerter MRR) / MRR zu Beginn."},
    {"revenue_churn_net", "Net revenue churn", "Umsatzabwanderung (netto)",
     "MRR lost net of expansion and reactivation, relative to MRR at the start",
     "(churn + contraction - expansion - reactivation) / MRR(start)", U::kRatio,
     "Recurring revenue lost, net of upgrades and reactivations, relative to the start: (churn + contraction − expansion − reactivation) / MRR at the start.",
     "Verlorener wiederkehrender Umsatz abzüglich Erweiterungen und Reaktivierungen, im Verhältnis zum Beginn: (Kündigung + Verringerung − Erweiterung − Reaktivierung) / MRR zu Beginn."},
    {"revenue_churn_simple", "Revenue churn (article)", "Umsatzabwanderung (Artikel)",
     "The article's simple formula; new customers' MRR offsets it",
     "((MRR(start) - MRR(end)) - expansion) / MRR(start)", U::kRatio,
     "The article's simple revenue churn, in which new customers' MRR offsets losses: ((MRR at start − MRR at end) − expansion) / MRR at start.",
     "Die einfache Umsatzabwanderung des Artikels, bei der der MRR neuer Kunden Verluste ausgleicht: ((MRR zu Beginn − MRR am Ende) − Erweiterung) / MRR zu Beginn."},
    {"nrr", "Net revenue retention", "Netto-Umsatzbindung",
     "MRR kept from the customers paying at the start, with their expansion",
     "(MRR(start) + expansion - contraction - churn) / MRR(start)", U::kRatio,
     "How much recurring revenue the customers paying at the start bring in at the end, upgrades included: (MRR at start + expansion − contraction − churn) / MRR at start.",
     "Wie viel wiederkehrenden Umsatz die zu Beginn zahlenden Kunden am Ende bringen, Erweiterungen eingeschlossen: (MRR zu Beginn + Erweiterung − Verringerung − Kündigung) / MRR zu Beginn."},
    {"grr", "Gross revenue retention", "Brutto-Umsatzbindung",
     "MRR kept from the customers paying at the start, without expansion",
     "(MRR(start) - contraction - churn) / MRR(start)", U::kRatio,
     "How much of the recurring revenue at the start is kept, upgrades not counted: (MRR at start − contraction − churn) / MRR at start.",
     "Wie viel des wiederkehrenden Umsatzes vom Beginn erhalten bleibt, ohne Erweiterungen: (MRR zu Beginn − Verringerung − Kündigung) / MRR zu Beginn."},
    {"revenue_growth_rate", "Revenue growth rate", "Umsatzwachstum", "Growth of MRR over the period",
     "(MRR(end) - MRR(start)) / MRR(start)", U::kRatio,
     "How much recurring revenue grew over the period: (MRR at end − MRR at start) / MRR at start.",
     "Wie stark der wiederkehrende Umsatz im Zeitraum gewachsen ist: (MRR am Ende − MRR zu Beginn) / MRR zu Beginn."},
    {"nps", "Net Promoter Score", "Net Promoter Score",
     "100 × (promoters - detractors) / answers, over NPS answers in the period",
     "100 × (promoters - detractors) / answers", U::kScore,
     "How many more customers recommend you than discourage others, on a scale from −100 to 100: 100 × (promoters − detractors) / NPS answers in the period.",
     "Wie viel mehr Kunden Sie weiterempfehlen als abraten, auf einer Skala von −100 bis 100: 100 × (Promotoren − Kritiker) / NPS-Antworten im Zeitraum."},
    {"csat", "Customer satisfaction (CSAT)", "Kundenzufriedenheit (CSAT)",
     "Share of CSAT answers (1-5) that are 4 or 5, in percent", "100 × answers >= 4 / answers",
     U::kScore,
     "The share of satisfied answers, in percent: 100 × CSAT answers of 4 or 5 / all CSAT answers (1–5) in the period.",
     "Der Anteil zufriedener Antworten in Prozent: 100 × CSAT-Antworten mit 4 oder 5 / alle CSAT-Antworten (1–5) im Zeitraum."},
    {"csat_good_bad_ratio", "CSAT good/bad ratio (article)", "CSAT-Verhältnis gut/schlecht (Artikel)",
     "The article's formula: good answers (4-5) per bad answer (1-2), in percent",
     "100 × good / bad", U::kScore,
     "The article's ratio of good to bad answers, in percent: 100 × answers of 4–5 / answers of 1–2.",
     "Das Verhältnis guter zu schlechten Antworten aus dem Artikel, in Prozent: 100 × Antworten mit 4–5 / Antworten mit 1–2."},
    {"ces", "Customer effort score", "Customer Effort Score", "Mean of the CES answers (1-7) in the period",
     "mean of answers", U::kScore,
     "How easy customers found it to get things done, on a scale from 1 to 7: the mean of the CES answers in the period.",
     "Wie leicht es Kunden fiel, ihr Anliegen zu erledigen, auf einer Skala von 1 bis 7: der Mittelwert der CES-Antworten im Zeitraum."},
};

// Midnight `days` calendar days before the local date of t (t is a period boundary, so a
// local midnight): the start of the activity window ending at t.
Timestamp DaysBefore(const TimeZone& zone, Timestamp t, int days) {
  return zone.StartOfDay(CivilFromDays(DaysFromCivil(zone.LocalDate(t)) - days));
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
  FeedbackSums feedback;  // the survey answers in [start, end), when the options have a source
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

// One pass over the customers for all ranges. Every instant that matters (range starts and
// ends, activity-window starts) is sorted once; for each customer one merge walk over their
// orders, refunds and MRR points gives, at each instant, the orders, order total and refunds
// before it and the MRR at it, so each range is a few subtractions. The customers are split
// over two threads.
std::vector<Analytics::Stats> Analytics::GatherMany(
    const std::vector<std::pair<Timestamp, Timestamp>>& ranges, const KpiOptions& o) const {
  const Snapshot& s = *snap_;
  const std::size_t n_ranges = ranges.size();
  std::vector<std::int64_t> instants;
  for (const auto& [start, end] : ranges) {
    instants.push_back(start.micros);
    instants.push_back(end.micros);
    instants.push_back(DaysBefore(zone_, start, o.window_days).micros);
    instants.push_back(DaysBefore(zone_, end, o.window_days).micros);
  }
  std::sort(instants.begin(), instants.end());
  instants.erase(std::unique(instants.begin(), instants.end()), instants.end());
  auto slot = [&](std::int64_t t) {
    return static_cast<std::size_t>(std::lower_bound(instants.begin(), instants.end(), t) - instants.begin());
  };
  struct RangeSlots {
    std::size_t s, e, ws, we;
  };
  std::vector<RangeSlots> rs;
  for (const auto& [start, end] : ranges) {
    rs.push_back({slot(start.micros), slot(end.micros),
                  slot(DaysBefore(zone_, start, o.window_days).micros),
                  slot(DaysBefore(zone_, end, o.window_days).micros)});
  }
  const bool purchases = o.basis != RetentionBasis::kSubscriptions;
  const bool subscriptions = o.basis != RetentionBasis::kPurchases;
  const std::size_t k = instants.size();

  auto run = [&](Snapshot::Index from, Snapshot::Index to, std::vector<Stats>& out) {
    out.assign(n_ranges, Stats{});
    std::vector<std::int64_t> n_before(k), total_before(k), refund_before(k), mrr(k);
    for (Snapshot::Index c = from; c < to; ++c) {
      if (o.customers != nullptr && (c >= o.customers->size() || !(*o.customers)[c])) continue;
      const auto times = s.order_times(c);
      const auto totals = s.order_totals(c);
      const auto rt = s.refund_times(c);
      const auto ra = s.refund_amounts(c);
      const auto mt = s.mrr_times(c);
      const auto mv = s.mrr_values(c);
      if (times.empty() && mt.empty() && rt.empty()) continue;  // never active: counts nowhere
      // The merge walk.
      std::size_t oi = 0, ri = 0, mi = 0;
      std::int64_t total = 0, refunded = 0, m = 0;
      for (std::size_t i = 0; i < k; ++i) {
        const std::int64_t t = instants[i];
        while (oi < times.size() && times[oi] < t) total += totals[oi++];
        while (ri < rt.size() && rt[ri] < t) refunded += ra[ri++];
        while (mi < mt.size() && mt[mi] <= t) m = mv[mi++];
        n_before[i] = static_cast<std::int64_t>(oi);
        total_before[i] = total;
        refund_before[i] = refunded;
        mrr[i] = m;
      }
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
        const RangeSlots& x = rs[r];
        const std::int64_t m0 = mrr[x.s], m1 = mrr[x.e];
        const bool a0 = (purchases && n_before[x.s] > n_before[x.ws]) || (subscriptions && m0 > 0);
        const bool a1 = (purchases && n_before[x.e] > n_before[x.we]) || (subscriptions && m1 > 0);
        st.active_start += a0;
        st.active_end += a1;
        st.active_both += a0 && a1;
        st.new_customers += first && *first >= instants[x.s] && *first < instants[x.e];
        const std::int64_t n = n_before[x.e] - n_before[x.s];
        if (n > 0) {
          ++st.buyers;
          st.repeat_buyers += n >= 2;
          st.orders += n;
          st.order_total += total_before[x.e] - total_before[x.s];
        }
        st.refunds += refund_before[x.e] - refund_before[x.s];
        if (mt.empty()) continue;
        MrrMovements& mm = st.mrr;
        mm.mrr_start += m0;
        mm.mrr_end += m1;
        mm.accounts_start += m0 > 0;
        mm.accounts_end += m1 > 0;
        if (m0 == 0 && m1 > 0) {
          (first_mrr && *first_mrr < instants[x.s] ? mm.reactivation : mm.new_mrr) += m1;
        } else if (m0 > 0 && m1 == 0) {
          mm.churn += m0;
        } else if (m0 > 0 && m1 > m0) {
          mm.expansion += m1 - m0;
        } else if (m1 > 0 && m1 < m0) {
          mm.contraction += m0 - m1;
        }
      }
    }
  };
  const auto n = static_cast<Snapshot::Index>(s.customers());
  std::vector<Stats> first_half, second_half;
  if (n < 20000) {
    run(0, n, first_half);
  } else {
    std::thread other([&] { run(n / 2, n, second_half); });
    run(0, n / 2, first_half);
    other.join();
    for (std::size_t r = 0; r < n_ranges; ++r) {
      Stats& a = first_half[r];
      const Stats& b = second_half[r];
      a.active_start += b.active_start;
      a.active_end += b.active_end;
      a.active_both += b.active_both;
      a.new_customers += b.new_customers;
      a.buyers += b.buyers;
      a.repeat_buyers += b.repeat_buyers;
      a.orders += b.orders;
      a.order_total += b.order_total;
      a.refunds += b.refunds;
      a.mrr.mrr_start += b.mrr.mrr_start;
      a.mrr.mrr_end += b.mrr.mrr_end;
      a.mrr.new_mrr += b.mrr.new_mrr;
      a.mrr.reactivation += b.mrr.reactivation;
      a.mrr.expansion += b.mrr.expansion;
      a.mrr.contraction += b.mrr.contraction;
      a.mrr.churn += b.mrr.churn;
      a.mrr.accounts_start += b.mrr.accounts_start;
      a.mrr.accounts_end += b.mrr.accounts_end;
    }
  }
  for (std::size_t r = 0; r < n_ranges; ++r) {
    first_half[r].start = ranges[r].first;
    first_half[r].end = ranges[r].second;
  }
  return first_half;
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
    if (o.feedback != nullptr) stats[i].feedback = o.feedback->Sum(stats[i].start, stats[i].end, o.customers);
    std::vector<KpiResult> row;
    for (const auto& def : kRegistry) row.push_back(Derive(def, periods[i], stats[i], o));
    out.push_back(std::move(row));
  }
  return out;
}

Result<KpiResult> Analytics::Compute(std::string_view id, const Period& p, const KpiOptions& o) const {
  const KpiDefinition* def = FindKpi(id);
  if (def == nullptr) return InvalidArgument("kpi", "'" + std::string(id) + "' is not a metric; see treu kpi --list");
  Stats st = Gather(p.Start(zone_), p.End(zone_), o);
  if (o.feedback != nullptr) st.feedback = o.feedback->Sum(st.start, st.end, o.customers);
  return Derive(*def, p, st, o);
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
    // Today's predictions, whatever the period: the models look forward from now.
    double sum = 0;
    std::int64_t n = 0;
    if (o.clv_12m != nullptr) {
      for (std::size_t c = 0; c < o.clv_12m->size(); ++c) {
        if (o.customers != nullptr && (c >= o.customers->size() || !(*o.customers)[c])) continue;
        const double v = (*o.clv_12m)[c];
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
      }
    }
    r.inputs = {{"customers", count(n)}};
    if (o.clv_12m == nullptr) {
      r.null_reason = "no fitted models yet: run `treu fit all` (a purchase model and gamma_gamma)";
    } else if (n == 0) {
      r.null_reason = "no customer with a purchase history";
    } else {
      r.value = KpiNumber::MoneyAverage(sum / static_cast<double>(n));
    }
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
    const FeedbackSums& f = st.feedback;
    auto percent = [&](double num, std::int64_t den, std::string reason) {
      ratio(den > 0 ? std::optional<double>(100.0 * num / static_cast<double>(den)) : std::nullopt, std::move(reason));
    };
    if (id == "nps") {
      r.inputs = {{"promoters", count(f.promoters)}, {"detractors", count(f.detractors)},
                  {"answers", count(f.nps_answers)}};
      percent(static_cast<double>(f.promoters - f.detractors), f.nps_answers, "no NPS answers in the period");
    } else if (id == "csat") {
      r.inputs = {{"good", count(f.csat_good)}, {"answers", count(f.csat_answers)}};
      percent(static_cast<double>(f.csat_good), f.csat_answers, "no CSAT answers in the period");
    } else if (id == "csat_good_bad_ratio") {
      r.inputs = {{"good", count(f.csat_good)}, {"bad", count(f.csat_bad)}};
      percent(static_cast<double>(f.csat_good), f.csat_bad,
              f.csat_answers > 0 ? "no bad CSAT answers (1-2) in the period" : "no CSAT answers in the period");
    } else {
      r.inputs = {{"answers", count(f.ces_answers)}};
      ratio(f.ces_answers > 0 ? std::optional<double>(f.ces_total / static_cast<double>(f.ces_answers)) : std::nullopt,
            "no CES answers in the period");
    }
  }
  return r;
}

Result<std::vector<CohortRow>> Cohorts(const Analytics& a, const CohortOptions& c, const KpiOptions& o) {
  TREU_ASSIGN_OR_RETURN(CohortMatrices m, CohortsBoth(a, c, o));
  return c.revenue ? std::move(m.revenue) : std::move(m.customers);
}

namespace {

// The periods of a cohort matrix and each customer's first activity (kNoCohort: none, or not
// among the customers of the options).
constexpr std::int64_t kNoCohort = std::numeric_limits<std::int64_t>::min();
struct CohortGrid {
  std::vector<Period> periods;  // from the first cohort to the period of the latest activity
  std::vector<std::int64_t> starts, ends;
  std::vector<std::int64_t> first_of;  // by snapshot index
  int PeriodIndex(std::int64_t t) const {
    return static_cast<int>(std::upper_bound(starts.begin(), starts.end(), t) - starts.begin()) - 1;
  }
};

// nullopt when no customer has activity.
std::optional<CohortGrid> GridOf(const Analytics& a, const CohortOptions& c, const KpiOptions& o) {
  const Snapshot& s = a.snapshot();
  const TimeZone& zone = a.zone();
  const bool purchases = o.basis != RetentionBasis::kSubscriptions;
  const bool subscriptions = o.basis != RetentionBasis::kPurchases;
  const auto n = static_cast<Snapshot::Index>(s.customers());
  CohortGrid g;
  g.first_of.assign(n, kNoCohort);
  std::optional<std::int64_t> earliest, latest;
  for (Snapshot::Index i = 0; i < n; ++i) {
    if (o.customers != nullptr && (i >= o.customers->size() || !(*o.customers)[i])) continue;
    const auto times = s.order_times(i);
    std::optional<std::int64_t> first;
    std::optional<std::int64_t> last;
    if (purchases && !times.empty()) {
      first = times.front();
      last = times.back();
      if (!s.refund_times(i).empty()) last = std::max(*last, s.refund_times(i).back());
    }
    if (subscriptions) {
      const auto mt = s.mrr_times(i);
      const auto mv = s.mrr_values(i);
      for (std::size_t j = 0; j < mt.size(); ++j) {
        if (mv[j] > 0) {
          if (!first || mt[j] < *first) first = mt[j];
          break;
        }
      }
      // The last change to a positive MRR; an end (possibly scheduled later) isn't activity.
      for (std::size_t j = mt.size(); j-- > 0;) {
        if (mv[j] > 0) {
          last = last ? std::max(*last, mt[j]) : mt[j];
          break;
        }
      }
    }
    if (!first) continue;
    g.first_of[i] = *first;
    earliest = earliest ? std::min(*earliest, *first) : *first;
    if (last) latest = latest ? std::max(*latest, *last) : *last;
  }
  if (!earliest) return std::nullopt;
  const Period first_cohort = Period::Containing(c.by, zone.LocalDate(Timestamp{*earliest}));
  const Period last_period =
      Period::Containing(c.by, zone.LocalDate(Timestamp{std::max(*latest, *earliest)}));
  g.periods.push_back(first_cohort);
  while (g.periods.back().first_day() < last_period.first_day()) {
    g.periods.push_back(first_cohort.Shift(static_cast<int>(g.periods.size())));
  }
  for (const auto& p : g.periods) {
    g.starts.push_back(p.Start(zone).micros);
    g.ends.push_back(p.End(zone).micros);
  }
  return g;
}

// The activity of customer i in the grid's periods: mark(k) for each period k it was active in
// (possibly more than once), money(k, minor) for its revenue (or, on the subscription basis,
// its MRR units at the period's end) in period k.
template <typename Mark, typename AddMoney>
void VisitCohortCustomer(const Snapshot& s, const CohortGrid& g, const KpiOptions& o, Snapshot::Index i, Mark mark,
                         AddMoney money) {
  const bool purchases = o.basis != RetentionBasis::kSubscriptions;
  const bool subscriptions = o.basis != RetentionBasis::kPurchases;
  const int periods = static_cast<int>(g.periods.size());
  if (purchases) {
    const auto times = s.order_times(i);
    const auto totals = s.order_totals(i);
    int k = -1;
    for (std::size_t j = 0; j < times.size(); ++j) {
      // Orders are sorted: advance the period index instead of searching.
      while (k + 1 < periods && g.starts[static_cast<std::size_t>(k + 1)] <= times[j]) ++k;
      if (k < 0) continue;
      mark(k);
      money(k, totals[j]);
    }
    const auto rt = s.refund_times(i);
    const auto ra = s.refund_amounts(i);
    for (std::size_t j = 0; j < rt.size(); ++j) {
      const int kr = g.PeriodIndex(rt[j]);
      if (kr >= 0) money(kr, -ra[j]);
    }
  }
  if (subscriptions && !s.mrr_times(i).empty()) {
    for (int k = 0; k < periods; ++k) {
      const std::int64_t m = s.MrrAt(i, Timestamp{g.ends[static_cast<std::size_t>(k)]});
      if (m > 0) mark(k);
      if (o.basis == RetentionBasis::kSubscriptions) money(k, m);
    }
  }
}

}  // namespace

Result<CohortMatrices> CohortsBoth(const Analytics& a, const CohortOptions& c, const KpiOptions& o) {
  if (c.by != PeriodKind::kMonth && c.by != PeriodKind::kQuarter && c.by != PeriodKind::kWeek) {
    return InvalidArgument("by", "must be month, quarter or week");
  }
  const Snapshot& s = a.snapshot();
  const auto n = static_cast<Snapshot::Index>(s.customers());
  CohortMatrices out;
  const std::optional<CohortGrid> grid = GridOf(a, c, o);
  if (!grid) return out;
  const CohortGrid& g = *grid;
  const std::vector<Period>& period_list = g.periods;
  const int periods = static_cast<int>(period_list.size());
  // Per cohort: size, and per period the active customers and the revenue (or MRR).
  struct Acc {
    std::int64_t size = 0;
    std::vector<std::int64_t> active, money;
  };
  const auto np = static_cast<std::size_t>(periods);
  auto accumulate = [&](Snapshot::Index from, Snapshot::Index to, std::vector<Acc>& acc) {
    acc.assign(np, Acc{0, std::vector<std::int64_t>(np, 0), std::vector<std::int64_t>(np, 0)});
    // seen[k] == stamp: the customer being visited was active in period k (no clearing).
    std::vector<std::uint32_t> seen(np, 0);
    std::uint32_t stamp = 0;
    for (Snapshot::Index i = from; i < to; ++i) {
      if (g.first_of[i] == kNoCohort) continue;
      const int ci = g.PeriodIndex(g.first_of[i]);
      Acc& a0 = acc[static_cast<std::size_t>(ci)];
      ++a0.size;
      ++stamp;
      VisitCohortCustomer(
          s, g, o, i,
          [&](int k) {
            if (seen[static_cast<std::size_t>(k)] != stamp) {
              seen[static_cast<std::size_t>(k)] = stamp;
              ++a0.active[static_cast<std::size_t>(k)];
            }
          },
          [&](int k, std::int64_t m) { a0.money[static_cast<std::size_t>(k)] += m; });
    }
  };
  std::vector<Acc> acc, other_acc;
  if (n < 20000) {
    accumulate(0, n, acc);
  } else {
    std::thread other([&] { accumulate(n / 2, n, other_acc); });
    accumulate(0, n / 2, acc);
    other.join();
    for (std::size_t ci = 0; ci < np; ++ci) {
      acc[ci].size += other_acc[ci].size;
      for (std::size_t k = 0; k < np; ++k) {
        acc[ci].active[k] += other_acc[ci].active[k];
        acc[ci].money[k] += other_acc[ci].money[k];
      }
    }
  }
  for (std::size_t ci = 0; ci < np; ++ci) {
    const Acc& a0 = acc[ci];
    if (a0.size == 0) continue;
    const Period& cp = period_list[ci];
    if (c.from && cp.first_day() < c.from->first_day()) continue;
    if (c.to && cp.first_day() > c.to->last_day()) continue;
    CohortRow customers, revenue;
    customers.cohort = revenue.cohort = cp;
    customers.size = revenue.size = a0.size;
    const std::int64_t base = a0.money[ci];
    for (std::size_t k = ci; k < np; ++k) {
      customers.values.push_back(static_cast<double>(a0.active[k]) / static_cast<double>(a0.size));
      revenue.values.push_back(base > 0 ? std::optional(static_cast<double>(a0.money[k]) / static_cast<double>(base))
                                        : std::nullopt);
    }
    out.customers.push_back(std::move(customers));
    out.revenue.push_back(std::move(revenue));
  }
  return out;
}

Result<std::vector<CohortMember>> CohortCellMembers(const Analytics& a, const CohortOptions& c, const KpiOptions& o,
                                                    const Period& cohort, int offset) {
  if (c.by != PeriodKind::kMonth && c.by != PeriodKind::kQuarter && c.by != PeriodKind::kWeek) {
    return InvalidArgument("by", "must be month, quarter or week");
  }
  if (cohort.kind() != c.by) return InvalidArgument("cohort", "is not a period of the matrix's kind (by)");
  if (offset < 0) return InvalidArgument("offset", "must be 0 or more");
  std::vector<CohortMember> out;
  const std::optional<CohortGrid> grid = GridOf(a, c, o);
  if (!grid) return out;
  const CohortGrid& g = *grid;
  const auto found = std::find_if(g.periods.begin(), g.periods.end(),
                                  [&](const Period& p) { return p.first_day() == cohort.first_day(); });
  if (found == g.periods.end()) return out;
  const int ci = static_cast<int>(found - g.periods.begin());
  const int cell = ci + offset;
  if (cell >= static_cast<int>(g.periods.size())) return out;
  const Snapshot& s = a.snapshot();
  const auto n = static_cast<Snapshot::Index>(s.customers());
  for (Snapshot::Index i = 0; i < n; ++i) {
    if (g.first_of[i] == kNoCohort || g.PeriodIndex(g.first_of[i]) != ci) continue;
    bool active = false;
    std::int64_t money = 0;
    VisitCohortCustomer(
        s, g, o, i, [&](int k) { active = active || k == cell; },
        [&](int k, std::int64_t m) {
          if (k == cell) money += m;
        });
    if (o.basis == RetentionBasis::kSubscriptions) money = MrrUnitsToMinor(money);
    if (c.revenue ? money != 0 : active) out.push_back({i, money});
  }
  return out;
}

}  // namespace treu
