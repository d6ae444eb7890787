#include "analytics/customer_table.hpp"

#include <array>
#include <optional>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace treu {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Builds a string column one value at a time.
class StringColumn {
 public:
  explicit StringColumn(std::size_t n) { column_.type = ColumnType::kString, column_.codes.assign(n, -1); }
  void Set(std::size_t c, const std::string& value) {
    auto [it, added] = index_.try_emplace(value, static_cast<std::int32_t>(column_.dictionary.size()));
    if (added) column_.dictionary.push_back(value);
    column_.codes[c] = it->second;
  }
  Column Take() { return std::move(column_); }

 private:
  Column column_;
  std::unordered_map<std::string, std::int32_t> index_;
};

Column Numbers(std::size_t n, ColumnType type = ColumnType::kNumber) {
  Column c;
  c.type = type;
  c.numbers.assign(n, kNaN);
  return c;
}

Column Times(std::size_t n) {
  Column c;
  c.type = ColumnType::kTime;
  c.times.assign(n, kNullTime);
  return c;
}

Column Bools(std::size_t n) {
  Column c;
  c.type = ColumnType::kBool;
  c.bools.assign(n, -1);
  return c;
}

}  // namespace

std::string_view ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kString: return "string";
    case ColumnType::kNumber: return "number";
    case ColumnType::kMoney: return "money";
    case ColumnType::kTime: return "time";
    case ColumnType::kBool: return "bool";
  }
  return "unknown";
}

bool Column::IsNull(std::size_t c) const {
  switch (type) {
    case ColumnType::kString: return codes[c] < 0;
    case ColumnType::kNumber:
    case ColumnType::kMoney: return std::isnan(numbers[c]);
    case ColumnType::kTime: return times[c] == kNullTime;
    case ColumnType::kBool: return bools[c] < 0;
  }
  return true;
}

const Column* CustomerTable::Find(std::string_view name) const {
  auto it = columns.find(name);
  return it == columns.end() ? nullptr : &it->second;
}

Column ColumnOfValues(std::size_t rows, const std::vector<std::pair<std::uint32_t, AttributeValue>>& values) {
  if (values.empty()) return Bools(rows);
  const AttributeType first = TypeOf(values.front().second);
  const bool mixed = std::any_of(values.begin(), values.end(), [&](const auto& v) { return TypeOf(v.second) != first; });
  if (mixed || first == AttributeType::kString) {
    StringColumn col(rows);
    for (const auto& [c, v] : values) col.Set(c, mixed ? FormatAttributeValue(v) : std::get<std::string>(v));
    return col.Take();
  }
  if (first == AttributeType::kNumber) {
    Column col = Numbers(rows);
    for (const auto& [c, v] : values) col.numbers[c] = std::get<double>(v);
    return col;
  }
  if (first == AttributeType::kBool) {
    Column col = Bools(rows);
    for (const auto& [c, v] : values) col.bools[c] = std::get<bool>(v) ? 1 : 0;
    return col;
  }
  Column col = Times(rows);
  for (const auto& [c, v] : values) col.times[c] = std::get<Timestamp>(v).micros;
  return col;
}

