#include "loyalty/tiers.hpp"

namespace treu::loyalty {
namespace {

constexpr Timestamp Plus(Timestamp t, std::int64_t micros) { return {t.micros + micros}; }

}  // namespace

std::string QualifyingTier(const Program& p, std::int64_t earned) {
  std::string best;
  for (const Tier& t : p.tiers) {
    if (earned >= t.threshold) best = t.name;
  }
  return best;
}

int TierRank(const Program& p, const std::string& tier) {
  for (std::size_t i = 0; i < p.tiers.size(); ++i) {
    if (p.tiers[i].name == tier) return static_cast<int>(i);
  }
  return -1;
}

TierState InitialTier(const Program& p, Timestamp at) {
  TierState s;
  s.tier = p.tiers.empty() ? std::string() : p.tiers.front().name;
  s.since = at;
  return s;
}

std::vector<TierChange> AdvanceTier(const Program& p, TierState& state, Timestamp now, const EarnedIn& earned) {
  std::vector<TierChange> changes;
  if (p.tiers.empty()) {
    // Without tiers nothing changes, so `since` stays (it is when the member last changed tier).
    if (!state.tier.empty()) {
      changes.push_back({state.tier, "", now, "review"});
      state.tier.clear();
      state.since = now;
    }
    state.review_at.reset();
    return changes;
  }
  const std::int64_t window = p.tier_window_days * kMicrosPerDay;
  auto move = [&](const std::string& to, Timestamp at, const char* reason) {
    changes.push_back({state.tier, to, at, reason});
    state.tier = to;
    state.since = at;
  };
  // A tier the program no longer has: re-qualify at once.
  if (TierRank(p, state.tier) < 0) {
    move(QualifyingTier(p, earned(Plus(now, 1 - window), Plus(now, 1))), now, "review");
    state.review_at = TierRank(p, state.tier) > 0 ? std::optional(Plus(now, window)) : std::nullopt;
    return changes;
  }
  while (state.review_at && *state.review_at <= now) {
    const Timestamp review = *state.review_at;
    const std::string q = QualifyingTier(p, earned(Plus(review, -window), review));
    if (TierRank(p, q) != TierRank(p, state.tier)) move(q, review, "review");
    state.review_at = TierRank(p, state.tier) > 0 ? std::optional(Plus(review, window)) : std::nullopt;
  }
  const std::string q = QualifyingTier(p, earned(Plus(now, 1 - window), Plus(now, 1)));
  if (TierRank(p, q) > TierRank(p, state.tier)) {
    move(q, now, "upgrade");
    state.review_at = Plus(now, window);
  }
  return changes;
}

}  // namespace treu::loyalty
