#include "loyalty/report.hpp"

#include <algorithm>
#include <limits>

namespace treu::loyalty {
namespace {

void Count(PointsFlow& f, const LoyaltyFlowRow& t) {
  if (t.kind == "earn" || t.kind == "adjust_credit") {
    f.issued += t.points;
  } else if (t.kind == "reverse_earn" || t.kind == "cancel") {
    f.reversed += t.points;
  } else if (t.kind == "redeem" || t.kind == "confirm") {
    f.redeemed += t.points;
  } else if (t.kind == "reverse_debit") {
    // Given back: a redemption (or a debit adjustment) undone.
    if (t.from_account == "redemption") {
      f.redeemed -= t.points;
    } else {
      f.debited -= t.points;
    }
  } else if (t.kind == "expire") {
    f.expired += t.points;
  } else if (t.kind == "adjust_debit") {
    f.debited += t.points;
  }
}

}  // namespace

Result<LoyaltyReport> BuildReport(Store& store, WorkspaceId ws, Timestamp from, Timestamp to,
                                  const std::vector<std::pair<std::string, std::pair<Timestamp, Timestamp>>>& periods,
                                  const std::vector<std::string>& tiers) {
  LoyaltyReport r;
  for (const std::string& t : tiers) r.tiers.emplace_back(t, 0);
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListLoyaltyMembers(ws, after, 1000));
    if (page.empty()) break;
    for (const LoyaltyMember& m : page) {
      ++r.members;
      r.available += m.available;
      r.pending += m.pending;
      r.held += m.held;
      auto it = std::find_if(r.tiers.begin(), r.tiers.end(), [&](const auto& t) { return t.first == m.tier; });
      if (it != r.tiers.end()) ++it->second;
      after = m.customer.value;
    }
  }
  r.liability = r.available + r.pending + r.held;
  r.total.period = "total";
  for (const auto& [label, range] : periods) r.flows.push_back(PointsFlow{label});
  // One pass over every transfer: all time (breakage), [from, to) and its periods.
  PointsFlow all;
  TREU_RETURN_IF_ERROR(store.ScanLoyaltyFlows(ws, [&](const LoyaltyFlowRow& t) {
    Count(all, t);
    if (t.at < from || t.at >= to) return;
    Count(r.total, t);
    for (std::size_t i = 0; i < periods.size(); ++i) {
      if (t.at >= periods[i].second.first && t.at < periods[i].second.second) Count(r.flows[i], t);
    }
  }));
  const std::int64_t net_issued = r.total.issued - r.total.reversed;
  if (net_issued > 0) r.redemption_rate = static_cast<double>(r.total.redeemed) / static_cast<double>(net_issued);
  if (all.expired + all.redeemed > 0) {
    r.breakage_rate = static_cast<double>(all.expired) / static_cast<double>(all.expired + all.redeemed);
  }
  r.expected_breakage = static_cast<std::int64_t>(static_cast<double>(r.liability) * r.breakage_rate + 0.5);
  return r;
}

}  // namespace treu::loyalty
