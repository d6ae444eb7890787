#include "analytics/workspace_settings.hpp"

#include <gtest/gtest.h>

#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

class WorkspaceSettingsTest : public ::testing::Test {
 protected:
  ManualClock clock{Timestamp::FromSeconds(1'700'000'000)};
  testing::TempSqliteStore temp{"treu-workspace-settings", clock};
  Store& store = *temp.store;
};

TEST_F(WorkspaceSettingsTest, ChangesTheSettingsGivenOnly) {
  WorkspaceSettings s;
  s.time_zone = "Europe/Berlin";
  s.activity_window = "90d";
  s.purchase_model = "bgnbd";
  s.retention_basis = "both";
  s.brand_colour = "#0a7f5a";
  const Workspace w = ApplyWorkspaceSettings(store, "shop", s).value();
  EXPECT_EQ(w.time_zone, "Europe/Berlin");
  EXPECT_EQ(w.activity_window_days, 90);
  EXPECT_EQ(w.purchase_model, PurchaseModel::kBgNbd);
  EXPECT_EQ(w.retention_basis, RetentionBasis::kBoth);
  EXPECT_EQ(w.brand_colour, "#0a7f5a");
  EXPECT_EQ(w.currency->code(), "EUR");
  WorkspaceSettings again;
  again.brand_colour = "default";
  again.currency = "EUR";  // the same currency is fine
  const Workspace after = ApplyWorkspaceSettings(store, "shop", again).value();
  EXPECT_EQ(after.brand_colour, "");
  EXPECT_EQ(after.time_zone, "Europe/Berlin");
}

TEST_F(WorkspaceSettingsTest, ABadSettingChangesNothing) {
  struct Case {
    WorkspaceSettings s;
    const char* field;
    ErrorCode code;
  };
  std::vector<Case> cases(7);
  cases[0].s.time_zone = "Mars/Olympus";
  cases[0].field = "time_zone";
  cases[1].s.activity_window = "90x";
  cases[1].field = "activity_window";
  cases[2].s.purchase_model = "arima";
  cases[2].field = "purchase_model";
  cases[3].s.retention_basis = "vibes";
  cases[3].field = "retention_basis";
  cases[4].s.brand_colour = "teal";
  cases[4].field = "brand_colour";
  cases[5].s.currency = "XYZ1";
  cases[5].field = "currency";
  cases[6].s.currency = "USD";
  cases[6].field = "currency";
  for (auto& c : cases) c.code = ErrorCode::kInvalidArgument;
  cases[6].code = ErrorCode::kConflict;
  for (Case& c : cases) {
    c.s.purchase_model = c.s.purchase_model.value_or("mbgnbd");  // a good setting beside the bad one
    const auto r = ApplyWorkspaceSettings(store, "shop", c.s);
    ASSERT_FALSE(r.has_value()) << c.field;
    EXPECT_EQ(r.error().context(), c.field);
    EXPECT_EQ(r.error().code(), c.code) << c.field;
    EXPECT_NE(store.FindWorkspace("shop").value().purchase_model, PurchaseModel::kMbgNbd) << c.field;
  }
  EXPECT_EQ(ApplyWorkspaceSettings(store, "shop", {}).error().context(), "settings");
}

TEST_F(WorkspaceSettingsTest, SetsTheCurrencyWhileThereIsNone) {
  Workspace bare;
  bare.name = "bare";
  ASSERT_TRUE(store.CreateWorkspace(bare));
  WorkspaceSettings s;
  s.currency = "CHF";
  EXPECT_EQ(ApplyWorkspaceSettings(store, "bare", s).value().currency->code(), "CHF");
  s.currency = "EUR";
  EXPECT_EQ(ApplyWorkspaceSettings(store, "bare", s).error().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace treu
