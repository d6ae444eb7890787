// The storage contract: one suite, run unchanged against every backend. A backend's test
// file instantiates it with a factory that opens a fresh, empty, migrated store:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Values(&OpenFreshSqlite));
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu::testing_contract {

using StoreFactory = std::unique_ptr<Store> (*)(const Clock& clock);

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam()(clock_);
    ASSERT_NE(store_, nullptr);
  }

  Workspace MakeWorkspace(const std::string& name) {
    Workspace w;
    w.name = name;
    w.time_zone = "Europe/Berlin";
    w.created_at = clock_.Now();
    auto created = store_->CreateWorkspace(w);
    EXPECT_TRUE(created.has_value()) << created.error().ToString();
    return *created;
  }

  static Currency Eur() { return Currency::FromCode("EUR").value(); }

  Order MakeOrder(const std::string& ext, CustomerId c, std::int64_t total, std::int64_t at_s) {
    Order o;
    o.external_id = ext;
    o.customer = c;
    o.placed_at = Timestamp::FromSeconds(at_s);
    o.total = Money{total, Eur()};
    return o;
  }

  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::unique_ptr<Store> store_;
};

}  // namespace treu::testing_contract
