// A workspace's settings as `treu workspace set` and PATCH /api/v1/workspace change them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "storage/store.hpp"

namespace treu {

// The settings to change; those left nullopt stay as they are. Texts as the user gives them.
struct WorkspaceSettings {
  std::optional<std::string> currency;          // ISO 4217; only while the workspace has none (or the same)
  std::optional<std::string> time_zone;         // IANA name
  std::optional<std::string> retention_basis;   // purchases, subscriptions or both
  std::optional<std::string> activity_window;   // "90d", "12w", "1y"
  std::optional<std::string> purchase_model;    // bgnbd, pareto_nbd or mbgnbd
  std::optional<std::string> brand_colour;      // "#RRGGBB", or "" / "default" for treu's own
  std::optional<std::string> private_webhooks;  // allow or refuse
  bool empty() const {
    return !currency && !time_zone && !retention_basis && !activity_window && !purchase_model && !brand_colour &&
           !private_webhooks;
  }
};

// Changes the given settings of `workspace` (the others stay) and returns the workspace as
// stored. Nothing is written unless every setting is valid. InvalidArgument naming the setting
// (currency, time_zone, retention_basis, activity_window, purchase_model, brand_colour,
// private_webhooks) or "settings" when none is given; Conflict naming "currency" for a
// different currency than the one set; NotFound for an unknown workspace.
Result<Workspace> ApplyWorkspaceSettings(Store& store, std::string_view workspace, const WorkspaceSettings& s);

}  // namespace treu
