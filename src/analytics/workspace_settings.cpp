#include "analytics/workspace_settings.hpp"

#include "analytics/kpis.hpp"
#include "core/time.hpp"

namespace treu {

Result<Workspace> ApplyWorkspaceSettings(Store& store, std::string_view workspace, const WorkspaceSettings& s) {
  if (s.empty()) {
    return InvalidArgument("settings", "give at least one of currency, time_zone, retention_basis, activity_window, "
                                       "purchase_model, brand_colour, private_webhooks");
  }
  TREU_ASSIGN_OR_RETURN(Workspace w, store.FindWorkspace(std::string(workspace)));
  if (s.currency) {
    auto c = Currency::FromCode(*s.currency);
    if (!c) return InvalidArgument("currency", c.error().detail());
    if (w.currency && !(*w.currency == *c)) {
      return Conflict("currency", "is " + std::string(w.currency->code()) +
                                      " and can't change: stored amounts are in it");
    }
    w.currency = *c;
  }
  if (s.time_zone) {
    if (auto z = TimeZone::Find(*s.time_zone); !z) return InvalidArgument("time_zone", z.error().detail());
    w.time_zone = *s.time_zone;
  }
  if (s.retention_basis) {
    auto b = ParseRetentionBasis(*s.retention_basis);
    if (!b) return InvalidArgument("retention_basis", "must be purchases, subscriptions or both");
    w.retention_basis = *b;
  }
  if (s.activity_window) {
    auto days = ParseWindowDays(*s.activity_window);
    if (!days) return InvalidArgument("activity_window", days.error().detail());
    w.activity_window_days = *days;
  }
  if (s.purchase_model) {
    auto m = ParsePurchaseModel(*s.purchase_model);
    if (!m) return InvalidArgument("purchase_model", "must be bgnbd, pareto_nbd or mbgnbd");
    w.purchase_model = *m;
  }
  if (s.private_webhooks) {
    if (*s.private_webhooks != "allow" && *s.private_webhooks != "refuse") {
      return InvalidArgument("private_webhooks", "must be allow or refuse");
    }
    w.allow_private_webhooks = *s.private_webhooks == "allow";
  }
  if (s.brand_colour) w.brand_colour = *s.brand_colour == "default" ? "" : *s.brand_colour;
  if (auto v = ValidateWorkspace(w); !v) {
    const std::string& field = v.error().context();
    return InvalidArgument(field == "brand colour" ? "brand_colour" : field == "activity window" ? "activity_window" : field,
                           v.error().detail());
  }
  TREU_RETURN_IF_ERROR(store.UpdateWorkspace(w));
  // Live snapshots hold the workspace's settings (time zone, basis, window): tell them.
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(w.id));
  TREU_RETURN_IF_ERROR(tx->NoteWorkspaceChanged());
  TREU_RETURN_IF_ERROR(tx->Commit());
  return store.FindWorkspace(std::string(workspace));
}

}  // namespace treu
