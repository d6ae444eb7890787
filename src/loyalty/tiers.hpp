// Tiers: a member's level follows the points they *earned* in a qualifying window (never their
// balance, so spending points doesn't cost a tier):
// - upgrade at once: whenever the points earned in the window ending now reach a higher tier's
//   threshold, the member moves up, and the tier is kept for one window from then;
// - review at the end of that window: the member keeps the tier when the points earned within
//   it (since the tier was reached or last confirmed) still qualify, else moves down to the
//   tier they do qualify for; either way the next review is one window later. The lowest tier
//   needs no review. (When points were recorded after the fact — back-dated orders — a review
//   may find a higher tier qualified within its window; the member then moves up at the review.)
// Pure: the caller supplies the earned points of any time range.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "loyalty/program.hpp"

namespace treu::loyalty {

struct TierState {
  std::string tier;  // "" when the program has no tiers
  Timestamp since;
  std::optional<Timestamp> review_at;
  bool operator==(const TierState&) const = default;
};

struct TierChange {
  std::string from;
  std::string to;
  Timestamp at;
  std::string reason;  // "upgrade" or "review"
  bool operator==(const TierChange&) const = default;
};

// Points earned at times in [from, to).
using EarnedIn = std::function<std::int64_t(Timestamp from, Timestamp to)>;

// The highest tier whose threshold `earned` reaches; "" when the program has no tiers.
std::string QualifyingTier(const Program& p, std::int64_t earned);

// Position of a tier in the program (0 = lowest); -1 when it isn't one (e.g. a tier removed
// from the program: it counts as below every tier).
int TierRank(const Program& p, const std::string& tier);

// A new member's state: the lowest tier since `at`.
TierState InitialTier(const Program& p, Timestamp at);

// Brings `state` up to `now`: every review due at or before `now` in order, then the upgrade
// check at `now` (points earned in (now − window, now]). Returns the changes made, oldest first.
std::vector<TierChange> AdvanceTier(const Program& p, TierState& state, Timestamp now, const EarnedIn& earned);

}  // namespace treu::loyalty