Result<CustomerTable> BuildCustomerTable(Store& store, const Snapshot& s,
                                         const CustomerPredictions* predictions, Timestamp now,
                                         const std::function<void(Snapshot::Index, const Customer&)>& each) {
  const std::size_t n = s.customers();
  const double minor = std::pow(10.0, s.currency().exponent());
  CustomerTable t;
  t.customers = n;
  t.as_of = now;
  std::unordered_map<std::int64_t, Snapshot::Index> by_id;
  by_id.reserve(n);
  for (Snapshot::Index c = 0; c < n; ++c) by_id.emplace(s.customer_id(c).value, c);

  // Profile, consent and attributes.
  StringColumn email(n), country(n), locale(n);
  Column created = Times(n);
  // consent.<channel>, by the channel's position in kAllChannels; made on its first value.
  std::array<std::optional<Column>, std::size(kAllChannels)> consent;
  // Attributes: each value with its type, then one column per name.
  std::map<std::string, std::vector<std::pair<std::uint32_t, AttributeValue>>> attributes;
  TREU_RETURN_IF_ERROR(store.ScanCustomers(s.workspace().id, [&](const Customer& cu) {
    auto it = by_id.find(cu.id.value);
    if (it == by_id.end()) return;  // newer than the snapshot
    const Snapshot::Index c = it->second;
    if (each) each(c, cu);
    if (!cu.email.empty()) email.Set(c, cu.email);
    if (!cu.country.empty()) country.Set(c, cu.country);
    if (!cu.locale.empty()) locale.Set(c, cu.locale);
    created.times[c] = cu.created_at.micros;
    for (const auto& [channel, given] : cu.consent) {
      auto& col = consent[static_cast<std::size_t>(channel)];
      if (!col) col = Bools(n);
      col->bools[c] = given.granted ? 1 : 0;
    }
    for (const auto& [name, value] : cu.attributes) attributes["attributes." + name].emplace_back(c, value);
  }));
  t.columns["email"] = email.Take();
  t.columns["country"] = country.Take();
  t.columns["locale"] = locale.Take();
  t.columns["created_at"] = std::move(created);
  for (Channel channel : kAllChannels) {
    auto& col = consent[static_cast<std::size_t>(channel)];
    if (col) t.columns["consent." + std::string(ChannelName(channel))] = std::move(*col);
  }
  for (auto& [name, values] : attributes) t.columns[name] = ColumnOfValues(n, values);

  // Purchase aggregates up to now: completed (and later refunded) orders, net of refunds.
  Column orders = Numbers(n), revenue = Numbers(n, ColumnType::kMoney), aov = Numbers(n, ColumnType::kMoney);
  Column first = Times(n), last = Times(n), since = Numbers(n);
  for (Snapshot::Index c = 0; c < n; ++c) {
    const auto times = s.order_times(c), totals = s.order_totals(c);
    std::int64_t count = 0, total = 0;
    for (std::size_t i = 0; i < times.size() && times[i] <= now.micros; ++i) {
      ++count;
      total += totals[i];
      if (i == 0) first.times[c] = times[i];
      last.times[c] = times[i];
    }
    const auto refund_times = s.refund_times(c), refunds = s.refund_amounts(c);
    for (std::size_t i = 0; i < refund_times.size() && refund_times[i] <= now.micros; ++i) total -= refunds[i];
    orders.numbers[c] = static_cast<double>(count);
    revenue.numbers[c] = static_cast<double>(total) / minor;
    if (count > 0) {
      aov.numbers[c] = revenue.numbers[c] / static_cast<double>(count);
      since.numbers[c] = std::floor(static_cast<double>(now.micros - last.times[c]) / kMicrosPerDay);
    }
  }
  // Where each buying customer's revenue ranks: the share with strictly less revenue.
  Column percentile = Numbers(n);
  {
    std::vector<double> sorted;
    for (Snapshot::Index c = 0; c < n; ++c) {
      if (orders.numbers[c] > 0) sorted.push_back(revenue.numbers[c]);
    }
    std::sort(sorted.begin(), sorted.end());
    for (Snapshot::Index c = 0; c < n; ++c) {
      if (orders.numbers[c] <= 0) continue;
      const auto below = std::lower_bound(sorted.begin(), sorted.end(), revenue.numbers[c]) - sorted.begin();
      percentile.numbers[c] = 100.0 * static_cast<double>(below) / static_cast<double>(sorted.size());
    }
  }
  t.columns["revenue_percentile"] = std::move(percentile);
  t.columns["orders_count"] = std::move(orders);
  t.columns["revenue_total"] = std::move(revenue);
  t.columns["average_order_value"] = std::move(aov);
  t.columns["first_order_at"] = std::move(first);
  t.columns["last_order_at"] = std::move(last);
  t.columns["days_since_last_order"] = std::move(since);

  // Subscriptions: MRR now, tenure since the first MRR, plan and status of the newest
  // subscription's state in force now.
  Column mrr = Numbers(n, ColumnType::kMoney), tenure = Numbers(n);
  for (Snapshot::Index c = 0; c < n; ++c) {
    const auto start = s.FirstMrr(c);
    if (!start) continue;
    mrr.numbers[c] = static_cast<double>(MrrUnitsToMinor(s.MrrAt(c, now))) / minor;
    if (start->micros <= now.micros) tenure.numbers[c] = std::floor(static_cast<double>(now.micros - start->micros) / kMicrosPerDay);
  }
  StringColumn plan(n), status(n);
  std::vector<std::int64_t> plan_since(n, kNullTime);  // the start of the subscription shown
  TREU_RETURN_IF_ERROR(store.ScanSubscriptions(s.workspace().id, [&](const Subscription& sub) {
    auto it = by_id.find(sub.customer.value);
    if (it == by_id.end() || sub.started_at.micros > now.micros) return;
    const Snapshot::Index c = it->second;
    if (sub.started_at.micros < plan_since[c]) return;
    const SubscriptionState* state = nullptr;
    for (const SubscriptionState& st : sub.history) {
      if (st.effective_at.micros <= now.micros) state = &st;
    }
    if (state == nullptr) return;
    plan_since[c] = sub.started_at.micros;
    plan.Set(c, state->plan);
    const bool ended = sub.ended_at && sub.ended_at->micros <= now.micros;
    status.Set(c, ended ? "canceled" : std::string(SubscriptionStatusName(state->status)));
  }));
  t.columns["mrr"] = std::move(mrr);
  t.columns["tenure_days"] = std::move(tenure);
  t.columns["plan"] = plan.Take();
  t.columns["subscription_status"] = status.Take();

  // Feedback: each customer's latest NPS answer (of any survey) up to now.
  Column nps_score = Numbers(n);
  StringColumn nps_category(n);
  TREU_ASSIGN_OR_RETURN(const std::vector<NpsScore> nps, store.LatestNpsScores(s.workspace().id, now));
  for (const NpsScore& a : nps) {
    auto it = by_id.find(a.customer.value);
    if (it == by_id.end()) continue;
    nps_score.numbers[it->second] = a.score;
    nps_category.Set(it->second, a.category);
  }
  t.columns["nps_last_score"] = std::move(nps_score);
  t.columns["nps_category"] = nps_category.Take();

  if (predictions != nullptr) {
    Column alive = Numbers(n), e90 = Numbers(n), clv = Numbers(n, ColumnType::kMoney);
    Column r = Numbers(n), f = Numbers(n), m = Numbers(n);
    StringColumn segment(n);
    for (Snapshot::Index c = 0; c < n && c < predictions->p_alive.size(); ++c) {
      alive.numbers[c] = predictions->p_alive[c];
      e90.numbers[c] = predictions->expected_purchases_90d[c];
      clv.numbers[c] = predictions->clv_12m[c];
      if (predictions->rfm_segment[c]) {
        r.numbers[c] = predictions->rfm_r[c];
        f.numbers[c] = predictions->rfm_f[c];
        m.numbers[c] = predictions->rfm_m[c];
        segment.Set(c, std::string(RfmSegmentName(*predictions->rfm_segment[c])));
      }
    }
    t.columns["p_alive"] = std::move(alive);
    t.columns["expected_purchases_90d"] = std::move(e90);
    t.columns["clv_12m"] = std::move(clv);
    t.columns["rfm_r"] = std::move(r);
    t.columns["rfm_f"] = std::move(f);
    t.columns["rfm_m"] = std::move(m);
    t.columns["rfm_segment"] = segment.Take();
  }
  return t;
}

}  // namespace treu
