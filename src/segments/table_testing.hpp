// Test support: a hand-made customer table of four customers — anna, ben, cleo (no data at
// all) and dora — with string, money, number, time, bool and attribute columns and nulls.
// Header-only, included by *_test.cpp only.
#pragma once

#include <cmath>

#include "analytics/customer_table.hpp"

namespace treu::segment::testing {

inline CustomerTable FourCustomers(Timestamp now) {
  CustomerTable t;
  t.customers = 4;
  t.as_of = now;
  Column email;
  email.type = ColumnType::kString;
  email.dictionary = {"anna@shop.example", "ben@mail.example", "dora@shop.example"};
  email.codes = {0, 1, -1, 2};
  t.columns["email"] = email;
  Column revenue;
  revenue.type = ColumnType::kMoney;
  revenue.numbers = {250.5, 99.99, NAN, 100};
  t.columns["revenue_total"] = revenue;
  Column orders;
  orders.type = ColumnType::kNumber;
  orders.numbers = {5, 1, 0, 2};
  t.columns["orders_count"] = orders;
  Column last;
  last.type = ColumnType::kTime;
  const std::int64_t day = kMicrosPerDay;
  last.times = {now.micros - 10 * day, now.micros - 200 * day, kNullTime, now.micros - 95 * day};
  t.columns["last_order_at"] = last;
  Column consent;
  consent.type = ColumnType::kBool;
  consent.bools = {1, 0, -1, 1};
  t.columns["consent.email"] = consent;
  Column tier;
  tier.type = ColumnType::kString;
  tier.dictionary = {"gold", "silver"};
  tier.codes = {0, 1, -1, 0};
  t.columns["attributes.tier"] = tier;
  return t;
}

}  // namespace treu::segment::testing
