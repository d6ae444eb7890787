// The program's numbers: what is outstanding (the points liability), what was issued, redeemed
// and expired per period, the expected breakage, members per tier and the redemption rate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/period.hpp"
#include "core/status.hpp"
#include "storage/store.hpp"

namespace treu::loyalty {

struct PointsFlow {
  std::string period;         // the period's label ("2026-11"), or "total"
  std::int64_t issued = 0;    // earned (incl. pending) and credit adjustments
  std::int64_t reversed = 0;  // given back to issuance: refunds, cancellations
  std::int64_t redeemed = 0;  // spent on rewards or redeemed directly, net of reversed redemptions
  std::int64_t expired = 0;
  std::int64_t debited = 0;   // debit adjustments
};

struct LoyaltyReport {
  std::int64_t members = 0;
  std::int64_t available = 0;  // the liability: available + pending + held
  std::int64_t pending = 0;
  std::int64_t held = 0;
  std::int64_t liability = 0;
  std::vector<PointsFlow> flows;  // per period in [from, to), oldest first
  PointsFlow total;               // over [from, to)
  // redeemed ÷ (issued − reversed) over [from, to); 0 when nothing was issued.
  double redemption_rate = 0;
  // Of the points that left customers for good over all time, the share that expired
  // (expired ÷ (expired + redeemed)); 0 before anything left.
  double breakage_rate = 0;
  // The liability × breakage rate: the points expected never to be redeemed.
  std::int64_t expected_breakage = 0;
  std::vector<std::pair<std::string, std::int64_t>> tiers;  // members per tier, in program order
};

// `periods`: the periods of [from, to) to break the flows down by (may be empty); `tiers`: the
// program's tier names in order.
Result<LoyaltyReport> BuildReport(Store& store, WorkspaceId ws, Timestamp from, Timestamp to,
                                  const std::vector<std::pair<std::string, std::pair<Timestamp, Timestamp>>>& periods,
                                  const std::vector<std::string>& tiers);

}  // namespace treu::loyalty
