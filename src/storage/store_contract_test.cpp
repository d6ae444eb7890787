#include "storage/store_contract_test.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <set>

namespace treu::testing_contract {
namespace {

std::vector<CustomerId> Resolve(WriteTransaction& tx, std::vector<std::string> ids, Timestamp now) {
  auto r = tx.ResolveCustomers(ids, now);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return r.value_or(std::vector<CustomerId>{});
}

// Resolves `ids` in workspace `ws`, committed.
std::vector<CustomerId> ResolveCommitted(Store& store, WorkspaceId ws, std::vector<std::string> ids, Timestamp now) {
  auto tx = store.BeginWrite(ws);
  EXPECT_TRUE(tx.has_value()) << tx.error().ToString();
  if (!tx) return {};
  auto resolved = Resolve(**tx, std::move(ids), now);
  EXPECT_TRUE((*tx)->Commit());
  return resolved;
}

TEST_P(StoreContractTest, WorkspacesAreCreatedFoundAndUnique) {
  const Workspace w = MakeWorkspace("shop");
  EXPECT_TRUE(w.id.valid());
  auto found = store_->FindWorkspace("shop");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, w.id);
  EXPECT_EQ(found->time_zone, "Europe/Berlin");
  EXPECT_EQ(found->retention_basis, RetentionBasis::kPurchases);
  EXPECT_EQ(found->activity_window_days, kDefaultActivityWindowDays);
  EXPECT_FALSE(found->currency.has_value());
  EXPECT_EQ(store_->CreateWorkspace(w).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->FindWorkspace("nope").error().code(), ErrorCode::kNotFound);
  MakeWorkspace("other");
  EXPECT_EQ(store_->ListWorkspaces().value().size(), 2u);
}

TEST_P(StoreContractTest, CurrencyIsSetOnce) {
  const Workspace w = MakeWorkspace("shop");
  {
    auto tx = store_->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->SetCurrency(Eur()));
    ASSERT_TRUE(tx->SetCurrency(Eur()));  // same again is fine
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(store_->FindWorkspace("shop").value().currency.value(), Eur());
  auto tx = store_->BeginWrite(w.id).value();
  auto usd = tx->SetCurrency(Currency::FromCode("USD").value());
  ASSERT_FALSE(usd.has_value());
  EXPECT_EQ(usd.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_P(StoreContractTest, UncommittedTransactionLeavesNothing) {
  const Workspace w = MakeWorkspace("shop");
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, {"c1"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o1", ids[0], 1000, 1000)};
    ASSERT_TRUE(tx->InsertOrders(orders));
    ASSERT_TRUE(tx->SetCurrency(Eur()));
  }  // destroyed without commit
  const auto counts = store_->Counts(w.id).value();
  EXPECT_EQ(counts.customers, 0);
  EXPECT_EQ(counts.orders, 0);
  EXPECT_EQ(counts.changes, 1);  // only the workspace's creation
  EXPECT_FALSE(store_->FindWorkspace("shop").value().currency.has_value());
  // The database is usable afterwards.
  auto tx = store_->BeginWrite(w.id).value();
  EXPECT_TRUE(tx->Commit());
}

TEST_P(StoreContractTest, ResolveCustomersCreatesOnFirstSight) {
  const Workspace w = MakeWorkspace("shop");
  auto tx = store_->BeginWrite(w.id).value();
  const auto a = Resolve(*tx, {"c1", "c2", "c1"}, clock_.Now());
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(a[0].valid());
  EXPECT_NE(a[0], a[1]);
  EXPECT_EQ(a[0], a[2]);
  const auto b = Resolve(*tx, {"c2"}, clock_.Now());
  EXPECT_EQ(b[0], a[1]);
  ASSERT_TRUE(tx->Commit());
  auto c = store_->FindCustomer(w.id, "c1").value();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, a[0]);
  EXPECT_EQ(c->created_at, clock_.Now());
  EXPECT_EQ(store_->Counts(w.id).value().customers, 2);
}

TEST_P(StoreContractTest, CustomersUpsertMergesAndCountsUnchanged) {
  const Workspace w = MakeWorkspace("shop");
  Customer c;
  c.external_id = "c1";
  c.email = "anna@example.de";
  c.name = "Anna Kühn";
  c.country = "DE";
  c.locale = "de-DE";
  c.time_zone = "Europe/Berlin";
  c.attributes["tier"] = std::string("gold");
  c.attributes["score"] = 4.5;
  c.attributes["vip"] = true;
  c.attributes["birthday"] = Timestamp::FromSeconds(642'902'400);
  c.consent[Channel::kEmail] = Consent{true, "import", Timestamp::FromSeconds(1'600'000'000)};
  {
    auto tx = store_->BeginWrite(w.id).value();
    auto s = tx->UpsertCustomers(std::span(&c, 1), clock_.Now()).value();
    EXPECT_EQ(s.inserted, 1);
    ASSERT_TRUE(tx->Commit());
  }
  auto stored = store_->FindCustomer(w.id, "c1").value().value();
  EXPECT_EQ(stored.email, c.email);
  EXPECT_EQ(stored.name, c.name);
  EXPECT_EQ(stored.country, "DE");
  EXPECT_EQ(stored.locale, "de-DE");
  EXPECT_EQ(stored.time_zone, "Europe/Berlin");
  EXPECT_EQ(stored.attributes, c.attributes);
  ASSERT_EQ(stored.consent.count(Channel::kEmail), 1u);
  EXPECT_TRUE(stored.consent[Channel::kEmail].granted);
  EXPECT_EQ(stored.consent[Channel::kEmail].source, "import");
  EXPECT_EQ(stored.consent[Channel::kEmail].at, Timestamp::FromSeconds(1'600'000'000));

  // Same again: unchanged. A partial update keeps what it doesn't mention.
  Customer partial;
  partial.external_id = "c1";
  partial.country = "AT";
  partial.attributes["tier"] = std::string("platinum");
  clock_.Advance(kMicrosPerSecond);
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->UpsertCustomers(std::span(&c, 1), clock_.Now()).value().unchanged, 1);
    EXPECT_EQ(tx->UpsertCustomers(std::span(&partial, 1), clock_.Now()).value().updated, 1);
    ASSERT_TRUE(tx->Commit());
  }
  stored = store_->FindCustomer(w.id, "c1").value().value();
  EXPECT_EQ(stored.email, "anna@example.de");
  EXPECT_EQ(stored.country, "AT");
  EXPECT_EQ(std::get<std::string>(stored.attributes["tier"]), "platinum");
  EXPECT_EQ(std::get<double>(stored.attributes["score"]), 4.5);
  EXPECT_EQ(stored.updated_at, clock_.Now());
  const auto changes = store_->ReadChanges(w.id, 0, 100).value();
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].entity, Entity::kWorkspace);
  EXPECT_EQ(changes[1].op, ChangeOp::kInsert);
  EXPECT_EQ(changes[2].op, ChangeOp::kUpdate);
  EXPECT_EQ(changes[2].entity, Entity::kCustomer);
  EXPECT_EQ(changes[2].entity_id, stored.id.value);
}

TEST_P(StoreContractTest, OrdersAreIdempotentByExternalId) {
  const Workspace w = MakeWorkspace("shop");
  std::vector<Order> orders;
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    orders.push_back(MakeOrder("o1", ids[0], 1999, 1000));
    orders.push_back(MakeOrder("o2", ids[1], 500, 2000));
    orders[1].status = OrderStatus::kRefunded;
    orders[1].refunds.push_back({Timestamp::FromSeconds(3000), 500});
    orders[0].lines.push_back({"sku-1", 2, 999});
    auto s = tx->InsertOrders(orders).value();
    EXPECT_EQ(s.inserted, 2);
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(w.id).value();
    auto s = tx->InsertOrders(orders).value();
    EXPECT_EQ(s.inserted, 0);
    EXPECT_EQ(s.unchanged, 2);
    // A refund the stored order didn't have is added.
    orders[0].refunds.push_back({Timestamp::FromSeconds(5000), 999});
    s = tx->InsertOrders(std::span(orders).first(1)).value();
    EXPECT_EQ(s.updated, 1);
    ASSERT_TRUE(tx->Commit());
  }
  const auto counts = store_->Counts(w.id).value();
  EXPECT_EQ(counts.orders, 2);
  EXPECT_EQ(counts.refunds, 2);
  auto o1 = store_->FindOrder(w.id, "o1").value().value();
  EXPECT_EQ(o1.total.minor, 1999);
  EXPECT_EQ(o1.total.currency, Eur());
  EXPECT_EQ(o1.customer_external_id, "c1");
  EXPECT_EQ(o1.placed_at, Timestamp::FromSeconds(1000));
  ASSERT_EQ(o1.lines.size(), 1u);
  EXPECT_EQ(o1.lines[0].product_external_id, "sku-1");
  EXPECT_EQ(o1.lines[0].quantity, 2);
  ASSERT_EQ(o1.refunds.size(), 1u);
  EXPECT_EQ(o1.refunds[0].amount_minor, 999);
  auto o2 = store_->FindOrder(w.id, "o2").value().value();
  EXPECT_EQ(o2.status, OrderStatus::kRefunded);
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->ScanOrders(w.id, [&](const Order& o) { seen.push_back(o.external_id); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"o1", "o2"}));
}

TEST_P(StoreContractTest, SubscriptionsMergeHistory) {
  const Workspace w = MakeWorkspace("saas");
  Subscription s;
  s.external_id = "sub1";
  s.currency = Eur();
  s.started_at = Timestamp::FromSeconds(1000);
  s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kMonth, 2900, 1, 0,
                       SubscriptionStatus::kActive});
  {
    auto tx = store_->BeginWrite(w.id).value();
    s.customer = Resolve(*tx, {"c1"}, clock_.Now())[0];
    EXPECT_EQ(tx->UpsertSubscriptions(std::span(&s, 1)).value().inserted, 1);
    ASSERT_TRUE(tx->Commit());
  }
  Subscription later = s;
  later.history = {{Timestamp::FromSeconds(5000), "pro", BillingInterval::kYear, 99000, 3, 1000,
                    SubscriptionStatus::kActive}};
  later.ended_at = Timestamp::FromSeconds(9000);
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->UpsertSubscriptions(std::span(&s, 1)).value().unchanged, 1);
    EXPECT_EQ(tx->UpsertSubscriptions(std::span(&later, 1)).value().updated, 1);
    ASSERT_TRUE(tx->Commit());
  }
  auto stored = store_->FindSubscription(w.id, "sub1").value().value();
  ASSERT_EQ(stored.history.size(), 2u);
  EXPECT_EQ(stored.history[0], s.history[0]);
  EXPECT_EQ(stored.history[1], later.history[0]);
  EXPECT_EQ(stored.ended_at, Timestamp::FromSeconds(9000));
  EXPECT_EQ(stored.customer_external_id, "c1");
  // A different state at a stored time conflicts and changes nothing.
  Subscription clash = s;
  clash.history[0].amount_minor = 1;
  {
    auto tx = store_->BeginWrite(w.id).value();
    auto r = tx->UpsertSubscriptions(std::span(&clash, 1));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  }
  EXPECT_EQ(store_->FindSubscription(w.id, "sub1").value()->history[0].amount_minor, 2900);
  EXPECT_EQ(store_->Counts(w.id).value().subscription_changes, 2);
}

TEST_P(StoreContractTest, ProductsUpsertByExternalId) {
  const Workspace w = MakeWorkspace("shop");
  std::vector<Product> products(2);
  products[0].external_id = "sku-1";
  products[0].name = "Trail Runner";
  products[0].price = Money{8990, Eur()};
  products[1].external_id = "sku-2";
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->UpsertProducts(products).value().inserted, 2);
    EXPECT_EQ(tx->UpsertProducts(products).value().unchanged, 2);
    products[0].price = Money{7990, Eur()};
    EXPECT_EQ(tx->UpsertProducts(std::span(products).first(1)).value().updated, 1);
    ASSERT_TRUE(tx->Commit());
  }
  const auto p = store_->FindProduct(w.id, "sku-1").value().value();
  EXPECT_EQ(p.name, "Trail Runner");
  EXPECT_EQ(p.price->minor, 7990);
  EXPECT_FALSE(store_->FindProduct(w.id, "sku-2").value()->price.has_value());
  EXPECT_FALSE(store_->FindProduct(w.id, "sku-3").value().has_value());
  EXPECT_EQ(store_->Counts(w.id).value().products, 2);
}

TEST_P(StoreContractTest, EventsDedupeByMessageId) {
  const Workspace w = MakeWorkspace("shop");
  std::vector<Event> events(3);
  for (int i = 0; i < 3; ++i) {
    events[i].type = EventType::kTrack;
    events[i].name = "Page Viewed";
    events[i].message_id = "m" + std::to_string(i % 2);  // m0, m1, m0
    events[i].user_id = "c1";
    events[i].timestamp = Timestamp::FromSeconds(100 + i);
    events[i].received_at = Timestamp::FromSeconds(200);
    events[i].properties_json = R"({"url":"/pricing"})";
  }
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto s = tx->InsertEvents(events).value();
    EXPECT_EQ(s.inserted, 2);
    EXPECT_EQ(s.unchanged, 1);
    ASSERT_TRUE(tx->Commit());
  }
  std::vector<Event> seen;
  ASSERT_TRUE(store_->ScanEvents(w.id, [&](const Event& e) { seen.push_back(e); }));
  ASSERT_EQ(seen.size(), 2u);
  const auto page = store_->ListEvents(w.id, "c1", seen[0].id.value, 10).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].message_id, "m1");
  EXPECT_TRUE(store_->ListEvents(w.id, "someone-else", 0, 10).value().empty());
  EXPECT_EQ(seen[0].name, "Page Viewed");
  EXPECT_EQ(seen[0].properties_json, R"({"url":"/pricing"})");
  EXPECT_EQ(seen[0].timestamp, Timestamp::FromSeconds(100));
  EXPECT_EQ(seen[1].message_id, "m1");
}

TEST_P(StoreContractTest, AnonymousIdsLinkToCustomers) {
  const Workspace w = MakeWorkspace("shop");
  auto anon_event = [](const std::string& mid) {
    Event e;
    e.type = EventType::kPage;
    e.message_id = mid;
    e.anonymous_id = "browser-1";
    e.timestamp = Timestamp::FromSeconds(100);
    e.received_at = Timestamp::FromSeconds(100);
    return e;
  };
  std::vector<Event> before{anon_event("a1"), anon_event("a2")};
  auto tx = store_->BeginWrite(w.id).value();
  ASSERT_TRUE(tx->InsertEvents(before));
  EXPECT_FALSE(tx->FindAnonymousId("browser-1").value().valid());
  std::vector<std::string> ext{"c1", "c2"};
  const auto ids = tx->ResolveCustomers(ext, clock_.Now()).value();
  EXPECT_TRUE(tx->LinkAnonymousId("browser-1", ids[0], clock_.Now()).value());
  EXPECT_TRUE(tx->LinkAnonymousId("browser-1", ids[0], clock_.Now()).value());
  EXPECT_FALSE(tx->LinkAnonymousId("browser-1", ids[1], clock_.Now()).value());
  EXPECT_EQ(tx->FindAnonymousId("browser-1").value(), ids[0]);
  ASSERT_TRUE(tx->Commit());
  std::vector<Event> seen;
  ASSERT_TRUE(store_->ScanEvents(w.id, [&](const Event& e) { seen.push_back(e); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].customer, ids[0]);
  EXPECT_EQ(seen[1].customer, ids[0]);
  std::int64_t updates = 0;
  const auto changes = store_->ReadChanges(w.id, 0, 100).value();
  for (const Change& c : changes) {
    if (c.entity == Entity::kEvent && c.op == ChangeOp::kUpdate) updates += c.count();
  }
  EXPECT_EQ(updates, 2);
}

TEST_P(StoreContractTest, WorkspacesAreIsolated) {
  const Workspace a = MakeWorkspace("a");
  const Workspace b = MakeWorkspace("b");
  for (const Workspace* w : {&a, &b}) {
    auto tx = store_->BeginWrite(w->id).value();
    const auto ids = Resolve(*tx, {"same-customer"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("same-order", ids[0], w == &a ? 100 : 200, 1000)};
    EXPECT_EQ(tx->InsertOrders(orders).value().inserted, 1);
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(store_->FindOrder(a.id, "same-order").value()->total.minor, 100);
  EXPECT_EQ(store_->FindOrder(b.id, "same-order").value()->total.minor, 200);
  EXPECT_NE(store_->FindCustomer(a.id, "same-customer").value()->id,
            store_->FindCustomer(b.id, "same-customer").value()->id);
  EXPECT_EQ(store_->Counts(a.id).value().orders, 1);
  int n = 0;
  ASSERT_TRUE(store_->ScanCustomers(b.id, [&](const Customer&) { ++n; }));
  EXPECT_EQ(n, 1);
  EXPECT_EQ(store_->ReadChanges(a.id, 0, 100).value().size(), 3u);
}

TEST_P(StoreContractTest, ChangeLogIsMonotonicAndPaged) {
  const Workspace w = MakeWorkspace("shop");
  for (int batch = 0; batch < 3; ++batch) {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, {"c" + std::to_string(batch)}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o" + std::to_string(batch), ids[0], 100, 1000)};
    ASSERT_TRUE(tx->InsertOrders(orders));
    ASSERT_TRUE(tx->Commit());
  }
  const auto all = store_->ReadChanges(w.id, 0, 100).value();
  ASSERT_EQ(all.size(), 7u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].seq, all[i].seq);
  EXPECT_EQ(all[0].entity, Entity::kWorkspace);
  EXPECT_EQ(all[0].op, ChangeOp::kInsert);
  EXPECT_EQ(all[1].entity, Entity::kCustomer);
  EXPECT_EQ(all[2].entity, Entity::kOrder);
  const auto page = store_->ReadChanges(w.id, all[3].seq, 2).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].seq, all[4].seq);
  EXPECT_EQ(page[1].seq, all[5].seq);
  EXPECT_EQ(store_->Counts(w.id).value().changes, 7);
}

TEST_P(StoreContractTest, ListCustomersPagesAndFilters) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<Customer> customers(5);
  for (int i = 0; i < 5; ++i) {
    customers[i].external_id = "c" + std::to_string(i);
    customers[i].email = i == 3 ? "x@example.com" : "";
    customers[i].attributes["rank"] = static_cast<double>(i);
  }
  {
    auto tx = store_->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->UpsertCustomers(customers, clock_.Now()));
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    ASSERT_TRUE(tx->UpsertCustomers(std::span(customers).first(1), clock_.Now()));
    ASSERT_TRUE(tx->Commit());
  }
  const auto first = store_->ListCustomers(w.id, {}, 0, 2).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].external_id, "c0");
  EXPECT_EQ(first[1].external_id, "c1");
  EXPECT_EQ(std::get<double>(first[1].attributes.at("rank")), 1.0);
  const auto rest = store_->ListCustomers(w.id, {}, first[1].id.value, 10).value();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[2].external_id, "c4");
  CustomerFilter by_email;
  by_email.email = "x@example.com";
  const auto found = store_->ListCustomers(w.id, by_email, 0, 10).value();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].external_id, "c3");
  CustomerFilter by_id;
  by_id.external_id = "c0";
  EXPECT_EQ(store_->ListCustomers(other.id, by_id, 0, 10).value().size(), 1u);
  CustomerFilter later;
  later.updated_since = Timestamp{clock_.Now().micros + 1};
  EXPECT_TRUE(store_->ListCustomers(w.id, later, 0, 10).value().empty());
  // Search: a substring of the id, email or name, ignoring the case of ASCII letters.
  auto search = [&](const Workspace& ws, const char* text, std::int64_t after = 0) {
    CustomerFilter f;
    f.text = text;
    std::vector<std::string> ids;
    const std::vector<Customer> found = store_->ListCustomers(ws.id, f, after, 10).value();
    for (const Customer& c : found) ids.push_back(c.external_id);
    return ids;
  };
  EXPECT_EQ(search(w, "EXAMPLE.com"), std::vector<std::string>{"c3"});
  EXPECT_EQ(search(w, "C"), (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_EQ(search(w, "C", first[1].id.value), (std::vector<std::string>{"c2", "c3", "c4"}));
  EXPECT_EQ(search(w, "4"), std::vector<std::string>{"c4"});
  EXPECT_TRUE(search(w, "%").empty());  // no pattern characters
  EXPECT_EQ(search(other, "c"), std::vector<std::string>{"c0"});
}

TEST_P(StoreContractTest, IdempotencyKeysReplayRejectAndExpire) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  using Kind = IdempotencyClaim::Kind;
  constexpr std::int64_t kStale = 60 * kMicrosPerSecond;
  const Timestamp now = clock_.Now();
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k1", "h1", now, kStale)->kind, Kind::kNew);
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k1", "h1", now, kStale)->kind, Kind::kInFlight);
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k1", "h2", now, kStale)->kind, Kind::kMismatch);
  // Another workspace's key of the same name is independent.
  EXPECT_EQ(store_->ClaimIdempotencyKey(other.id, "k1", "h9", now, kStale)->kind, Kind::kNew);
  ASSERT_TRUE(store_->CompleteIdempotencyKey(w.id, "k1", 201, R"({"id":"c1"})"));
  const auto replay = store_->ClaimIdempotencyKey(w.id, "k1", "h1", now, kStale).value();
  EXPECT_EQ(replay.kind, Kind::kReplay);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.response, R"({"id":"c1"})");
  // Released keys may be claimed again; stale in-flight keys are taken over.
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k2", "h", now, kStale)->kind, Kind::kNew);
  ASSERT_TRUE(store_->CompleteIdempotencyKey(w.id, "k2", 0, ""));
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k2", "h", now, kStale)->kind, Kind::kNew);
  const Timestamp later{now.micros + 2 * kStale};
  EXPECT_EQ(store_->ClaimIdempotencyKey(w.id, "k2", "h", later, kStale)->kind, Kind::kNew);
}

TEST_P(StoreContractTest, ApiKeysAreFoundByHashOnly) {
  const Workspace a = MakeWorkspace("a");
  const Workspace b = MakeWorkspace("b");
  ApiKey k;
  k.workspace = a.id;
  k.scope = Scope::kWrite;
  k.prefix = "treu_sk_abcd";
  k.hash_hex = std::string(64, 'a');
  k.name = "shop backend";
  k.rate_per_minute = 600;
  k.created_at = clock_.Now();
  const ApiKey stored = store_->CreateApiKey(k).value();
  EXPECT_GT(stored.id, 0);
  EXPECT_EQ(store_->CreateApiKey(k).error().code(), ErrorCode::kAlreadyExists);
  ApiKey other = k;
  other.workspace = b.id;
  other.scope = Scope::kTracking;
  other.hash_hex = std::string(64, 'b');
  ASSERT_TRUE(store_->CreateApiKey(other));
  auto found = store_->FindApiKey(std::string(64, 'a')).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->workspace, a.id);
  EXPECT_EQ(found->scope, Scope::kWrite);
  EXPECT_EQ(found->prefix, "treu_sk_abcd");
  EXPECT_EQ(found->name, "shop backend");
  EXPECT_EQ(found->rate_per_minute, 600);
  EXPECT_EQ(found->created_at, clock_.Now());
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_FALSE(store_->FindApiKey(std::string(64, 'c')).value().has_value());
  const auto listed = store_->ListApiKeys(b.id).value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].scope, Scope::kTracking);

  // Revocation: only in the key's own workspace, and the first time is kept.
  EXPECT_EQ(store_->RevokeApiKey(b.id, stored.id, clock_.Now()).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->RevokeApiKey(a.id, 999999, clock_.Now()).error().code(), ErrorCode::kNotFound);
  const Timestamp first = clock_.Now();
  ASSERT_TRUE(store_->RevokeApiKey(a.id, stored.id, first));
  ASSERT_TRUE(store_->RevokeApiKey(a.id, stored.id, Timestamp{first.micros + 1000}));
  const auto revoked = store_->FindApiKey(std::string(64, 'a')).value();
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->revoked_at, first);
  EXPECT_FALSE(store_->FindApiKey(std::string(64, 'b')).value()->revoked_at.has_value());
}

TEST_P(StoreContractTest, DashboardUsersAreConfinedToTheirWorkspace) {
  const Workspace a = MakeWorkspace("a");
  const Workspace b = MakeWorkspace("b");
  DashboardUser u;
  u.workspace = a.id;
  u.email = "ana@shop.example";
  u.name = "Ana";
  u.role = "admin";
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.locale = "de";
  u.created_at = clock_.Now();
  const DashboardUser stored = store_->CreateDashboardUser(u).value();
  EXPECT_GT(stored.id, 0);
  EXPECT_EQ(store_->CreateDashboardUser(u).error().code(), ErrorCode::kAlreadyExists);
  DashboardUser same_email = u;
  same_email.workspace = b.id;
  same_email.role = "viewer";
  const DashboardUser in_b = store_->CreateDashboardUser(same_email).value();

  auto found = store_->FindDashboardUser(a.id, stored.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->email, "ana@shop.example");
  EXPECT_EQ(found->name, "Ana");
  EXPECT_EQ(found->role, "admin");
  EXPECT_EQ(found->password_hash, u.password_hash);
  EXPECT_EQ(found->locale, "de");
  EXPECT_EQ(found->created_at, clock_.Now());
  EXPECT_FALSE(found->last_login_at.has_value());
  EXPECT_FALSE(store_->FindDashboardUser(b.id, stored.id).value().has_value());
  EXPECT_EQ(store_->FindDashboardUserByEmail(b.id, "ana@shop.example").value()->id, in_b.id);
  EXPECT_FALSE(store_->FindDashboardUserByEmail(a.id, "bob@shop.example").value().has_value());
  const auto everywhere = store_->FindDashboardUsersByEmail("ana@shop.example").value();
  ASSERT_EQ(everywhere.size(), 2u);
  EXPECT_EQ(everywhere[0].workspace, a.id);
  EXPECT_EQ(everywhere[1].workspace, b.id);

  DashboardUser changed = *found;
  changed.name = "Ana B.";
  changed.role = "marketer";
  changed.locale = "en";
  changed.password_hash = "other";
  changed.last_login_at = Timestamp{clock_.Now().micros + 5};
  ASSERT_TRUE(store_->UpdateDashboardUser(changed));
  const DashboardUser after = store_->FindDashboardUser(a.id, stored.id).value().value();
  EXPECT_EQ(after.name, "Ana B.");
  EXPECT_EQ(after.role, "marketer");
  EXPECT_EQ(after.locale, "en");
  EXPECT_EQ(after.password_hash, "other");
  EXPECT_EQ(after.last_login_at, changed.last_login_at);
  changed.workspace = b.id;
  EXPECT_EQ(store_->UpdateDashboardUser(changed).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListDashboardUsers(a.id).value().size(), 1u);

  // Sessions: found by hash, touched, deleted one by one or with their user.
  const Timestamp now = clock_.Now();
  DashboardSession s;
  s.token_hash = std::string(64, 'a');
  s.user_id = stored.id;
  s.workspace = a.id;
  s.csrf_token = "csrf";
  s.created_at = now;
  s.expires_at = Timestamp{now.micros + 1000};
  s.last_seen_at = now;
  s.remote = "10.0.0.1";
  s.user_agent = "test";
  ASSERT_TRUE(store_->CreateDashboardSession(s));
  EXPECT_EQ(store_->CreateDashboardSession(s).error().code(), ErrorCode::kAlreadyExists);
  DashboardSession second = s;
  second.token_hash = std::string(64, 'b');
  ASSERT_TRUE(store_->CreateDashboardSession(second));
  DashboardSession other = s;
  other.token_hash = std::string(64, 'c');
  other.user_id = in_b.id;
  other.workspace = b.id;
  ASSERT_TRUE(store_->CreateDashboardSession(other));
  auto got = store_->FindDashboardSession(std::string(64, 'a')).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->user_id, stored.id);
  EXPECT_EQ(got->workspace, a.id);
  EXPECT_EQ(got->csrf_token, "csrf");
  EXPECT_EQ(got->expires_at.micros, now.micros + 1000);
  EXPECT_EQ(got->remote, "10.0.0.1");
  EXPECT_EQ(got->user_agent, "test");
  ASSERT_TRUE(store_->TouchDashboardSession(s.token_hash, Timestamp{now.micros + 7}));
  EXPECT_EQ(store_->FindDashboardSession(s.token_hash).value()->last_seen_at.micros, now.micros + 7);
  ASSERT_TRUE(store_->DeleteDashboardSession(s.token_hash));
  EXPECT_FALSE(store_->FindDashboardSession(s.token_hash).value().has_value());
  ASSERT_TRUE(store_->DeleteDashboardSession(s.token_hash));

  // Deleting a user deletes their sessions, not others'.
  EXPECT_EQ(store_->DeleteDashboardUser(b.id, stored.id).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteDashboardUser(a.id, stored.id));
  EXPECT_FALSE(store_->FindDashboardUser(a.id, stored.id).value().has_value());
  EXPECT_FALSE(store_->FindDashboardSession(second.token_hash).value().has_value());
  EXPECT_TRUE(store_->FindDashboardSession(other.token_hash).value().has_value());
  ASSERT_TRUE(store_->DeleteDashboardSessions(b.id, in_b.id));
  EXPECT_FALSE(store_->FindDashboardSession(other.token_hash).value().has_value());

  // A new session drops the expired ones.
  DashboardSession old = other;
  old.token_hash = std::string(64, 'd');
  ASSERT_TRUE(store_->CreateDashboardSession(old));
  DashboardSession later = other;
  later.token_hash = std::string(64, 'e');
  later.created_at = Timestamp{now.micros + 5000};
  later.expires_at = Timestamp{now.micros + 9000};
  ASSERT_TRUE(store_->CreateDashboardSession(later));
  EXPECT_FALSE(store_->FindDashboardSession(old.token_hash).value().has_value());
  EXPECT_TRUE(store_->FindDashboardSession(later.token_hash).value().has_value());
}

TEST_P(StoreContractTest, LargeBatchRoundTrips) {
  const Workspace w = MakeWorkspace("shop");
  constexpr int kCustomers = 2000;
  std::vector<std::string> ext;
  for (int i = 0; i < kCustomers; ++i) ext.push_back("cust-" + std::to_string(i));
  std::int64_t expected_sum = 0;
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, ext, clock_.Now());
    std::vector<Order> orders;
    for (int i = 0; i < 3 * kCustomers; ++i) {
      orders.push_back(MakeOrder("o-" + std::to_string(i), ids[i % kCustomers], i, 1000 + i));
      expected_sum += i;
    }
    EXPECT_EQ(tx->InsertOrders(orders).value().inserted, 3 * kCustomers);
    ASSERT_TRUE(tx->Commit());
  }
  std::int64_t sum = 0, n = 0;
  std::set<std::int64_t> order_ids;
  ASSERT_TRUE(store_->ScanOrders(w.id, [&](const Order& o) {
    sum += o.total.minor;
    ++n;
    order_ids.insert(o.id.value);
  }));
  EXPECT_EQ(n, 3 * kCustomers);
  EXPECT_EQ(sum, expected_sum);
  // The change log names every inserted order exactly once (runs may cover many ids).
  std::set<std::int64_t> logged;
  std::int64_t customers_logged = 0;
  const auto changes = store_->ReadChanges(w.id, 0, 1'000'000).value();
  for (const Change& c : changes) {
    EXPECT_LE(c.entity_id, c.last_entity_id);
    if (c.entity == Entity::kCustomer) customers_logged += c.count();
    if (c.entity != Entity::kOrder) continue;
    EXPECT_EQ(c.op, ChangeOp::kInsert);
    for (auto id = c.entity_id; id <= c.last_entity_id; ++id) EXPECT_TRUE(logged.insert(id).second);
  }
  EXPECT_EQ(logged, order_ids);
  EXPECT_EQ(customers_logged, kCustomers);
}

}  // namespace
TEST_P(StoreContractTest, OrdersSubscriptionsAndProductsAreListedByCustomerAndPaged) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o1", ids[0], 100, 1000), MakeOrder("o2", ids[1], 200, 2000),
                              MakeOrder("o3", ids[0], 300, 3000)};
    orders[2].lines.push_back({"sku-1", 1, 300});
    orders[2].refunds.push_back({Timestamp::FromSeconds(4000), 50});
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "sub1";
    s.customer = ids[1];
    s.currency = Eur();
    s.started_at = Timestamp::FromSeconds(1000);
    s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kMonth, 2900, 1, 0,
                         SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    std::vector<Product> products(3);
    for (int i = 0; i < 3; ++i) {
      products[i].external_id = "sku-" + std::to_string(i);
      products[i].name = "Product " + std::to_string(i);
    }
    ASSERT_TRUE(tx->UpsertProducts(products));
    ASSERT_TRUE(tx->Commit());
  }
  const auto c1 = store_->ListOrders(w.id, "c1", 0, 10).value();
  ASSERT_EQ(c1.size(), 2u);
  EXPECT_EQ(c1[0].external_id, "o1");
  EXPECT_EQ(c1[1].external_id, "o3");
  EXPECT_EQ(c1[1].customer_external_id, "c1");
  ASSERT_EQ(c1[1].lines.size(), 1u);
  ASSERT_EQ(c1[1].refunds.size(), 1u);
  EXPECT_EQ(c1[1].refunds[0].amount_minor, 50);
  const auto first = store_->ListOrders(w.id, "", 0, 2).value();
  ASSERT_EQ(first.size(), 2u);
  const auto rest = store_->ListOrders(w.id, "", first.back().id.value, 2).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].external_id, "o3");
  EXPECT_TRUE(store_->ListOrders(w.id, "nobody", 0, 10).value().empty());
  EXPECT_TRUE(store_->ListOrders(other.id, "", 0, 10).value().empty());

  const auto subs = store_->ListSubscriptions(w.id, "c2", 0, 10).value();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].external_id, "sub1");
  EXPECT_EQ(subs[0].customer_external_id, "c2");
  ASSERT_EQ(subs[0].history.size(), 1u);
  EXPECT_EQ(subs[0].history[0].amount_minor, 2900);
  EXPECT_TRUE(store_->ListSubscriptions(w.id, "c1", 0, 10).value().empty());
  EXPECT_TRUE(store_->ListSubscriptions(other.id, "", 0, 10).value().empty());

  const auto p1 = store_->ListProducts(w.id, 0, 2).value();
  ASSERT_EQ(p1.size(), 2u);
  EXPECT_EQ(p1[0].external_id, "sku-0");
  const auto p2 = store_->ListProducts(w.id, p1.back().id.value, 2).value();
  ASSERT_EQ(p2.size(), 1u);
  EXPECT_EQ(p2[0].name, "Product 2");
  EXPECT_TRUE(store_->ListProducts(other.id, 0, 10).value().empty());
}

TEST_P(StoreContractTest, DeletesRemoveWithDetailsAndAreLogged) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto ids = Resolve(*tx, {"c1"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o1", ids[0], 100, 1000), MakeOrder("o2", ids[0], 200, 2000)};
    orders[0].lines.push_back({"sku-1", 1, 100});
    orders[0].refunds.push_back({Timestamp::FromSeconds(1500), 100});
    orders[0].status = OrderStatus::kRefunded;
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "sub1";
    s.customer = ids[0];
    s.currency = Eur();
    s.started_at = Timestamp::FromSeconds(1000);
    s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kMonth, 2900, 1, 0,
                         SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    Product p;
    p.external_id = "sku-1";
    p.name = "Shoe";
    ASSERT_TRUE(tx->UpsertProducts(std::span(&p, 1)));
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t seq_before = [&] {
    std::int64_t last = 0;
    const std::vector<Change> changes = store_->ReadChanges(w.id, 0, 1000).value();
    for (const Change& c : changes) last = c.seq;
    return last;
  }();
  // Another workspace can't delete them.
  {
    auto tx = store_->BeginWrite(other.id).value();
    EXPECT_FALSE(tx->DeleteOrder("o1").value());
    EXPECT_FALSE(tx->DeleteSubscription("sub1").value());
    EXPECT_FALSE(tx->DeleteProduct("sku-1").value());
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t order_id = store_->FindOrder(w.id, "o1").value()->id.value;
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_TRUE(tx->DeleteOrder("o1").value());
    EXPECT_FALSE(tx->DeleteOrder("o1").value());
    EXPECT_TRUE(tx->DeleteSubscription("sub1").value());
    EXPECT_TRUE(tx->DeleteProduct("sku-1").value());
    EXPECT_FALSE(tx->DeleteProduct("nope").value());
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_FALSE(store_->FindOrder(w.id, "o1").value().has_value());
  EXPECT_TRUE(store_->FindOrder(w.id, "o2").value().has_value());
  EXPECT_FALSE(store_->FindSubscription(w.id, "sub1").value().has_value());
  EXPECT_FALSE(store_->FindProduct(w.id, "sku-1").value().has_value());
  const auto counts = store_->Counts(w.id).value();
  EXPECT_EQ(counts.orders, 1);
  EXPECT_EQ(counts.refunds, 0);
  EXPECT_EQ(counts.subscriptions, 0);
  bool logged_order_delete = false;
  const std::vector<Change> changes = store_->ReadChanges(w.id, seq_before, 1000).value();
  for (const Change& c : changes) {
    if (c.entity == Entity::kOrder && c.op == ChangeOp::kDelete && c.entity_id <= order_id &&
        order_id <= c.last_entity_id) {
      logged_order_delete = true;
    }
  }
  EXPECT_TRUE(logged_order_delete);
}

TEST_P(StoreContractTest, ErasingACustomerKeepsOrdersButNoPersonalData) {
  const Workspace w = MakeWorkspace("shop");
  Customer c;
  c.external_id = "c1";
  c.email = "ada@example.com";
  c.name = "Ada";
  c.country = "DE";
  c.attributes["plan"] = std::string("gold");
  c.consent[Channel::kEmail] = Consent{true, "form", clock_.Now()};
  {
    auto tx = store_->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->UpsertCustomers(std::span(&c, 1), clock_.Now()));
    const auto ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o1", ids[0], 100, 1000)};
    ASSERT_TRUE(tx->InsertOrders(orders));
    std::vector<Event> events(2);
    for (int i = 0; i < 2; ++i) {
      events[i].type = EventType::kTrack;
      events[i].name = "Viewed";
      events[i].message_id = "m" + std::to_string(i);
      events[i].user_id = i == 0 ? "c1" : "c2";
      events[i].customer = ids[static_cast<std::size_t>(i)];
      events[i].timestamp = Timestamp::FromSeconds(100);
      events[i].received_at = Timestamp::FromSeconds(100);
    }
    ASSERT_TRUE(tx->InsertEvents(events));
    ASSERT_TRUE(tx->LinkAnonymousId("browser-1", ids[0], clock_.Now()));
    ASSERT_TRUE(tx->Commit());
  }
  const CustomerId id = store_->FindCustomer(w.id, "c1").value()->id;
  clock_.Advance(kMicrosPerSecond);
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_TRUE(tx->EraseCustomer("c1", clock_.Now()).value());
    EXPECT_FALSE(tx->EraseCustomer("c1", clock_.Now()).value());
    EXPECT_FALSE(tx->FindAnonymousId("browser-1").value().valid());
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_FALSE(store_->FindCustomer(w.id, "c1").value().has_value());
  const auto erased = store_->FindCustomer(w.id, "erased-" + std::to_string(id.value)).value();
  ASSERT_TRUE(erased.has_value());
  EXPECT_EQ(erased->id, id);
  EXPECT_EQ(erased->email, "");
  EXPECT_EQ(erased->name, "");
  EXPECT_EQ(erased->country, "");
  EXPECT_TRUE(erased->attributes.empty());
  EXPECT_TRUE(erased->consent.empty());
  EXPECT_EQ(erased->updated_at, clock_.Now());
  // The order stays (aggregates don't change); only c2's event is left.
  const auto order = store_->FindOrder(w.id, "o1").value();
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->customer, id);
  std::vector<std::string> users;
  ASSERT_TRUE(store_->ScanEvents(w.id, [&](const Event& e) { users.push_back(e.user_id); }));
  EXPECT_EQ(users, std::vector<std::string>{"c2"});
  // The shop's id starts a new customer from now on.
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_NE(Resolve(*tx, {"c1"}, clock_.Now())[0], id);
    ASSERT_TRUE(tx->Commit());
  }
}

TEST_P(StoreContractTest, ImportJobsAreStoredUpdatedAndFailedAtRestart) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  ImportJob job;
  job.workspace = w.id;
  job.kind = "orders";
  job.file_name = "orders.csv";
  job.bytes_total = 1234;
  job.issues = "";
  job.created_at = clock_.Now();
  const ImportJob a = store_->CreateImportJob(job).value();
  EXPECT_GT(a.id, 0);
  ImportJob b = store_->CreateImportJob(job).value();
  EXPECT_NE(a.id, b.id);
  auto found = store_->FindImportJob(w.id, a.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->status, JobStatus::kQueued);
  EXPECT_EQ(found->kind, "orders");
  EXPECT_EQ(found->file_name, "orders.csv");
  EXPECT_EQ(found->bytes_total, 1234);
  EXPECT_EQ(found->created_at, clock_.Now());
  EXPECT_FALSE(found->finished_at.has_value());
  EXPECT_FALSE(store_->FindImportJob(other.id, a.id).value().has_value());

  b.status = JobStatus::kSucceeded;
  b.bytes_read = 1234;
  b.rows = 10;
  b.rows_rejected = 1;
  b.inserted = 7;
  b.updated = 1;
  b.unchanged = 1;
  b.issues = "3\t2\tnot a date\n";
  b.finished_at = clock_.Now();
  ASSERT_TRUE(store_->UpdateImportJob(b));
  found = store_->FindImportJob(w.id, b.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->status, JobStatus::kSucceeded);
  EXPECT_EQ(found->rows, 10);
  EXPECT_EQ(found->rows_rejected, 1);
  EXPECT_EQ(found->inserted, 7);
  EXPECT_EQ(found->updated, 1);
  EXPECT_EQ(found->unchanged, 1);
  EXPECT_EQ(found->issues, "3\t2\tnot a date\n");
  EXPECT_EQ(found->finished_at, clock_.Now());

  ImportJob missing = b;
  missing.id = 999999;
  EXPECT_EQ(store_->UpdateImportJob(missing).error().code(), ErrorCode::kNotFound);

  clock_.Advance(kMicrosPerSecond);
  EXPECT_EQ(store_->FailUnfinishedImportJobs("the server stopped", clock_.Now()).value(), 1);
  found = store_->FindImportJob(w.id, a.id).value();
  EXPECT_EQ(found->status, JobStatus::kFailed);
  EXPECT_EQ(found->error, "the server stopped");
  EXPECT_EQ(found->finished_at, clock_.Now());
  EXPECT_EQ(store_->FindImportJob(w.id, b.id).value()->status, JobStatus::kSucceeded);
  EXPECT_EQ(store_->FailUnfinishedImportJobs("again", clock_.Now()).value(), 0);
}

TEST_P(StoreContractTest, WorkspaceSettingsChangeAndModelRunsPersist) {
  Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_EQ(w.purchase_model, PurchaseModel::kParetoNbd);
  EXPECT_EQ(store_->FindWorkspace("shop").value().purchase_model, PurchaseModel::kParetoNbd);
  w.purchase_model = PurchaseModel::kBgNbd;
  w.activity_window_days = 90;
  w.retention_basis = RetentionBasis::kBoth;
  EXPECT_FALSE(w.allow_private_webhooks);
  w.allow_private_webhooks = true;
  w.brand_colour = "#0a7f5a";
  ASSERT_TRUE(store_->UpdateWorkspace(w));
  const Workspace read = store_->FindWorkspace("shop").value();
  EXPECT_TRUE(read.allow_private_webhooks);
  EXPECT_EQ(read.brand_colour, "#0a7f5a");
  EXPECT_EQ(store_->FindWorkspace("other").value().brand_colour, "");
  EXPECT_FALSE(store_->FindWorkspace("other").value().allow_private_webhooks);
  EXPECT_EQ(read.purchase_model, PurchaseModel::kBgNbd);
  EXPECT_EQ(read.activity_window_days, 90);
  EXPECT_EQ(read.retention_basis, RetentionBasis::kBoth);
  EXPECT_EQ(store_->FindWorkspace("other").value().purchase_model, PurchaseModel::kParetoNbd);
  Workspace gone = w;
  gone.id = WorkspaceId{999999};
  EXPECT_EQ(store_->UpdateWorkspace(gone).error().code(), ErrorCode::kNotFound);

  ModelRun run;
  run.workspace = w.id;
  run.model = "bgnbd";
  run.status = JobStatus::kRunning;
  run.calibration_end = {1997, 9, 30};
  run.created_at = clock_.Now();
  ModelRun a = store_->CreateModelRun(run).value();
  EXPECT_GT(a.id, 0);
  run.model = "gamma_gamma";
  ModelRun b = store_->CreateModelRun(run).value();
  EXPECT_GT(b.id, a.id);

  a.status = JobStatus::kSucceeded;
  a.params = {{"r", 0.2425982}, {"alpha", 4.4136842}, {"a", 0.1 + 0.2}, {"b", 2.4261667}};
  a.std_errors = {{"r", 0.0125}, {"alpha", 0.378}, {"a", 0.186}, {"b", 0.705}};
  a.log_likelihood = -9582.4292;
  a.customers = 2357;
  a.evaluations = 61;
  a.seconds = 0.0125;
  a.unit_days = 7;
  a.finished_at = clock_.Now();
  ASSERT_TRUE(store_->UpdateModelRun(a));
  const auto bgnbd = store_->ListModelRuns(w.id, "bgnbd", 10).value();
  ASSERT_EQ(bgnbd.size(), 1u);
  EXPECT_EQ(bgnbd[0].status, JobStatus::kSucceeded);
  EXPECT_EQ(bgnbd[0].params, a.params);  // exact: doubles round-trip
  EXPECT_EQ(bgnbd[0].std_errors, a.std_errors);
  EXPECT_EQ(bgnbd[0].log_likelihood, a.log_likelihood);
  EXPECT_EQ(bgnbd[0].customers, 2357);
  EXPECT_EQ(bgnbd[0].evaluations, 61);
  EXPECT_EQ(bgnbd[0].seconds, 0.0125);
  EXPECT_EQ(bgnbd[0].calibration_end, (CivilDate{1997, 9, 30}));
  EXPECT_EQ(bgnbd[0].finished_at, clock_.Now());
  const auto all = store_->ListModelRuns(w.id, "", 10).value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, b.id);  // newest first
  EXPECT_EQ(store_->ListModelRuns(w.id, "", 1).value().size(), 1u);
  const auto found = store_->FindModelRun(w.id, a.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->model, "bgnbd");
  EXPECT_EQ(found->params, a.params);
  EXPECT_FALSE(store_->FindModelRun(other.id, a.id).value().has_value());
  EXPECT_FALSE(store_->FindModelRun(w.id, 999999).value().has_value());
  EXPECT_TRUE(store_->ListModelRuns(other.id, "", 10).value().empty());
  ModelRun foreign = a;
  foreign.workspace = other.id;
  EXPECT_EQ(store_->UpdateModelRun(foreign).error().code(), ErrorCode::kNotFound);

  EXPECT_EQ(store_->FailUnfinishedModelRuns("the server stopped", clock_.Now()).value(), 1);
  const auto after = store_->ListModelRuns(w.id, "gamma_gamma", 10).value();
  EXPECT_EQ(after[0].status, JobStatus::kFailed);
  EXPECT_EQ(after[0].error, "the server stopped");
  EXPECT_EQ(store_->ListModelRuns(w.id, "bgnbd", 10).value()[0].status, JobStatus::kSucceeded);
}

TEST_P(StoreContractTest, SegmentsAreSavedReplacedListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  SegmentDefinition vip{0, w.id, "vip", "revenue_total > 500", clock_.Now(), clock_.Now()};
  const SegmentDefinition a = store_->SaveSegment(vip).value();
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.expr, "revenue_total > 500");
  clock_.Advance(kMicrosPerSecond);
  vip.expr = "revenue_total > 1000";
  vip.created_at = vip.updated_at = clock_.Now();
  const SegmentDefinition b = store_->SaveSegment(vip).value();  // replaces
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.expr, "revenue_total > 1000");
  EXPECT_EQ(b.created_at, a.created_at);
  EXPECT_EQ(b.updated_at, clock_.Now());
  ASSERT_TRUE(store_->SaveSegment({0, w.id, "Active-2", "orders_count >= 1", clock_.Now(), clock_.Now()}));
  ASSERT_TRUE(store_->SaveSegment({0, other.id, "vip", "mrr > 0", clock_.Now(), clock_.Now()}));
  const auto list = store_->ListSegments(w.id).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "Active-2");  // byte order
  EXPECT_EQ(list[1].name, "vip");
  EXPECT_EQ(store_->FindSegment(other.id, "vip").value()->expr, "mrr > 0");
  EXPECT_FALSE(store_->FindSegment(w.id, "nope").value().has_value());
  ASSERT_TRUE(store_->DeleteSegment(w.id, "vip"));
  EXPECT_EQ(store_->DeleteSegment(w.id, "vip").error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->FindSegment(w.id, "vip").value().has_value());
  EXPECT_TRUE(store_->FindSegment(other.id, "vip").value().has_value());
  EXPECT_EQ(ValidateSegmentName("bad name").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ValidateSegmentName("at_risk-2.v1"));
}

TEST_P(StoreContractTest, SegmentsAreRenamedAndFoundById) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  const SegmentDefinition a = store_->SaveSegment({0, w.id, "vip", "revenue_total > 500", clock_.Now(), clock_.Now()}).value();
  ASSERT_TRUE(store_->SaveSegment({0, w.id, "new", "orders_count = 1", clock_.Now(), clock_.Now()}));
  clock_.Advance(kMicrosPerSecond);
  SegmentDefinition renamed = a;
  renamed.name = "best";
  renamed.expr = "revenue_total > 900";
  renamed.updated_at = clock_.Now();
  const SegmentDefinition b = store_->UpdateSegment(renamed).value();
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.name, "best");
  EXPECT_EQ(b.expr, "revenue_total > 900");
  EXPECT_EQ(b.created_at, a.created_at);
  EXPECT_EQ(b.updated_at, clock_.Now());
  EXPECT_EQ(store_->FindSegmentById(w.id, a.id).value()->name, "best");
  EXPECT_FALSE(store_->FindSegmentById(other.id, a.id).value().has_value());  // another workspace's
  renamed.name = "new";
  EXPECT_EQ(store_->UpdateSegment(renamed).error().code(), ErrorCode::kAlreadyExists);
  renamed.workspace = other.id;
  renamed.name = "x";
  EXPECT_EQ(store_->UpdateSegment(renamed).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->FindSegmentById(w.id, a.id).value()->name, "best");
}

TEST_P(StoreContractTest, SegmentMembershipKeepsMembersTransitionsAndSizes) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const SegmentDefinition seg = store_->SaveSegment({0, w.id, "vip", "orders_count > 1", clock_.Now(), clock_.Now()}).value();
  const Timestamp t1 = clock_.Now();
  ASSERT_TRUE(store_->ApplySegmentRefresh({w.id, seg.id, t1, {ids[0], ids[2]}, {}, 2, true}));
  clock_.Advance(kMicrosPerSecond);
  const Timestamp t2 = clock_.Now();
  ASSERT_TRUE(store_->ApplySegmentRefresh({w.id, seg.id, t2, {ids[1]}, {ids[0]}, 2, true}));
  ASSERT_TRUE(store_->ApplySegmentRefresh({w.id, seg.id, Timestamp{t2.micros + kMicrosPerSecond}, {}, {}, 2, false}));

  const auto members = store_->ListSegmentMembers(w.id, seg.id, 0, 0).value();
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].external_id, "c2");
  EXPECT_EQ(members[0].since, t2);
  EXPECT_EQ(members[1].external_id, "c3");
  EXPECT_EQ(members[1].since, t1);
  const auto page = store_->ListSegmentMembers(w.id, seg.id, members[0].customer.value, 1).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].external_id, "c3");
  EXPECT_TRUE(store_->ListSegmentMembers(other.id, seg.id, 0, 0).value().empty());

  const auto log = store_->ListSegmentTransitions(w.id, seg.id, 0, 100).value();
  ASSERT_EQ(log.size(), 4u);
  std::vector<std::string> seen;
  for (const SegmentTransition& t : log) seen.push_back((t.entered ? "+" : "-") + t.external_id);
  EXPECT_EQ(seen, (std::vector<std::string>{"+c1", "+c3", "+c2", "-c1"}));
  EXPECT_EQ(log[3].at, t2);
  EXPECT_LT(log[0].id, log[3].id);
  const auto rest = store_->ListSegmentTransitions(w.id, seg.id, log[1].id, 100).value();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].external_id, "c2");
  EXPECT_TRUE(store_->ListSegmentTransitions(other.id, seg.id, 0, 100).value().empty());

  // One customer's segments and transitions.
  const auto of_c1 = store_->CustomerSegmentTransitions(w.id, ids[0]).value();
  ASSERT_EQ(of_c1.size(), 2u);
  EXPECT_TRUE(of_c1[0].entered);
  EXPECT_FALSE(of_c1[1].entered);
  EXPECT_EQ(of_c1[1].segment_id, seg.id);
  EXPECT_EQ(of_c1[1].at, t2);
  EXPECT_TRUE(store_->CustomerSegments(w.id, ids[0]).value().empty());
  const auto of_c3 = store_->CustomerSegments(w.id, ids[2]).value();
  ASSERT_EQ(of_c3.size(), 1u);
  EXPECT_EQ(of_c3[0], std::make_pair(seg.id, t1));
  EXPECT_TRUE(store_->CustomerSegments(other.id, ids[2]).value().empty());
  EXPECT_TRUE(store_->CustomerSegmentTransitions(other.id, ids[0]).value().empty());

  const auto sizes = store_->ListSegmentSizes(w.id, seg.id, Timestamp{0}).value();
  ASSERT_EQ(sizes.size(), 2u);  // the third refresh didn't record its size
  EXPECT_EQ(sizes[0].at, t1);
  EXPECT_EQ(sizes[1].at, t2);
  EXPECT_EQ(sizes[1].size, 2);
  EXPECT_EQ(store_->ListSegmentSizes(w.id, seg.id, t2).value().size(), 1u);

  // Adding a member twice fails and changes nothing.
  EXPECT_FALSE(store_->ApplySegmentRefresh({w.id, seg.id, t2, {ids[2], ids[0]}, {}, 3, true}));
  EXPECT_EQ(store_->ListSegmentMembers(w.id, seg.id, 0, 0).value().size(), 2u);
  EXPECT_EQ(store_->ListSegmentTransitions(w.id, seg.id, 0, 100).value().size(), 4u);
  // A refresh of another workspace's segment is refused.
  EXPECT_EQ(store_->ApplySegmentRefresh({other.id, seg.id, t2, {ids[0]}, {}, 3, true}).error().code(),
            ErrorCode::kNotFound);

  // Deleting the segment deletes its membership.
  ASSERT_TRUE(store_->DeleteSegment(w.id, "vip"));
  EXPECT_TRUE(store_->ListSegmentMembers(w.id, seg.id, 0, 0).value().empty());
  EXPECT_TRUE(store_->ListSegmentTransitions(w.id, seg.id, 0, 100).value().empty());
  EXPECT_TRUE(store_->ListSegmentSizes(w.id, seg.id, Timestamp{0}).value().empty());
}

TEST_P(StoreContractTest, SurveysAreSavedReplacedAndFound) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  SurveyRecord nps{0, w.id, "nps", R"({"name":"nps","v":1})", clock_.Now(), clock_.Now()};
  const SurveyRecord a = store_->SaveSurvey(nps).value();
  EXPECT_GT(a.id, 0);
  clock_.Advance(kMicrosPerSecond);
  nps.definition = R"({"name":"nps","v":2})";
  nps.created_at = nps.updated_at = clock_.Now();
  const SurveyRecord b = store_->SaveSurvey(nps).value();
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.definition, R"({"name":"nps","v":2})");
  EXPECT_EQ(b.created_at, a.created_at);
  EXPECT_EQ(b.updated_at, clock_.Now());
  ASSERT_TRUE(store_->SaveSurvey({0, w.id, "csat", "{}", clock_.Now(), clock_.Now()}));
  ASSERT_TRUE(store_->SaveSurvey({0, other.id, "nps", "{}", clock_.Now(), clock_.Now()}));
  const auto list = store_->ListSurveys(w.id).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "csat");
  EXPECT_EQ(store_->FindSurvey(w.id, "nps").value()->id, a.id);
  EXPECT_EQ(store_->FindSurveyById(w.id, a.id).value()->name, "nps");
  EXPECT_FALSE(store_->FindSurveyById(other.id, a.id).value().has_value());
  EXPECT_EQ(store_->FindSurvey(other.id, "nps").value()->definition, "{}");
}

TEST_P(StoreContractTest, SurveyInvitationsAndResponses) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const SurveyRecord s = store_->SaveSurvey({0, w.id, "nps", "{}", clock_.Now(), clock_.Now()}).value();
  const Timestamp now = clock_.Now(), later{clock_.Now().micros + kMicrosPerDay};
  const std::vector<SurveyInvitation> invites{{0, w.id, s.id, ids[0], 11, now, later}, {0, w.id, s.id, ids[1], 12, now, later}};
  ASSERT_TRUE(store_->CreateSurveyInvitations(invites));
  // A repeated nonce fails and stores none of its batch.
  const std::vector<SurveyInvitation> again{{0, w.id, s.id, ids[0], 13, now, later}, {0, w.id, s.id, ids[1], 12, now, later}};
  EXPECT_FALSE(store_->CreateSurveyInvitations(again));
  EXPECT_FALSE(store_->FindSurveyInvitation(w.id, s.id, 13).value().has_value());
  const auto found = store_->FindSurveyInvitation(w.id, s.id, 12).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->customer, ids[1]);
  EXPECT_EQ(found->expires_at, later);
  EXPECT_FALSE(store_->FindSurveyInvitation(other.id, s.id, 12).value().has_value());
  EXPECT_EQ(store_->CustomerExternalId(w.id, ids[1]).value(), std::optional<std::string>("c2"));
  EXPECT_EQ(store_->CountSurveyInvitations(w.id, s.id).value(), 2);
  EXPECT_EQ(store_->CountSurveyInvitations(other.id, s.id).value(), 0);
  EXPECT_FALSE(store_->CustomerExternalId(other.id, ids[1]).value().has_value());

  const SurveyResponse first = store_->SaveSurveyResponse({0, w.id, s.id, ids[1], 12, R"({"nps":3})", now, now}).value();
  clock_.Advance(kMicrosPerSecond);
  const SurveyResponse second =
      store_->SaveSurveyResponse({0, w.id, s.id, ids[1], 12, R"({"nps":9})", clock_.Now(), clock_.Now()}).value();
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.answers, R"({"nps":9})");
  EXPECT_EQ(second.created_at, now);
  EXPECT_EQ(second.updated_at, clock_.Now());
  ASSERT_TRUE(store_->SaveSurveyResponse({0, w.id, s.id, ids[0], 11, R"({"nps":10})", now, now}));
  const auto list = store_->ListSurveyResponses(w.id, s.id, 0, 10).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].nonce, 12);
  EXPECT_EQ(store_->ListSurveyResponses(w.id, s.id, list[0].id, 10).value().size(), 1u);
  EXPECT_TRUE(store_->ListSurveyResponses(other.id, s.id, 0, 10).value().empty());
  EXPECT_FALSE(store_->FindSurveyResponse(other.id, s.id, 12).value().has_value());
  const auto of_customer = store_->CustomerSurveyResponses(w.id, ids[1]).value();
  ASSERT_EQ(of_customer.size(), 1u);
  EXPECT_EQ(of_customer[0].answers, R"({"nps":9})");
  EXPECT_EQ(of_customer[0].survey_id, s.id);
  EXPECT_TRUE(store_->CustomerSurveyResponses(other.id, ids[1]).value().empty());

  // The latest NPS answer per customer, as of a time.
  EXPECT_TRUE(store_->LatestNpsScores(w.id, clock_.Now()).value().empty());  // none had a score set
  SurveyResponse scored{0, w.id, s.id, ids[1], 12, R"({"nps":2})", now, Timestamp{now.micros + 10}};
  scored.nps_score = 2;
  scored.nps_category = "detractor";
  EXPECT_EQ(store_->SaveSurveyResponse(scored).value().nps_score, 2);
  SurveyResponse newer = scored;
  newer.nonce = 14;
  newer.answers = R"({"nps":9})";
  newer.nps_score = 9;
  newer.nps_category = "promoter";
  newer.updated_at = Timestamp{now.micros + 20};
  ASSERT_TRUE(store_->CreateSurveyInvitations(std::vector<SurveyInvitation>{{0, w.id, s.id, ids[1], 14, now, now}}));
  ASSERT_TRUE(store_->SaveSurveyResponse(newer));
  const auto latest = store_->LatestNpsScores(w.id, Timestamp{now.micros + 30}).value();
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ((std::tuple{latest[0].customer, latest[0].score, latest[0].category}),
            (std::tuple{ids[1], 9, std::string("promoter")}));
  const auto before = store_->LatestNpsScores(w.id, Timestamp{now.micros + 15}).value();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].score, 2);
  EXPECT_TRUE(store_->LatestNpsScores(other.id, Timestamp{now.micros + 30}).value().empty());
}

TEST_P(StoreContractTest, InvitationHistoryAndLatestEvents) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    std::vector<Event> events;
    auto add = [&](const std::string& mid, const std::string& name, int customer, std::int64_t seconds) {
      Event e;
      e.name = name;
      e.message_id = mid;
      e.user_id = customer == 0 ? "c1" : "c2";
      e.customer = ids[static_cast<std::size_t>(customer)];
      e.timestamp = e.received_at = Timestamp::FromSeconds(seconds);
      e.properties_json = "{}";
      events.push_back(e);
    };
    add("m1", "Order Completed", 0, 100);
    add("m2", "Order Completed", 0, 300);
    add("m3", "Order Completed", 1, 200);
    add("m4", "Page Viewed", 1, 900);
    ASSERT_TRUE(tx->InsertEvents(events));
    ASSERT_TRUE(tx->Commit());
  }
  const auto latest = store_->LatestEvents(w.id, "Order Completed").value();
  ASSERT_EQ(latest.size(), 2u);
  const CustomerId c1 = store_->FindCustomer(w.id, "c1").value()->id;
  const auto at = [&](CustomerId c) {
    for (const auto& [id, t] : latest) {
      if (id == c) return t;
    }
    return Timestamp{};
  };
  EXPECT_EQ(at(c1), Timestamp::FromSeconds(300));
  EXPECT_EQ(at(store_->FindCustomer(w.id, "c2").value()->id), Timestamp::FromSeconds(200));
  EXPECT_TRUE(store_->LatestEvents(other.id, "Order Completed").value().empty());
  EXPECT_TRUE(store_->LatestEvents(w.id, "Nothing").value().empty());

  const SurveyRecord a = store_->SaveSurvey({0, w.id, "a", "{}", clock_.Now(), clock_.Now()}).value();
  const SurveyRecord b = store_->SaveSurvey({0, w.id, "b", "{}", clock_.Now(), clock_.Now()}).value();
  const Timestamp t1 = Timestamp::FromSeconds(1000), t2 = Timestamp::FromSeconds(2000);
  const std::vector<SurveyInvitation> first{{0, w.id, a.id, ids[0], 1, t1, t2}};
  const std::vector<SurveyInvitation> second{{0, w.id, b.id, ids[0], 2, t2, t2}};
  const std::vector<SurveyInvitation> third{{0, w.id, a.id, ids[1], 3, t2, t2}};
  ASSERT_TRUE(store_->CreateSurveyInvitations(first));
  ASSERT_TRUE(store_->CreateSurveyInvitations(second));
  ASSERT_TRUE(store_->CreateSurveyInvitations(third));
  std::vector<std::tuple<std::int64_t, CustomerId, Timestamp>> seen;
  ASSERT_TRUE(store_->ScanSurveyInvitations(w.id, [&](std::int64_t s, CustomerId c, Timestamp t) {
    seen.emplace_back(s, c, t);
  }));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_tuple(a.id, ids[0], t1));
  EXPECT_EQ(seen[1], std::make_tuple(b.id, ids[0], t2));
  int others = 0;
  ASSERT_TRUE(store_->ScanSurveyInvitations(other.id, [&](std::int64_t, CustomerId, Timestamp) { ++others; }));
  EXPECT_EQ(others, 0);
}

TEST_P(StoreContractTest, FollowUpsAreCreatedOncePerResponseAndWorkedThrough) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const SurveyRecord s = store_->SaveSurvey({0, w.id, "nps", "{}", clock_.Now(), clock_.Now()}).value();
  const Timestamp now = clock_.Now();
  FollowUpItem f;
  f.workspace = w.id;
  f.survey_id = s.id;
  f.customer = ids[0];
  f.nonce = 7;
  f.score = 3;
  f.created_at = f.updated_at = now;
  f.webhook_url = "https://hooks.example.com/x";
  f.notify_state = "pending";
  f.notify_next_at = Timestamp{now.micros + (60 * kMicrosPerSecond)};
  const auto [made, created] = store_->CreateFollowUp(f).value();
  EXPECT_TRUE(created);
  EXPECT_GT(made.id, 0);
  EXPECT_EQ(made.status, "open");
  EXPECT_EQ(made.score, 3);
  EXPECT_EQ(made.webhook_url, f.webhook_url);
  // The same response again: the stored item, unchanged.
  FollowUpItem again = f;
  again.score = 1;
  const auto [same, created_again] = store_->CreateFollowUp(again).value();
  EXPECT_FALSE(created_again);
  EXPECT_EQ(same.id, made.id);
  EXPECT_EQ(same.score, 3);

  FollowUpItem second = f;
  second.customer = ids[1];
  second.nonce = 8;
  second.notify_state = "none";
  second.webhook_url = "";
  const FollowUpItem other_item = store_->CreateFollowUp(second).value().first;

  FollowUpItem changed = made;
  changed.status = "assigned";
  changed.assignee = "anna@shop.example";
  changed.note = "called, sending a voucher";
  changed.updated_at = Timestamp{now.micros + kMicrosPerSecond};
  ASSERT_TRUE(store_->UpdateFollowUp(changed));
  const FollowUpItem read = store_->FindFollowUp(w.id, made.id).value().value();
  EXPECT_EQ(read.status, "assigned");
  EXPECT_EQ(read.assignee, "anna@shop.example");
  EXPECT_EQ(read.note, "called, sending a voucher");
  EXPECT_EQ(read.updated_at, changed.updated_at);
  EXPECT_EQ(read.created_at, now);
  FollowUpItem foreign = changed;
  foreign.workspace = other.id;
  EXPECT_EQ(store_->UpdateFollowUp(foreign).error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->FindFollowUp(other.id, made.id).value().has_value());

  EXPECT_EQ(store_->ListFollowUps(w.id, "", 0, 10).value().size(), 2u);
  const auto assigned = store_->ListFollowUps(w.id, "assigned", 0, 10).value();
  ASSERT_EQ(assigned.size(), 1u);
  EXPECT_EQ(assigned[0].id, made.id);
  EXPECT_EQ(store_->ListFollowUps(w.id, "", made.id, 10).value().at(0).id, other_item.id);
  EXPECT_TRUE(store_->ListFollowUps(other.id, "", 0, 10).value().empty());

  // Notifications: due only once their time has come, and only while pending.
  EXPECT_TRUE(store_->DueFollowUpNotifications(now, 10).value().empty());
  const Timestamp later{now.micros + 2 * (60 * kMicrosPerSecond)};
  const auto due = store_->DueFollowUpNotifications(later, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, made.id);
  ASSERT_TRUE(store_->RecordFollowUpNotification(made.id, "pending", 1, Timestamp{later.micros + (60 * kMicrosPerSecond)},
                                                 "HTTP 500"));
  EXPECT_TRUE(store_->DueFollowUpNotifications(later, 10).value().empty());
  ASSERT_TRUE(store_->RecordFollowUpNotification(made.id, "sent", 2, later, ""));
  EXPECT_TRUE(store_->DueFollowUpNotifications(Timestamp{later.micros + kMicrosPerDay}, 10).value().empty());
  const FollowUpItem sent = store_->FindFollowUp(w.id, made.id).value().value();
  EXPECT_EQ(sent.notify_state, "sent");
  EXPECT_EQ(sent.notify_attempts, 2);
  EXPECT_EQ(store_->RecordFollowUpNotification(999999, "sent", 1, later, "").error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, LeanScansReturnTheFactsInIdRanges) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3"}, clock_.Now());
    std::vector<Order> orders{MakeOrder("o1", ids[0], 100, 1000), MakeOrder("o2", ids[1], 200, 2000),
                              MakeOrder("o3", ids[2], 300, 3000)};
    orders[1].status = OrderStatus::kCancelled;
    orders[2].lines.push_back({"sku", 1, 300});
    orders[2].refunds.push_back({Timestamp::FromSeconds(5000), 30});
    orders[2].refunds.push_back({Timestamp::FromSeconds(4000), 20});
    ASSERT_TRUE(tx->InsertOrders(orders));
    for (const char* sid : {"s1", "s2"}) {
      Subscription s;
      s.external_id = sid;
      s.customer = ids[0];
      s.currency = Eur();
      s.started_at = Timestamp::FromSeconds(1000);
      s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kMonth, 900, 1, 0,
                           SubscriptionStatus::kActive});
      ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    }
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    std::vector<Order> theirs{MakeOrder("x1", Resolve(*tx, {"x"}, clock_.Now())[0], 1, 1)};
    ASSERT_TRUE(tx->InsertOrders(theirs));
    ASSERT_TRUE(tx->Commit());
  }
  constexpr std::int64_t kAll = std::numeric_limits<std::int64_t>::max();
  std::vector<CustomerKey> keys;
  ASSERT_TRUE(store_->ScanCustomerKeys(w.id, 0, kAll, [&](const CustomerKey& k) { keys.push_back(k); }));
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].id, ids[0]);
  EXPECT_EQ(keys[2].external_id, "c3");
  keys.clear();
  ASSERT_TRUE(store_->ScanCustomerKeys(w.id, ids[1].value, ids[1].value, [&](const CustomerKey& k) { keys.push_back(k); }));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].external_id, "c2");

  std::vector<OrderFact> orders;
  ASSERT_TRUE(store_->ScanOrderFacts(w.id, 0, kAll, [&](const OrderFact& o) { orders.push_back(o); }));
  ASSERT_EQ(orders.size(), 3u);
  EXPECT_LT(orders[0].id, orders[1].id);
  EXPECT_EQ(orders[0].customer, ids[0]);
  EXPECT_EQ(orders[0].placed_at, Timestamp::FromSeconds(1000));
  EXPECT_EQ(orders[0].total_minor, 100);
  EXPECT_EQ(orders[1].status, OrderStatus::kCancelled);
  const std::int64_t third = orders[2].id;
  orders.clear();
  ASSERT_TRUE(store_->ScanOrderFacts(w.id, third, third, [&](const OrderFact& o) { orders.push_back(o); }));
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].customer, ids[2]);

  std::vector<RefundFact> refunds;
  ASSERT_TRUE(store_->ScanRefundFacts(w.id, 0, kAll, [&](const RefundFact& r) { refunds.push_back(r); }));
  ASSERT_EQ(refunds.size(), 2u);
  EXPECT_EQ(refunds[0].order_id, third);
  EXPECT_EQ(refunds[0].customer, ids[2]);
  EXPECT_EQ(refunds[0].refunded_at, Timestamp::FromSeconds(4000));
  EXPECT_EQ(refunds[1].amount_minor, 30);
  refunds.clear();
  ASSERT_TRUE(store_->ScanRefundFacts(w.id, 0, third - 1, [&](const RefundFact& r) { refunds.push_back(r); }));
  EXPECT_TRUE(refunds.empty());

  std::vector<Subscription> subs;
  ASSERT_TRUE(store_->ScanSubscriptionRange(w.id, 0, kAll, [&](const Subscription& s) { subs.push_back(s); }));
  ASSERT_EQ(subs.size(), 2u);
  const std::int64_t second = subs[1].id.value;
  subs.clear();
  ASSERT_TRUE(store_->ScanSubscriptionRange(w.id, second, kAll, [&](const Subscription& s) { subs.push_back(s); }));
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].external_id, "s2");
  EXPECT_EQ(subs[0].customer_external_id, "c1");
  ASSERT_EQ(subs[0].history.size(), 1u);
  // Nothing of another workspace.
  std::int64_t n = 0;
  ASSERT_TRUE(store_->ScanOrderFacts(other.id, 0, kAll, [&](const OrderFact&) { ++n; }));
  EXPECT_EQ(n, 1);
}

// ---- Loyalty

namespace {

// A transfer of `points` to customer `c`'s wallet at `at_s` seconds, optional fields unset.
LoyaltyTransferRecord Earn(CustomerId c, std::string id, std::int64_t points, std::int64_t at_s) {
  LoyaltyTransferRecord t;
  t.customer = c;
  t.id = std::move(id);
  t.kind = "earn";
  t.from_account = "issuance";
  t.to_account = "wallet:" + std::to_string(c.value);
  t.points = points;
  t.reason = "order";
  t.source_kind = "order";
  t.source_ref = "o-" + t.id;
  t.at = Timestamp::FromSeconds(at_s);
  return t;
}

// A transfer with every field set, optionals included.
LoyaltyTransferRecord FullTransfer(CustomerId c, std::string id) {
  LoyaltyTransferRecord t = Earn(c, std::move(id), 250, 1'000);
  t.kind = "reverse_earn";
  t.from_account = "pending:" + std::to_string(c.value);
  t.to_account = "issuance";
  t.requested = 300;
  t.reason = "refund of order 17, \"partial\"";
  t.source_kind = "admin";
  t.source_ref = "ticket-9";
  t.admin_user_id = 7;
  t.refers_to = "earn:order:17";
  t.expires_at = Timestamp::FromSeconds(9'000);
  t.pending_until = Timestamp::FromSeconds(2'000);
  return t;
}

void ExpectSameTransfer(const LoyaltyTransferRecord& got, const LoyaltyTransferRecord& want) {
  EXPECT_EQ(got.customer, want.customer);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.from_account, want.from_account);
  EXPECT_EQ(got.to_account, want.to_account);
  EXPECT_EQ(got.points, want.points);
  EXPECT_EQ(got.requested, want.requested);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.source_kind, want.source_kind);
  EXPECT_EQ(got.source_ref, want.source_ref);
  EXPECT_EQ(got.admin_user_id, want.admin_user_id);
  EXPECT_EQ(got.at, want.at);
  EXPECT_EQ(got.refers_to, want.refers_to);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.pending_until, want.pending_until);
}

std::vector<std::string> TransferIds(const std::vector<LoyaltyTransferRecord>& ts) {
  std::vector<std::string> ids;
  for (const auto& t : ts) ids.push_back(t.id);
  return ids;
}

LoyaltyMember Member(CustomerId c, std::int64_t available, std::optional<std::int64_t> due_s) {
  LoyaltyMember m;
  m.customer = c;
  m.available = available;
  m.earned = available;
  m.transfers = 1;
  m.tier_since = Timestamp::FromSeconds(100);
  if (due_s) m.next_due_at = Timestamp::FromSeconds(*due_s);
  m.enrolled_at = Timestamp::FromSeconds(100);
  m.updated_at = Timestamp::FromSeconds(200);
  return m;
}

void ExpectSameMember(const LoyaltyMember& got, const LoyaltyMember& want) {
  EXPECT_EQ(got.customer, want.customer);
  EXPECT_EQ(got.available, want.available);
  EXPECT_EQ(got.pending, want.pending);
  EXPECT_EQ(got.held, want.held);
  EXPECT_EQ(got.earned, want.earned);
  EXPECT_EQ(got.redeemed, want.redeemed);
  EXPECT_EQ(got.transfers, want.transfers);
  EXPECT_EQ(got.tier, want.tier);
  EXPECT_EQ(got.tier_since, want.tier_since);
  EXPECT_EQ(got.tier_review_at, want.tier_review_at);
  EXPECT_EQ(got.next_due_at, want.next_due_at);
  EXPECT_EQ(got.referral_code, want.referral_code);
  EXPECT_EQ(got.referred_by, want.referred_by);
  EXPECT_EQ(got.enrolled_at, want.enrolled_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
}

LoyaltyReward Reward(WorkspaceId ws, std::string name, std::optional<std::int64_t> stock) {
  LoyaltyReward r;
  r.workspace = ws;
  r.name = std::move(name);
  r.kind = "voucher";
  r.title = "A reward";
  r.points = 500;
  r.stock = stock;
  r.details = "{}";
  r.created_at = r.updated_at = Timestamp::FromSeconds(100);
  return r;
}

void ExpectSameRedemption(const LoyaltyRedemption& got, const LoyaltyRedemption& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.customer, want.customer);
  EXPECT_EQ(got.reward_id, want.reward_id);
  EXPECT_EQ(got.points, want.points);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.code, want.code);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.closed_at, want.closed_at);
}

}  // namespace

TEST_P(StoreContractTest, LoyaltyProgramIsSavedKeepingCreationAndCursor) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_FALSE(store_->FindLoyaltyProgram(w.id).value().has_value());
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->SetLoyaltyProcessedSeq(5).error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(tx->Commit());
  }
  const Timestamp t1 = Timestamp::FromSeconds(1000), t2 = Timestamp::FromSeconds(2000);
  const LoyaltyProgramRecord first =
      store_->SaveLoyaltyProgram({w.id, R"({"name":"Club"})", 3, t1, t1}).value();
  EXPECT_EQ(first.workspace, w.id);
  EXPECT_EQ(first.definition, R"({"name":"Club"})");
  EXPECT_EQ(first.processed_seq, 3);
  EXPECT_EQ(first.created_at, t1);
  EXPECT_EQ(first.updated_at, t1);
  {
    auto tx = store_->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->SetLoyaltyProcessedSeq(42));
    ASSERT_TRUE(tx->Commit());
  }
  // Saving again replaces the definition only.
  const LoyaltyProgramRecord second =
      store_->SaveLoyaltyProgram({w.id, R"({"name":"Club 2"})", 0, t2, t2}).value();
  EXPECT_EQ(second.definition, R"({"name":"Club 2"})");
  EXPECT_EQ(second.processed_seq, 42);
  EXPECT_EQ(second.created_at, t1);
  EXPECT_EQ(second.updated_at, t2);
  const LoyaltyProgramRecord found = store_->FindLoyaltyProgram(w.id).value().value();
  EXPECT_EQ(found.definition, second.definition);
  EXPECT_EQ(found.processed_seq, 42);
  EXPECT_EQ(found.created_at, t1);
  EXPECT_EQ(found.updated_at, t2);
  EXPECT_FALSE(store_->FindLoyaltyProgram(other.id).value().has_value());
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_EQ(tx->SetLoyaltyProcessedSeq(1).error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, LoyaltyTransfersAppendInOrderAndRoundTrip) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  const std::vector<LoyaltyTransferRecord> batch = [&] {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    std::vector<LoyaltyTransferRecord> b{FullTransfer(ids[0], "t1"), Earn(ids[1], "t2", 10, 500),
                                         Earn(ids[0], "t3", 20, 400)};
    EXPECT_TRUE(tx->AppendLoyaltyTransfers(b));
    // Read back under the lock, before commit.
    const auto mine = tx->LoyaltyTransfers(ids[0]).value();
    EXPECT_EQ(TransferIds(mine), (std::vector<std::string>{"t1", "t3"}));
    EXPECT_TRUE(tx->Commit());
    return b;
  }();
  const auto all = store_->ListLoyaltyTransfers(w.id, CustomerId{}, 0, 10).value();
  ASSERT_EQ(all.size(), 3u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    ExpectSameTransfer(all[i], batch[i]);
    EXPECT_EQ(all[i].workspace, w.id);
    EXPECT_GT(all[i].seq, 0);
    if (i > 0) {
      EXPECT_GT(all[i].seq, all[i - 1].seq);
    }
  }
  // A later call's seqs come after.
  {
    auto tx = store_->BeginWrite(w.id).value();
    std::vector<LoyaltyTransferRecord> more{Earn(ids[1], "t4", 5, 100)};
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(more));
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(std::span<const LoyaltyTransferRecord>()));  // nothing
    ASSERT_TRUE(tx->Commit());
  }
  const auto after = store_->ListLoyaltyTransfers(w.id, CustomerId{}, all[2].seq, 10).value();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, "t4");
  EXPECT_GT(after[0].seq, all[2].seq);
  // Paging and the customer filter.
  EXPECT_EQ(TransferIds(store_->ListLoyaltyTransfers(w.id, CustomerId{}, all[0].seq, 2).value()),
            (std::vector<std::string>{"t2", "t3"}));
  EXPECT_EQ(TransferIds(store_->ListLoyaltyTransfers(w.id, ids[0], 0, 10).value()),
            (std::vector<std::string>{"t1", "t3"}));
  EXPECT_EQ(TransferIds(store_->ListLoyaltyTransfers(w.id, ids[1], 0, 1).value()),
            (std::vector<std::string>{"t2"}));
  EXPECT_EQ(TransferIds(store_->ListLoyaltyTransfers(w.id, ids[1], all[1].seq, 10).value()),
            (std::vector<std::string>{"t4"}));
  const auto full = store_->ListLoyaltyTransfers(w.id, ids[0], 0, 1).value();
  ASSERT_EQ(full.size(), 1u);
  ExpectSameTransfer(full[0], batch[0]);
  // Another workspace sees none of it.
  EXPECT_TRUE(store_->ListLoyaltyTransfers(other.id, CustomerId{}, 0, 10).value().empty());
  EXPECT_TRUE(store_->ListLoyaltyTransfers(other.id, ids[0], 0, 10).value().empty());
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_TRUE(tx->LoyaltyTransfers(ids[0]).value().empty());
}

TEST_P(StoreContractTest, DuplicateLoyaltyTransferIdWritesNothingOfTheCall) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  CustomerId c;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    const std::vector<LoyaltyTransferRecord> first{Earn(c, "a", 10, 100)};
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(first));
    // "a" is taken: "b" before it is not written either.
    const std::vector<LoyaltyTransferRecord> again{Earn(c, "b", 20, 200), Earn(c, "a", 10, 100)};
    auto dup = tx->AppendLoyaltyTransfers(again);
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists) << dup.error().ToString();
    // The same id twice in one call.
    const std::vector<LoyaltyTransferRecord> twice{Earn(c, "c", 1, 300), Earn(c, "c", 1, 300)};
    EXPECT_EQ(tx->AppendLoyaltyTransfers(twice).error().code(), ErrorCode::kAlreadyExists);
    // Any other failure also undoes only its call: here a transfer of no points, which the
    // schema refuses.
    const std::vector<LoyaltyTransferRecord> refused{Earn(c, "d", 5, 300), Earn(c, "e", 0, 300)};
    EXPECT_FALSE(tx->AppendLoyaltyTransfers(refused).has_value());
    EXPECT_EQ(TransferIds(tx->LoyaltyTransfers(c).value()), (std::vector<std::string>{"a"}));
    // The transaction is still usable, and commits the rest.
    const std::vector<LoyaltyTransferRecord> next{Earn(c, "b", 20, 200)};
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(next));
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(c, 30, std::nullopt)));
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(TransferIds(store_->ListLoyaltyTransfers(w.id, c, 0, 10).value()),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store_->FindLoyaltyMember(w.id, c).value().value().available, 30);
  // Ids are unique per workspace: another may use "a".
  auto tx = store_->BeginWrite(other.id).value();
  const CustomerId x = Resolve(*tx, {"x"}, clock_.Now())[0];
  const std::vector<LoyaltyTransferRecord> theirs{Earn(x, "a", 10, 100)};
  ASSERT_TRUE(tx->AppendLoyaltyTransfers(theirs));
  ASSERT_TRUE(tx->Commit());
  EXPECT_EQ(store_->ListLoyaltyTransfers(w.id, CustomerId{}, 0, 10).value().size(), 2u);
}

TEST_P(StoreContractTest, ScanLoyaltyTransfersReadsATimeRangeInSeqOrder) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  {
    auto tx = store_->BeginWrite(w.id).value();
    const CustomerId c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    const std::vector<LoyaltyTransferRecord> b{Earn(c, "at300", 1, 300), Earn(c, "at100", 1, 100),
                                               Earn(c, "at200", 1, 200), FullTransfer(c, "at1000")};
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(b));
    ASSERT_TRUE(tx->Commit());
  }
  auto scan = [&](WorkspaceId ws, std::int64_t from_s, std::int64_t to_s) {
    std::vector<LoyaltyTransferRecord> seen;
    EXPECT_TRUE(store_->ScanLoyaltyTransfers(
        ws, Timestamp::FromSeconds(from_s), Timestamp::FromSeconds(to_s),
        [&](const LoyaltyTransferRecord& t) { seen.push_back(t); }));
    return seen;
  };
  EXPECT_EQ(TransferIds(scan(w.id, 100, 300)), (std::vector<std::string>{"at100", "at200"}));
  EXPECT_EQ(TransferIds(scan(w.id, 200, 301)), (std::vector<std::string>{"at300", "at200"}));
  EXPECT_TRUE(scan(w.id, 301, 1000).empty());
  const auto full = scan(w.id, 1000, 1001);
  ASSERT_EQ(full.size(), 1u);
  ExpectSameTransfer(full[0], FullTransfer(full[0].customer, "at1000"));
  EXPECT_EQ(scan(w.id, 0, 2000).size(), 4u);
  EXPECT_TRUE(scan(other.id, 0, 2000).empty());

  // The narrow scan for reports: every transfer of the workspace, any order.
  std::vector<std::tuple<std::string, std::string, std::int64_t, std::int64_t>> flows;
  ASSERT_TRUE(store_->ScanLoyaltyFlows(w.id, [&](const LoyaltyFlowRow& r) {
    flows.emplace_back(r.kind, r.from_account, r.points, r.at.micros);
  }));
  std::vector<std::tuple<std::string, std::string, std::int64_t, std::int64_t>> expected;
  for (const LoyaltyTransferRecord& t : scan(w.id, 0, 2000)) {
    expected.emplace_back(t.kind, t.from_account, t.points, t.at.micros);
  }
  std::sort(flows.begin(), flows.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(flows, expected);
  bool other_seen = false;
  ASSERT_TRUE(store_->ScanLoyaltyFlows(other.id, [&](const LoyaltyFlowRow&) { other_seen = true; }));
  EXPECT_FALSE(other_seen);
}

TEST_P(StoreContractTest, LoyaltyMembersRoundTripAndComeDueInOrder) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  LoyaltyMember full;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3", "c4"}, clock_.Now());
    full = Member(ids[0], 120, 3'000);
    full.pending = 30;
    full.held = 40;
    full.earned = 500;
    full.redeemed = 310;
    full.transfers = 9;
    full.tier = "gold";
    full.tier_since = Timestamp::FromSeconds(150);
    full.tier_review_at = Timestamp::FromSeconds(5'000);
    full.referral_code = "ANNA-7K2Q";
    full.referred_by = ids[3];
    EXPECT_FALSE(tx->FindLoyaltyMember(ids[0]).value().has_value());
    ASSERT_TRUE(tx->SaveLoyaltyMember(full));
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(ids[1], 10, 1'000)));
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(ids[2], 20, std::nullopt)));
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(ids[3], 30, 2'000)));
    const auto read = tx->FindLoyaltyMember(ids[0]).value();
    ASSERT_TRUE(read.has_value());
    ExpectSameMember(*read, full);
    ASSERT_TRUE(tx->Commit());
  }
  const LoyaltyMember stored = store_->FindLoyaltyMember(w.id, ids[0]).value().value();
  ExpectSameMember(stored, full);
  EXPECT_EQ(stored.workspace, w.id);
  const LoyaltyMember plain = store_->FindLoyaltyMember(w.id, ids[2]).value().value();
  ExpectSameMember(plain, Member(ids[2], 20, std::nullopt));
  EXPECT_FALSE(plain.referred_by.valid());
  EXPECT_FALSE(plain.tier_review_at.has_value());
  // Saving again replaces the row.
  {
    auto tx = store_->BeginWrite(w.id).value();
    LoyaltyMember changed = full;
    changed.available = 0;
    changed.tier = "";
    changed.tier_review_at.reset();
    changed.next_due_at = Timestamp::FromSeconds(500);
    changed.referred_by = CustomerId{};
    ASSERT_TRUE(tx->SaveLoyaltyMember(changed));
    ASSERT_TRUE(tx->Commit());
    full = changed;
  }
  ExpectSameMember(store_->FindLoyaltyMember(w.id, ids[0]).value().value(), full);

  // Listed by customer id, in pages.
  auto listed = [&](std::int64_t after, int limit) {
    std::vector<CustomerId> out;
    const auto members = store_->ListLoyaltyMembers(w.id, after, limit).value();
    for (const auto& m : members) out.push_back(m.customer);
    return out;
  };
  EXPECT_EQ(listed(0, 10), ids);
  EXPECT_EQ(listed(ids[1].value, 1), std::vector<CustomerId>{ids[2]});
  // Due: next_due_at <= now, earliest first (c1 at 500, c2 at 1000, c4 at 2000; c3 never).
  EXPECT_EQ(store_->DueLoyaltyMembers(w.id, Timestamp::FromSeconds(1'000), 10).value(),
            (std::vector<CustomerId>{ids[0], ids[1]}));
  EXPECT_EQ(store_->DueLoyaltyMembers(w.id, Timestamp::FromSeconds(9'000), 10).value(),
            (std::vector<CustomerId>{ids[0], ids[1], ids[3]}));
  EXPECT_EQ(store_->DueLoyaltyMembers(w.id, Timestamp::FromSeconds(9'000), 2).value(),
            (std::vector<CustomerId>{ids[0], ids[1]}));
  EXPECT_TRUE(store_->DueLoyaltyMembers(w.id, Timestamp::FromSeconds(499), 10).value().empty());
  // Another workspace sees none of it.
  EXPECT_FALSE(store_->FindLoyaltyMember(other.id, ids[0]).value().has_value());
  EXPECT_TRUE(store_->ListLoyaltyMembers(other.id, 0, 10).value().empty());
  EXPECT_TRUE(
      store_->DueLoyaltyMembers(other.id, Timestamp::FromSeconds(9'000), 10).value().empty());
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_FALSE(tx->FindLoyaltyMember(ids[0]).value().has_value());
}

TEST_P(StoreContractTest, ReferralCodesAreUniqueInAWorkspace) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    LoyaltyMember anna = Member(ids[0], 10, std::nullopt);
    anna.referral_code = "ANNA-7K2Q";
    ASSERT_TRUE(tx->SaveLoyaltyMember(anna));
    ASSERT_TRUE(tx->SaveLoyaltyMember(anna));                              // its own code again
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(ids[1], 10, std::nullopt)));  // no code
    const auto found = tx->FindLoyaltyMemberByReferralCode("ANNA-7K2Q").value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->customer, ids[0]);
    EXPECT_FALSE(tx->FindLoyaltyMemberByReferralCode("").value().has_value());
    EXPECT_FALSE(tx->FindLoyaltyMemberByReferralCode("anna-7k2q").value().has_value());
    // A second member with the same code: an error, and the transaction stays usable.
    LoyaltyMember ben = Member(ids[1], 99, std::nullopt);
    ben.referral_code = "ANNA-7K2Q";
    auto taken = tx->SaveLoyaltyMember(ben);
    ASSERT_FALSE(taken.has_value());
    EXPECT_EQ(taken.error().code(), ErrorCode::kAlreadyExists) << taken.error().ToString();
    ben.referral_code = "BEN-1";
    ASSERT_TRUE(tx->SaveLoyaltyMember(ben));
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(store_->FindLoyaltyMember(w.id, ids[1]).value().value().referral_code, "BEN-1");
  // Codes are unique per workspace.
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_FALSE(tx->FindLoyaltyMemberByReferralCode("ANNA-7K2Q").value().has_value());
  LoyaltyMember x = Member(Resolve(*tx, {"x"}, clock_.Now())[0], 1, std::nullopt);
  x.referral_code = "ANNA-7K2Q";
  ASSERT_TRUE(tx->SaveLoyaltyMember(x));
  EXPECT_EQ(tx->FindLoyaltyMemberByReferralCode("ANNA-7K2Q").value().value().customer, x.customer);
  ASSERT_TRUE(tx->Commit());
}

TEST_P(StoreContractTest, LoyaltyTierChangesAreListedOldestFirst) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->AddLoyaltyTierChange(
        {0, w.id, ids[0], "silver", "gold", Timestamp::FromSeconds(300), "upgrade"}));
    ASSERT_TRUE(tx->AddLoyaltyTierChange(
        {0, w.id, ids[1], "", "silver", Timestamp::FromSeconds(200), "upgrade"}));
    ASSERT_TRUE(tx->AddLoyaltyTierChange(
        {0, w.id, ids[0], "bronze", "silver", Timestamp::FromSeconds(100), "upgrade"}));
    ASSERT_TRUE(tx->AddLoyaltyTierChange(
        {0, w.id, ids[0], "gold", "silver", Timestamp::FromSeconds(400), "review"}));
    ASSERT_TRUE(tx->Commit());
  }
  const auto mine = store_->ListLoyaltyTierChanges(w.id, ids[0]).value();
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_GT(mine[0].id, 0);
  EXPECT_EQ(mine[0].workspace, w.id);
  EXPECT_EQ(mine[0].customer, ids[0]);
  EXPECT_EQ(mine[0].from_tier, "bronze");
  EXPECT_EQ(mine[0].to_tier, "silver");
  EXPECT_EQ(mine[0].at, Timestamp::FromSeconds(100));
  EXPECT_EQ(mine[0].reason, "upgrade");
  EXPECT_EQ(mine[1].to_tier, "gold");
  EXPECT_EQ(mine[2].reason, "review");
  EXPECT_EQ(mine[2].at, Timestamp::FromSeconds(400));
  const auto all = store_->ListLoyaltyTierChanges(w.id, CustomerId{}).value();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].customer, ids[1]);
  EXPECT_EQ(all[1].from_tier, "");
  EXPECT_TRUE(store_->ListLoyaltyTierChanges(other.id, CustomerId{}).value().empty());
  EXPECT_TRUE(store_->ListLoyaltyTierChanges(other.id, ids[0]).value().empty());
}

TEST_P(StoreContractTest, LoyaltyRewardsRoundTripAndKeepTheirStock) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  LoyaltyReward coffee = Reward(w.id, "coffee", 2);
  coffee.kind = "free_product";
  coffee.title = "A free coffee";
  coffee.points = 300;
  coffee.tiers = {"gold", "silver"};
  coffee.segment = "regulars";
  coffee.details = R"({"product_id":"sku-1"})";
  coffee.active = false;
  const LoyaltyReward saved = store_->SaveLoyaltyReward(coffee).value();
  EXPECT_GT(saved.id, 0);
  EXPECT_EQ(saved.workspace, w.id);
  EXPECT_EQ(saved.name, "coffee");
  EXPECT_EQ(saved.kind, "free_product");
  EXPECT_EQ(saved.title, "A free coffee");
  EXPECT_EQ(saved.points, 300);
  EXPECT_EQ(saved.stock, std::optional<std::int64_t>(2));
  EXPECT_EQ(saved.tiers, coffee.tiers);
  EXPECT_EQ(saved.segment, "regulars");
  EXPECT_EQ(saved.details, coffee.details);
  EXPECT_FALSE(saved.active);
  EXPECT_EQ(saved.redeemed, 0);
  EXPECT_EQ(saved.created_at, coffee.created_at);
  EXPECT_EQ(saved.updated_at, coffee.updated_at);
  // Tier names round-trip whatever they hold.
  LoyaltyReward odd = Reward(w.id, "odd", std::nullopt);
  odd.tiers = {"a,b", "c\\d", "e\\,", "x"};
  EXPECT_EQ(store_->SaveLoyaltyReward(odd).value().tiers, odd.tiers);
  odd.tiers = {"gold", ""};
  EXPECT_EQ(store_->SaveLoyaltyReward(odd).error().code(), ErrorCode::kInvalidArgument);
  const LoyaltyReward unlimited =
      store_->SaveLoyaltyReward(Reward(w.id, "bag", std::nullopt)).value();
  EXPECT_FALSE(unlimited.stock.has_value());
  EXPECT_TRUE(unlimited.tiers.empty());
  EXPECT_TRUE(unlimited.active);

  {
    auto tx = store_->BeginWrite(w.id).value();
    const auto byid = tx->FindLoyaltyRewardById(saved.id).value();
    ASSERT_TRUE(byid.has_value());
    EXPECT_EQ(byid->name, "coffee");
    EXPECT_EQ(byid->tiers, coffee.tiers);
    ASSERT_TRUE(tx->ChangeLoyaltyRewardStock(saved.id, -1, 0));  // a hold
    ASSERT_TRUE(tx->ChangeLoyaltyRewardStock(saved.id, -1, 0));
    auto out = tx->ChangeLoyaltyRewardStock(saved.id, -1, 0);
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(out.error().ToString(), "reward: out of stock");
    ASSERT_TRUE(tx->ChangeLoyaltyRewardStock(saved.id, 0, 2));  // two confirmations
    ASSERT_TRUE(tx->ChangeLoyaltyRewardStock(unlimited.id, -5, 1));
    EXPECT_EQ(tx->ChangeLoyaltyRewardStock(999'999, -1, 0).error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(tx->Commit());
  }
  LoyaltyReward now = store_->FindLoyaltyReward(w.id, "coffee").value().value();
  EXPECT_EQ(now.stock, std::optional<std::int64_t>(0));
  EXPECT_EQ(now.redeemed, 2);
  EXPECT_FALSE(store_->FindLoyaltyReward(w.id, "bag").value().value().stock.has_value());
  EXPECT_EQ(store_->FindLoyaltyReward(w.id, "bag").value().value().redeemed, 1);

  // Saving again by name replaces all but id, created_at and redeemed.
  LoyaltyReward edit = coffee;
  edit.title = "Coffee";
  edit.kind = "discount";
  edit.points = 250;
  edit.stock = 10;
  edit.tiers.clear();
  edit.segment = "";
  edit.details = R"({"percent":10})";
  edit.active = true;
  edit.redeemed = 99;
  edit.created_at = edit.updated_at = Timestamp::FromSeconds(900);
  const LoyaltyReward replaced = store_->SaveLoyaltyReward(edit).value();
  EXPECT_EQ(replaced.id, saved.id);
  EXPECT_EQ(replaced.title, "Coffee");
  EXPECT_EQ(replaced.kind, "discount");
  EXPECT_EQ(replaced.points, 250);
  EXPECT_EQ(replaced.stock, std::optional<std::int64_t>(10));
  EXPECT_TRUE(replaced.tiers.empty());
  EXPECT_EQ(replaced.segment, "");
  EXPECT_EQ(replaced.details, edit.details);
  EXPECT_TRUE(replaced.active);
  EXPECT_EQ(replaced.redeemed, 2);
  EXPECT_EQ(replaced.created_at, coffee.created_at);
  EXPECT_EQ(replaced.updated_at, Timestamp::FromSeconds(900));

  // Listed by name; nothing of another workspace.
  std::vector<std::string> names;
  const auto rewards = store_->ListLoyaltyRewards(w.id).value();
  for (const auto& r : rewards) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bag", "coffee", "odd"}));
  EXPECT_TRUE(store_->ListLoyaltyRewards(other.id).value().empty());
  EXPECT_FALSE(store_->FindLoyaltyReward(other.id, "coffee").value().has_value());
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_FALSE(tx->FindLoyaltyRewardById(saved.id).value().has_value());
  EXPECT_EQ(tx->ChangeLoyaltyRewardStock(saved.id, 1, 0).error().code(), ErrorCode::kNotFound);
  // The same name in another workspace is another reward.
  EXPECT_NE(store_->SaveLoyaltyReward(Reward(other.id, "coffee", 1)).value().id, saved.id);
}

TEST_P(StoreContractTest, LoyaltyRewardCodesAreHandedOutOldestFirst) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  const LoyaltyReward voucher = store_->SaveLoyaltyReward(Reward(w.id, "voucher", 0)).value();
  const LoyaltyReward open = store_->SaveLoyaltyReward(Reward(w.id, "open", std::nullopt)).value();
  const LoyaltyReward theirs = store_->SaveLoyaltyReward(Reward(other.id, "voucher", 0)).value();
  const std::vector<std::string> first{"A", "B", "C"};
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(w.id, voucher.id, first).value(), 3);
  EXPECT_EQ(store_->FindLoyaltyReward(w.id, "voucher").value().value().stock,
            std::optional<std::int64_t>(3));
  // Codes already in the workspace are skipped, and only those added raise the stock.
  const std::vector<std::string> second{"B", "D", "D"};
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(w.id, voucher.id, second).value(), 1);
  EXPECT_EQ(store_->FindLoyaltyReward(w.id, "voucher").value().value().stock,
            std::optional<std::int64_t>(4));
  const std::vector<std::string> taken{"A", "X"};
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(w.id, open.id, taken).value(), 1);
  EXPECT_FALSE(store_->FindLoyaltyReward(w.id, "open").value().value().stock.has_value());
  // Another workspace has codes of its own, and can't add to this one's rewards.
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(other.id, theirs.id, first).value(), 3);
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(other.id, voucher.id, first).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->AddLoyaltyRewardCodes(w.id, 999'999, first).error().code(),
            ErrorCode::kNotFound);
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r1").value(),
              std::optional<std::string>("A"));
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r2").value(),
              std::optional<std::string>("B"));
    ASSERT_TRUE(tx->ReturnLoyaltyRewardCode(voucher.id, "A"));  // a released hold
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r3").value(),
              std::optional<std::string>("A"));
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r4").value(),
              std::optional<std::string>("C"));
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r5").value(),
              std::optional<std::string>("D"));
    EXPECT_FALSE(tx->ClaimLoyaltyRewardCode(voucher.id, "r6").value().has_value());
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(open.id, "r7").value(), std::optional<std::string>("X"));
    EXPECT_EQ(tx->ReturnLoyaltyRewardCode(voucher.id, "nope").error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(tx->ReturnLoyaltyRewardCode(open.id, "B").error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(tx->ReturnLoyaltyRewardCode(voucher.id, "C"));
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(w.id).value();
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r8").value(),
              std::optional<std::string>("C"));
  }  // rolled back: C is free again
  {
    auto tx = store_->BeginWrite(other.id).value();
    EXPECT_FALSE(tx->ClaimLoyaltyRewardCode(voucher.id, "x1").value().has_value());
    EXPECT_EQ(tx->ReturnLoyaltyRewardCode(voucher.id, "C").error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(tx->ClaimLoyaltyRewardCode(theirs.id, "x2").value(), std::optional<std::string>("A"));
    ASSERT_TRUE(tx->Commit());
  }
  auto tx = store_->BeginWrite(w.id).value();
  EXPECT_EQ(tx->ClaimLoyaltyRewardCode(voucher.id, "r9").value(), std::optional<std::string>("C"));
}

TEST_P(StoreContractTest, LoyaltyRedemptionsAreSavedAndListedByRow) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  const LoyaltyReward reward =
      store_->SaveLoyaltyReward(Reward(w.id, "voucher", std::nullopt)).value();
  std::vector<CustomerId> ids;
  LoyaltyRedemption r1{0,
                       "hold:1",
                       w.id,
                       {},
                       reward.id,
                       500,
                       "held",
                       "CODE-1",
                       Timestamp::FromSeconds(100),
                       Timestamp::FromSeconds(1'000),
                       std::nullopt};
  LoyaltyRedemption r2 = r1, r3 = r1;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    r1.customer = r3.customer = ids[0];
    r2.customer = ids[1];
    r2.id = "hold:2";
    r2.state = "released";
    r2.code = "";
    r2.closed_at = Timestamp::FromSeconds(400);
    r3.id = "hold:3";
    r3.points = 0;
    EXPECT_FALSE(tx->FindLoyaltyRedemption("hold:1").value().has_value());
    ASSERT_TRUE(tx->SaveLoyaltyRedemption(r1));
    ASSERT_TRUE(tx->SaveLoyaltyRedemption(r2));
    ASSERT_TRUE(tx->SaveLoyaltyRedemption(r3));
    const auto held = tx->FindLoyaltyRedemption("hold:1").value();
    ASSERT_TRUE(held.has_value());
    ExpectSameRedemption(*held, r1);
    // Saving again by id replaces the row and keeps its place.
    r1.state = "confirmed";
    r1.closed_at = Timestamp::FromSeconds(500);
    ASSERT_TRUE(tx->SaveLoyaltyRedemption(r1));
    ASSERT_TRUE(tx->Commit());
  }
  const auto all = store_->ListLoyaltyRedemptions(w.id, CustomerId{}, 0, 10).value();
  ASSERT_EQ(all.size(), 3u);
  ExpectSameRedemption(all[0], r1);
  ExpectSameRedemption(all[1], r2);
  ExpectSameRedemption(all[2], r3);
  EXPECT_EQ(all[0].workspace, w.id);
  EXPECT_GT(all[0].row, 0);
  EXPECT_LT(all[0].row, all[1].row);
  EXPECT_LT(all[1].row, all[2].row);
  auto listed = [&](CustomerId c, std::int64_t after, int limit) {
    std::vector<std::string> out;
    const auto redemptions = store_->ListLoyaltyRedemptions(w.id, c, after, limit).value();
    for (const auto& r : redemptions) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(listed(CustomerId{}, all[0].row, 1), std::vector<std::string>{"hold:2"});
  EXPECT_EQ(listed(ids[0], 0, 10), (std::vector<std::string>{"hold:1", "hold:3"}));
  EXPECT_EQ(listed(ids[0], all[0].row, 10), std::vector<std::string>{"hold:3"});
  EXPECT_EQ(listed(ids[1], 0, 10), std::vector<std::string>{"hold:2"});
  const LoyaltyRedemption found = store_->FindLoyaltyRedemption(w.id, "hold:2").value().value();
  ExpectSameRedemption(found, r2);
  EXPECT_EQ(found.row, all[1].row);
  // Another workspace sees none of it.
  EXPECT_TRUE(store_->ListLoyaltyRedemptions(other.id, CustomerId{}, 0, 10).value().empty());
  EXPECT_FALSE(store_->FindLoyaltyRedemption(other.id, "hold:1").value().has_value());
  auto tx = store_->BeginWrite(other.id).value();
  EXPECT_FALSE(tx->FindLoyaltyRedemption("hold:1").value().has_value());
}

TEST_P(StoreContractTest, UncommittedLoyaltyWritesLeaveNothing) {
  const Workspace w = MakeWorkspace("shop");
  const Timestamp t = Timestamp::FromSeconds(100);
  ASSERT_TRUE(store_->SaveLoyaltyProgram({w.id, "{}", 0, t, t}));
  const LoyaltyReward reward = store_->SaveLoyaltyReward(Reward(w.id, "voucher", 0)).value();
  const std::vector<std::string> codes{"A"};
  ASSERT_TRUE(store_->AddLoyaltyRewardCodes(w.id, reward.id, codes));
  CustomerId c;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(w.id).value();
    const std::vector<LoyaltyTransferRecord> b{Earn(c, "t1", 10, 100)};
    ASSERT_TRUE(tx->AppendLoyaltyTransfers(b));
    ASSERT_TRUE(tx->SaveLoyaltyMember(Member(c, 10, 50)));
    ASSERT_TRUE(tx->AddLoyaltyTierChange({0, w.id, c, "", "gold", t, "upgrade"}));
    ASSERT_TRUE(tx->SetLoyaltyProcessedSeq(9));
    ASSERT_TRUE(tx->ChangeLoyaltyRewardStock(reward.id, -1, 1));
    ASSERT_EQ(tx->ClaimLoyaltyRewardCode(reward.id, "hold:1").value(),
              std::optional<std::string>("A"));
    ASSERT_TRUE(tx->SaveLoyaltyRedemption(
        {0, "hold:1", w.id, c, reward.id, 500, "held", "A", t, t, std::nullopt}));
  }  // destroyed without commit
  EXPECT_TRUE(store_->ListLoyaltyTransfers(w.id, CustomerId{}, 0, 10).value().empty());
  EXPECT_FALSE(store_->FindLoyaltyMember(w.id, c).value().has_value());
  EXPECT_TRUE(store_->DueLoyaltyMembers(w.id, Timestamp::FromSeconds(1'000), 10).value().empty());
  EXPECT_TRUE(store_->ListLoyaltyTierChanges(w.id, CustomerId{}).value().empty());
  EXPECT_EQ(store_->FindLoyaltyProgram(w.id).value().value().processed_seq, 0);
  const LoyaltyReward after = store_->FindLoyaltyReward(w.id, "voucher").value().value();
  EXPECT_EQ(after.stock, std::optional<std::int64_t>(1));
  EXPECT_EQ(after.redeemed, 0);
  EXPECT_TRUE(store_->ListLoyaltyRedemptions(w.id, CustomerId{}, 0, 10).value().empty());
  // The store is usable afterwards, and the code is still in the pool.
  auto tx = store_->BeginWrite(w.id).value();
  EXPECT_EQ(tx->ClaimLoyaltyRewardCode(reward.id, "hold:2").value(),
            std::optional<std::string>("A"));
  const std::vector<LoyaltyTransferRecord> b{Earn(c, "t1", 10, 100)};
  EXPECT_TRUE(tx->AppendLoyaltyTransfers(b));
  EXPECT_TRUE(tx->Commit());
  EXPECT_EQ(store_->ListLoyaltyTransfers(w.id, CustomerId{}, 0, 10).value().size(), 1u);
}

// ---- Messaging

namespace {

OutboxMessage Message(WorkspaceId ws, std::string key, CustomerId c, std::string campaign = "") {
  OutboxMessage m;
  m.workspace = ws;
  m.idempotency_key = std::move(key);
  m.customer = c;
  m.campaign = std::move(campaign);
  m.topic = "news";
  m.template_id = 7;
  m.recipient = "anna@example.de";
  m.subject = "Hello";
  m.html = "<p>Hi 'Anna', \"50%\" off\ttoday\n</p>";
  m.text = "Hi Anna";
  m.next_attempt_at = Timestamp::FromSeconds(1'000);
  return m;
}

std::vector<std::string> Keys(const std::vector<OutboxMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.idempotency_key);
  return out;
}

std::vector<std::string> Kinds(const std::vector<MessageLogEntry>& log) {
  std::vector<std::string> out;
  for (const auto& e : log) out.push_back(e.kind);
  return out;
}

MessageOutcome Outcome(std::int64_t id, std::string worker, MessageState state, std::string kind,
                       std::int64_t at_s) {
  MessageOutcome o;
  o.id = id;
  o.worker = std::move(worker);
  o.state = state;
  o.log_kind = std::move(kind);
  o.at = Timestamp::FromSeconds(at_s);
  return o;
}

}  // namespace

TEST_P(StoreContractTest, MessageTemplatesAreSavedReplacedListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  MessageTemplateRecord t{0, w.id, "welcome", Channel::kEmail, "news", "Hi {{ name }}",
                          "<p>Hi</p>", "", "", "", "", Timestamp::FromSeconds(100),
                          Timestamp::FromSeconds(100)};
  const MessageTemplateRecord saved = store_->SaveMessageTemplate(t).value();
  EXPECT_GT(saved.id, 0);
  EXPECT_EQ(saved.workspace, w.id);
  EXPECT_EQ(saved.name, "welcome");
  EXPECT_EQ(saved.channel, Channel::kEmail);
  EXPECT_EQ(saved.topic, "news");
  EXPECT_EQ(saved.subject, "Hi {{ name }}");
  EXPECT_EQ(saved.html, "<p>Hi</p>");
  EXPECT_EQ(saved.text, "");
  EXPECT_EQ(saved.created_at, Timestamp::FromSeconds(100));
  // Saving by name again replaces channel, topic and parts, keeping id and created_at.
  MessageTemplateRecord edit = t;
  edit.channel = Channel::kSms;
  edit.topic = "";
  edit.subject = "";
  edit.html = "";
  edit.text = "Hi";
  edit.created_at = edit.updated_at = Timestamp::FromSeconds(200);
  const MessageTemplateRecord replaced = store_->SaveMessageTemplate(edit).value();
  EXPECT_EQ(replaced.id, saved.id);
  EXPECT_EQ(replaced.channel, Channel::kSms);
  EXPECT_EQ(replaced.topic, "");
  EXPECT_EQ(replaced.text, "Hi");
  EXPECT_EQ(replaced.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(replaced.updated_at, Timestamp::FromSeconds(200));
  t.name = "Zebra";
  ASSERT_TRUE(store_->SaveMessageTemplate(t));
  t.name = "abandoned_cart";
  const MessageTemplateRecord cart = store_->SaveMessageTemplate(t).value();
  std::vector<std::string> names;
  const auto listed = store_->ListMessageTemplates(w.id).value();
  for (const auto& l : listed) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Zebra", "abandoned_cart", "welcome"}));
  const auto found = store_->FindMessageTemplate(w.id, "welcome").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->text, "Hi");
  EXPECT_EQ(store_->FindMessageTemplateById(w.id, cart.id).value().value().name, "abandoned_cart");
  // Another workspace sees none of it and can't delete it.
  EXPECT_TRUE(store_->ListMessageTemplates(other.id).value().empty());
  EXPECT_FALSE(store_->FindMessageTemplate(other.id, "welcome").value().has_value());
  EXPECT_FALSE(store_->FindMessageTemplateById(other.id, saved.id).value().has_value());
  EXPECT_EQ(store_->DeleteMessageTemplate(other.id, "welcome").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteMessageTemplate(w.id, "welcome"));
  EXPECT_FALSE(store_->FindMessageTemplate(w.id, "welcome").value().has_value());
  EXPECT_EQ(store_->DeleteMessageTemplate(w.id, "welcome").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListMessageTemplates(w.id).value().size(), 2u);
}

TEST_P(StoreContractTest, EnqueuedMessagesAreAddedOncePerIdempotencyKey) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids, theirs;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    theirs = Resolve(*tx, {"c1"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const Timestamp now = Timestamp::FromSeconds(500);
  std::vector<OutboxMessage> batch{Message(w.id, "k1", ids[0], "spring"),
                                   Message(w.id, "k2", ids[1], "spring"),
                                   Message(w.id, "k1", ids[1], "other")};  // repeated key
  batch[1].category = "transactional";
  batch[1].text = "";
  EXPECT_TRUE(store_->EnqueueMessages(w.id, std::span<const OutboxMessage>(), now).value() == 0);
  EXPECT_EQ(store_->EnqueueMessages(w.id, batch, now).value(), 2);
  // Across calls too; the same key in another workspace is another message.
  const std::vector<OutboxMessage> again{Message(w.id, "k2", ids[0]), Message(w.id, "k3", ids[0])};
  EXPECT_EQ(store_->EnqueueMessages(w.id, again, now).value(), 1);
  const std::vector<OutboxMessage> other_batch{Message(other.id, "k1", theirs[0])};
  EXPECT_EQ(store_->EnqueueMessages(other.id, other_batch, now).value(), 1);
  // A message of another workspace or of an unknown category is refused, and nothing is added.
  const std::vector<OutboxMessage> wrong{Message(w.id, "k4", ids[0]), Message(other.id, "k5", ids[0])};
  EXPECT_EQ(store_->EnqueueMessages(w.id, wrong, now).error().code(), ErrorCode::kInvalidArgument);
  std::vector<OutboxMessage> odd{Message(w.id, "k6", ids[0])};
  odd[0].category = "spam";
  EXPECT_EQ(store_->EnqueueMessages(w.id, odd, now).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->FindMessageByKey(w.id, "k4").value().has_value());

  const OutboxMessage k1 = store_->FindMessageByKey(w.id, "k1").value().value();
  EXPECT_GT(k1.id, 0);
  EXPECT_EQ(k1.workspace, w.id);
  EXPECT_EQ(k1.customer, ids[0]);  // the first of the repeated key
  EXPECT_EQ(k1.channel, Channel::kEmail);
  EXPECT_EQ(k1.category, "marketing");
  EXPECT_EQ(k1.topic, "news");
  EXPECT_EQ(k1.template_id, 7);
  EXPECT_EQ(k1.campaign, "spring");
  EXPECT_EQ(k1.recipient, "anna@example.de");
  EXPECT_EQ(k1.subject, "Hello");
  EXPECT_EQ(k1.html, batch[0].html);
  EXPECT_EQ(k1.text, "Hi Anna");
  EXPECT_EQ(k1.state, MessageState::kQueued);
  EXPECT_EQ(k1.attempts, 0);
  EXPECT_EQ(k1.next_attempt_at, Timestamp::FromSeconds(1'000));
  EXPECT_EQ(k1.claimed_by, "");
  EXPECT_EQ(k1.provider_id, "");
  EXPECT_EQ(k1.last_error, "");
  EXPECT_EQ(k1.created_at, now);
  EXPECT_FALSE(k1.sent_at.has_value());
  const OutboxMessage k2 = store_->FindMessage(w.id, store_->FindMessageByKey(w.id, "k2").value()->id).value().value();
  EXPECT_EQ(k2.category, "transactional");
  EXPECT_EQ(k2.text, "");
  EXPECT_EQ(k2.customer, ids[1]);
  EXPECT_LT(k1.id, k2.id);
  // One "queued" line per message added.
  const auto log = store_->ListMessageLog(w.id, k1.id, CustomerId{}, 10).value();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, "queued");
  EXPECT_EQ(log[0].message_id, k1.id);
  EXPECT_EQ(log[0].customer, ids[0]);
  EXPECT_EQ(log[0].workspace, w.id);
  EXPECT_EQ(log[0].at, now);
  EXPECT_EQ(Kinds(store_->ListMessageLog(w.id, 0, ids[0], 10).value()),
            (std::vector<std::string>{"queued", "queued"}));  // k1, k3
  EXPECT_EQ(store_->ListMessageLog(w.id, 0, CustomerId{}, 10).error().code(), ErrorCode::kInvalidArgument);
  // Another workspace sees none of it.
  EXPECT_FALSE(store_->FindMessage(other.id, k1.id).value().has_value());
  EXPECT_NE(store_->FindMessageByKey(other.id, "k1").value().value().id, k1.id);
  EXPECT_FALSE(store_->FindMessageByKey(other.id, "k2").value().has_value());
  EXPECT_TRUE(store_->ListMessageLog(other.id, k1.id, CustomerId{}, 10).value().empty());
  EXPECT_TRUE(store_->ListMessageLog(other.id, 0, ids[0], 10).value().empty());
  EXPECT_EQ(store_->CountMessages(w.id, "").value().queued, 3);
  EXPECT_EQ(store_->CountMessages(other.id, "").value().queued, 1);
}

TEST_P(StoreContractTest, ClaimsRespectDueTimeChannelAndLease) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  CustomerId c, d;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    d = Resolve(*tx, {"d1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  std::vector<OutboxMessage> batch{Message(w.id, "late", c), Message(w.id, "b", c), Message(w.id, "a", c),
                                   Message(w.id, "push", c)};
  batch[0].next_attempt_at = Timestamp::FromSeconds(2'000);
  batch[1].next_attempt_at = Timestamp::FromSeconds(900);
  batch[2].next_attempt_at = Timestamp::FromSeconds(800);
  batch[3].channel = Channel::kPush;
  ASSERT_EQ(store_->EnqueueMessages(w.id, batch, Timestamp::FromSeconds(1)).value(), 4);
  std::vector<OutboxMessage> theirs{Message(other.id, "o", d)};
  theirs[0].next_attempt_at = Timestamp::FromSeconds(850);
  ASSERT_EQ(store_->EnqueueMessages(other.id, theirs, Timestamp::FromSeconds(1)).value(), 1);

  const Timestamp t1 = Timestamp::FromSeconds(1'000);
  const std::int64_t lease = 60 * kMicrosPerSecond;
  EXPECT_TRUE(store_->ClaimMessages(Channel::kEmail, t1, lease, "w1", 0).value().empty());
  EXPECT_EQ(store_->ClaimMessages(Channel::kEmail, t1, lease, "", 10).error().code(),
            ErrorCode::kInvalidArgument);
  // Oldest due first, of every workspace, only of the channel, only when due; at most `limit`.
  const auto first = store_->ClaimMessages(Channel::kEmail, t1, lease, "w1", 2).value();
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"a", "o"}));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].state, MessageState::kSending);
  EXPECT_EQ(first[0].claimed_by, "w1");
  EXPECT_EQ(first[0].attempts, 1);
  EXPECT_EQ(first[0].lease_until.micros, t1.micros + lease);
  EXPECT_EQ(first[0].html, batch[2].html);  // with its bodies
  EXPECT_EQ(first[1].workspace, other.id);
  const auto second = store_->ClaimMessages(Channel::kEmail, t1, lease, "w2", 10).value();
  EXPECT_EQ(Keys(second), std::vector<std::string>{"b"});
  // While the leases hold, nothing more is claimed.
  EXPECT_TRUE(store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'059), lease, "w3", 10)
                  .value().empty());
  const auto stored = store_->FindMessage(w.id, first[0].id).value().value();
  EXPECT_EQ(stored.state, MessageState::kSending);
  EXPECT_EQ(stored.claimed_by, "w1");
  EXPECT_EQ(stored.attempts, 1);
  // The push channel has its own.
  const auto push = store_->ClaimMessages(Channel::kPush, t1, lease, "p1", 10).value();
  EXPECT_EQ(Keys(push), std::vector<std::string>{"push"});
  // A lapsed lease is claimed again, with one attempt more; the message due later joins in.
  const Timestamp t2 = Timestamp::FromSeconds(2'000);
  const auto lapsed = store_->ClaimMessages(Channel::kEmail, t2, lease, "w3", 10).value();
  EXPECT_EQ(Keys(lapsed), (std::vector<std::string>{"b", "a", "o", "late"}));  // equal leases: by id
  ASSERT_EQ(lapsed.size(), 4u);
  EXPECT_EQ(lapsed[1].attempts, 2);
  EXPECT_EQ(lapsed[1].claimed_by, "w3");
  EXPECT_EQ(lapsed[3].attempts, 1);
  // The first worker lost its claim: finishing writes nothing.
  EXPECT_FALSE(store_->FinishMessage(Outcome(first[0].id, "w1", MessageState::kSent, "sent", 2'001)).value());
  const auto still = store_->FindMessage(w.id, first[0].id).value().value();
  EXPECT_EQ(still.state, MessageState::kSending);
  EXPECT_EQ(still.claimed_by, "w3");
  EXPECT_FALSE(still.sent_at.has_value());
  EXPECT_EQ(Kinds(store_->ListMessageLog(w.id, first[0].id, CustomerId{}, 10).value()),
            std::vector<std::string>{"queued"});
  EXPECT_TRUE(store_->FinishMessage(Outcome(first[0].id, "w3", MessageState::kSent, "sent", 2'001)).value());
  EXPECT_FALSE(store_->FinishMessage(Outcome(first[0].id, "w3", MessageState::kSent, "sent", 2'002)).value());
}

TEST_P(StoreContractTest, FinishedAttemptsAreRecordedWithTheirLogLines) {
  const Workspace w = MakeWorkspace("shop");
  CustomerId c;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  const std::vector<OutboxMessage> batch{Message(w.id, "m1", c), Message(w.id, "m2", c)};
  ASSERT_EQ(store_->EnqueueMessages(w.id, batch, Timestamp::FromSeconds(1)).value(), 2);
  const std::int64_t lease = 3'600 * kMicrosPerSecond;
  auto claimed = store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'000), lease, "w1", 10).value();
  ASSERT_EQ(claimed.size(), 2u);
  const std::int64_t m1 = claimed[0].id;
  const std::int64_t m2 = claimed[1].id;
  EXPECT_EQ(store_->FinishMessage(Outcome(m1, "w1", MessageState::kSending, "x", 1'001)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->FinishMessage(Outcome(m1, "w1", MessageState::kCancelled, "x", 1'001)).error().code(),
            ErrorCode::kInvalidArgument);
  // A deferral: queued again for later, with the error, the provider id kept when none is given.
  MessageOutcome retry = Outcome(m1, "w1", MessageState::kQueued, "deferred", 1'001);
  retry.next_attempt_at = Timestamp::FromSeconds(1'300);
  retry.error = "421 try later";
  retry.log_detail = "421 try later";
  retry.provider_id = "<a@treu>";
  ASSERT_TRUE(store_->FinishMessage(retry).value());
  OutboxMessage m = store_->FindMessage(w.id, m1).value().value();
  EXPECT_EQ(m.state, MessageState::kQueued);
  EXPECT_EQ(m.next_attempt_at, Timestamp::FromSeconds(1'300));
  EXPECT_EQ(m.last_error, "421 try later");
  EXPECT_EQ(m.provider_id, "<a@treu>");
  EXPECT_EQ(m.claimed_by, "");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_FALSE(m.sent_at.has_value());
  // Not due before its time; due then.
  EXPECT_TRUE(store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'299), lease, "w2", 10)
                  .value().empty());
  claimed = store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'300), lease, "w2", 10).value();
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, m1);
  EXPECT_EQ(claimed[0].attempts, 2);
  EXPECT_EQ(claimed[0].last_error, "421 try later");
  MessageOutcome sent = Outcome(m1, "w2", MessageState::kSent, "sent", 1'301);
  sent.log_detail = "250 ok";
  ASSERT_TRUE(store_->FinishMessage(sent).value());
  m = store_->FindMessage(w.id, m1).value().value();
  EXPECT_EQ(m.state, MessageState::kSent);
  EXPECT_EQ(m.sent_at, std::optional(Timestamp::FromSeconds(1'301)));
  EXPECT_EQ(m.last_error, "");
  EXPECT_EQ(m.provider_id, "<a@treu>");
  EXPECT_EQ(m.next_attempt_at, Timestamp::FromSeconds(1'300));
  // A bounce of the other.
  MessageOutcome bounce = Outcome(m2, "w1", MessageState::kBounced, "bounced", 1'002);
  bounce.error = "550 no such user";
  bounce.provider_id = "<b@treu>";
  ASSERT_TRUE(store_->FinishMessage(bounce).value());
  m = store_->FindMessage(w.id, m2).value().value();
  EXPECT_EQ(m.state, MessageState::kBounced);
  EXPECT_EQ(m.provider_id, "<b@treu>");
  EXPECT_FALSE(m.sent_at.has_value());
  // Opens and clicks are appended; the log is in the order written.
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, m1, c, "opened", Timestamp::FromSeconds(1'400), ""}));
  ASSERT_TRUE(store_->AppendMessageLog(
      {0, w.id, m1, c, "clicked", Timestamp::FromSeconds(1'401), "https://example.de/?a=1"}));
  const auto log = store_->ListMessageLog(w.id, m1, CustomerId{}, 10).value();
  EXPECT_EQ(Kinds(log), (std::vector<std::string>{"queued", "deferred", "sent", "opened", "clicked"}));
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[1].detail, "421 try later");
  EXPECT_EQ(log[1].at, Timestamp::FromSeconds(1'001));
  EXPECT_EQ(log[2].detail, "250 ok");
  EXPECT_EQ(log[4].detail, "https://example.de/?a=1");
  EXPECT_EQ(log[4].customer, c);
  for (std::size_t i = 1; i < log.size(); ++i) EXPECT_LT(log[i - 1].id, log[i].id);
  EXPECT_EQ(store_->ListMessageLog(w.id, m1, CustomerId{}, 2).value().size(), 2u);
  EXPECT_EQ(Kinds(store_->ListMessageLog(w.id, 0, c, 10).value()),
            (std::vector<std::string>{"queued", "queued", "deferred", "sent", "bounced", "opened", "clicked"}));
  // Another workspace cannot append to it; neither can a message that isn't there.
  const Workspace other = MakeWorkspace("other");
  EXPECT_EQ(store_->AppendMessageLog({0, other.id, m1, c, "opened", Timestamp::FromSeconds(1'500), ""})
                .error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->AppendMessageLog({0, w.id, 999'999, c, "opened", Timestamp::FromSeconds(1'500), ""})
                .error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListMessageLog(w.id, m1, CustomerId{}, 10).value().size(), 5u);
}

TEST_P(StoreContractTest, MessagesAreListedNewestFirstCountedAndCancelled) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  // m0..m5: campaign "spring" for the even ones, customer c2 for the last three.
  std::vector<OutboxMessage> batch;
  for (int i = 0; i < 6; ++i) {
    batch.push_back(Message(w.id, "m" + std::to_string(i), ids[i < 3 ? 0 : 1], i % 2 == 0 ? "spring" : ""));
  }
  ASSERT_EQ(store_->EnqueueMessages(w.id, batch, Timestamp::FromSeconds(1)).value(), 6);
  // m0 is sent, m1 is being sent.
  const auto claimed =
      store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'000), kMicrosPerSecond, "w", 2).value();
  ASSERT_EQ(Keys(claimed), (std::vector<std::string>{"m0", "m1"}));
  ASSERT_TRUE(store_->FinishMessage(Outcome(claimed[0].id, "w", MessageState::kSent, "sent", 1'000)).value());

  auto list = [&](const MessageFilter& f, std::int64_t before, int limit) {
    return Keys(store_->ListMessages(w.id, f, before, limit).value());
  };
  MessageFilter all;
  EXPECT_EQ(list(all, 0, 100), (std::vector<std::string>{"m5", "m4", "m3", "m2", "m1", "m0"}));
  const auto page = store_->ListMessages(w.id, all, 0, 2).value();
  ASSERT_EQ(Keys(page), (std::vector<std::string>{"m5", "m4"}));
  EXPECT_EQ(page[0].html, "");  // bodies are left out of lists
  EXPECT_EQ(page[0].text, "");
  EXPECT_EQ(page[0].subject, "Hello");
  EXPECT_EQ(page[0].customer, ids[1]);
  EXPECT_EQ(list(all, page[1].id, 3), (std::vector<std::string>{"m3", "m2", "m1"}));
  MessageFilter by_customer;
  by_customer.customer = ids[1];
  EXPECT_EQ(list(by_customer, 0, 100), (std::vector<std::string>{"m5", "m4", "m3"}));
  MessageFilter by_campaign;
  by_campaign.campaign = "spring";
  EXPECT_EQ(list(by_campaign, 0, 100), (std::vector<std::string>{"m4", "m2", "m0"}));
  MessageFilter by_state;
  by_state.state = MessageState::kSent;
  EXPECT_EQ(list(by_state, 0, 100), std::vector<std::string>{"m0"});
  by_state.state = MessageState::kQueued;
  EXPECT_EQ(list(by_state, 0, 100), (std::vector<std::string>{"m5", "m4", "m3", "m2"}));
  MessageFilter mixed;
  mixed.customer = ids[0];
  mixed.campaign = "spring";
  EXPECT_EQ(list(mixed, 0, 100), (std::vector<std::string>{"m2", "m0"}));
  mixed.state = MessageState::kQueued;
  EXPECT_EQ(list(mixed, 0, 100), std::vector<std::string>{"m2"});
  MessageFilter campaign_state;
  campaign_state.campaign = "spring";
  campaign_state.state = MessageState::kSent;
  EXPECT_EQ(list(campaign_state, 0, 100), std::vector<std::string>{"m0"});
  MessageFilter customer_state;
  customer_state.customer = ids[0];
  customer_state.state = MessageState::kSending;
  EXPECT_EQ(list(customer_state, 0, 100), std::vector<std::string>{"m1"});

  MessageCounts counts = store_->CountMessages(w.id, "").value();
  EXPECT_EQ(counts.queued, 4);
  EXPECT_EQ(counts.sending, 1);
  EXPECT_EQ(counts.sent, 1);
  EXPECT_EQ(counts.bounced + counts.failed + counts.suppressed + counts.cancelled, 0);
  counts = store_->CountMessages(w.id, "spring").value();
  EXPECT_EQ(counts.queued, 2);
  EXPECT_EQ(counts.sent, 1);
  EXPECT_EQ(counts.sending, 0);

  // Cancelling takes only queued messages; another workspace cancels none of them.
  EXPECT_EQ(store_->CancelMessages(other.id, all, Timestamp::FromSeconds(1'100)).value(), 0);
  EXPECT_EQ(store_->CancelMessages(w.id, by_customer, Timestamp::FromSeconds(1'100)).value(), 3);
  counts = store_->CountMessages(w.id, "spring").value();
  EXPECT_EQ(counts.queued, 1);  // m2
  EXPECT_EQ(counts.cancelled, 1);  // m4
  EXPECT_EQ(store_->CancelMessages(w.id, by_state, Timestamp::FromSeconds(1'100)).value(), 1);
  counts = store_->CountMessages(w.id, "").value();
  EXPECT_EQ(counts.queued, 0);
  EXPECT_EQ(counts.cancelled, 4);
  EXPECT_EQ(counts.sending, 1);
  EXPECT_EQ(counts.sent, 1);
  MessageFilter sent_only;
  sent_only.state = MessageState::kSent;
  EXPECT_EQ(store_->CancelMessages(w.id, sent_only, Timestamp::FromSeconds(1'200)).value(), 0);
  EXPECT_EQ(store_->CancelMessages(w.id, all, Timestamp::FromSeconds(1'200)).value(), 0);
  const auto m4 = store_->FindMessageByKey(w.id, "m4").value().value();
  EXPECT_EQ(m4.state, MessageState::kCancelled);
  const auto log = store_->ListMessageLog(w.id, m4.id, CustomerId{}, 10).value();
  EXPECT_EQ(Kinds(log), (std::vector<std::string>{"queued", "cancelled"}));
  EXPECT_EQ(log.back().at, Timestamp::FromSeconds(1'100));
  // The sending one still finishes.
  EXPECT_TRUE(store_->FinishMessage(Outcome(claimed[1].id, "w", MessageState::kFailed, "failed", 1'300)).value());
  EXPECT_EQ(store_->CountMessages(w.id, "").value().failed, 1);
  // Another workspace sees none of it.
  EXPECT_TRUE(store_->ListMessages(other.id, all, 0, 100).value().empty());
  MessageCounts none = store_->CountMessages(other.id, "").value();
  EXPECT_EQ(none.queued + none.sending + none.sent + none.cancelled + none.failed, 0);
}

TEST_P(StoreContractTest, SuppressionsAreCaseInsensitiveAndReplaced) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  ASSERT_TRUE(store_->SuppressEmail({w.id, "Anna@Example.DE", "bounce", "550 no such user",
                                     Timestamp::FromSeconds(100)}));
  auto found = store_->FindSuppression(w.id, "anna@EXAMPLE.de").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->address, "anna@example.de");
  EXPECT_EQ(found->reason, "bounce");
  EXPECT_EQ(found->detail, "550 no such user");
  EXPECT_EQ(found->at, Timestamp::FromSeconds(100));
  EXPECT_EQ(found->workspace, w.id);
  ASSERT_TRUE(store_->SuppressEmail({w.id, "ANNA@example.de", "complaint", "", Timestamp::FromSeconds(200)}));
  found = store_->FindSuppression(w.id, "anna@example.de").value();
  EXPECT_EQ(found->reason, "complaint");
  EXPECT_EQ(found->at, Timestamp::FromSeconds(200));
  ASSERT_TRUE(store_->SuppressEmail({w.id, "zoe@example.de", "manual", "", Timestamp::FromSeconds(300)}));
  ASSERT_TRUE(store_->SuppressEmail({w.id, "Bob@example.de", "manual", "", Timestamp::FromSeconds(300)}));
  auto addresses = [&](std::string_view after, int limit) {
    std::vector<std::string> out;
    const auto listed = store_->ListSuppressions(w.id, after, limit).value();
    for (const auto& s : listed) out.push_back(s.address);
    return out;
  };
  EXPECT_EQ(addresses("", 10), (std::vector<std::string>{"anna@example.de", "bob@example.de", "zoe@example.de"}));
  EXPECT_EQ(addresses("", 2), (std::vector<std::string>{"anna@example.de", "bob@example.de"}));
  EXPECT_EQ(addresses("BOB@example.de", 2), std::vector<std::string>{"zoe@example.de"});
  // Another workspace has its own list.
  EXPECT_FALSE(store_->FindSuppression(other.id, "anna@example.de").value().has_value());
  EXPECT_TRUE(store_->ListSuppressions(other.id, "", 10).value().empty());
  EXPECT_FALSE(store_->DeleteSuppression(other.id, "anna@example.de").value());
  EXPECT_TRUE(store_->DeleteSuppression(w.id, "Anna@Example.de").value());
  EXPECT_FALSE(store_->DeleteSuppression(w.id, "anna@example.de").value());
  EXPECT_FALSE(store_->FindSuppression(w.id, "anna@example.de").value().has_value());
}

TEST_P(StoreContractTest, ConsentRecordsAreListedOldestFirstAndPaged) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  ConsentRecord r{0,  w.id, ids[0], Channel::kEmail, "requested", Timestamp::FromSeconds(100), "203.0.113.7",
                  "Mozilla/5.0", "newsletter-2026-01", "api"};
  const ConsentRecord first = store_->AddConsentRecord(r).value();
  EXPECT_GT(first.id, 0);
  r.customer = ids[1];
  r.action = "granted";
  r.channel = Channel::kSms;
  const ConsentRecord second = store_->AddConsentRecord(r).value();
  r.customer = ids[0];
  r.action = "confirmed";
  r.ip = "";
  r.source = "double_opt_in";
  r.at = Timestamp::FromSeconds(200);
  const ConsentRecord third = store_->AddConsentRecord(r).value();
  EXPECT_LT(first.id, second.id);
  EXPECT_LT(second.id, third.id);
  const auto mine = store_->ListConsentRecords(w.id, ids[0], 0, 10).value();
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, first.id);
  EXPECT_EQ(mine[0].workspace, w.id);
  EXPECT_EQ(mine[0].customer, ids[0]);
  EXPECT_EQ(mine[0].channel, Channel::kEmail);
  EXPECT_EQ(mine[0].action, "requested");
  EXPECT_EQ(mine[0].at, Timestamp::FromSeconds(100));
  EXPECT_EQ(mine[0].ip, "203.0.113.7");
  EXPECT_EQ(mine[0].user_agent, "Mozilla/5.0");
  EXPECT_EQ(mine[0].text_version, "newsletter-2026-01");
  EXPECT_EQ(mine[0].source, "api");
  EXPECT_EQ(mine[1].action, "confirmed");
  EXPECT_EQ(mine[1].source, "double_opt_in");
  const auto all = store_->ListConsentRecords(w.id, CustomerId{}, 0, 10).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].channel, Channel::kSms);
  const auto page = store_->ListConsentRecords(w.id, CustomerId{}, first.id, 1).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, second.id);
  EXPECT_TRUE(store_->ListConsentRecords(w.id, CustomerId{}, third.id, 10).value().empty());
  EXPECT_TRUE(store_->ListConsentRecords(other.id, CustomerId{}, 0, 10).value().empty());
  EXPECT_TRUE(store_->ListConsentRecords(other.id, ids[0], 0, 10).value().empty());
}

TEST_P(StoreContractTest, MessagePreferencesAndSettingsRoundTrip) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  CustomerId c;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_FALSE(store_->FindMessagePreferences(w.id, c).value().has_value());
  MessagePreferences p{w.id, c, {"tips", "news", "tips"}, Timestamp::FromSeconds(5'000), true,
                       Timestamp::FromSeconds(100)};
  ASSERT_TRUE(store_->SaveMessagePreferences(p));
  auto found = store_->FindMessagePreferences(w.id, c).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->workspace, w.id);
  EXPECT_EQ(found->customer, c);
  EXPECT_EQ(found->topics_off, (std::vector<std::string>{"news", "tips"}));  // sorted, unique
  EXPECT_EQ(found->paused_until, std::optional(Timestamp::FromSeconds(5'000)));
  EXPECT_TRUE(found->tracking_off);
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(100));
  p.topics_off.clear();
  p.paused_until.reset();
  p.tracking_off = false;
  p.updated_at = Timestamp::FromSeconds(200);
  ASSERT_TRUE(store_->SaveMessagePreferences(p));
  found = store_->FindMessagePreferences(w.id, c).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->topics_off.empty());
  EXPECT_FALSE(found->paused_until.has_value());
  EXPECT_FALSE(found->tracking_off);
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(200));
  p.topics_off = {"news", ""};
  EXPECT_EQ(store_->SaveMessagePreferences(p).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->FindMessagePreferences(other.id, c).value().has_value());

  EXPECT_FALSE(store_->FindMessagingSettings(w.id).value().has_value());
  MessagingSettingsRecord s;
  s.workspace = w.id;
  s.from_name = "Kaffee & Co";
  s.from_address = "hello@kaffee.example";
  s.reply_to = "team@kaffee.example";
  s.transport = "smtp";
  s.smtp_url = "smtp://mail.example:587";
  s.smtp_tls = "starttls";
  s.smtp_username = "kaffee";
  s.smtp_password_sealed = "v1.sealed.password";
  s.dkim_domain = "kaffee.example";
  s.dkim_selector = "treu";
  s.dkim_key_sealed = "v1.sealed.key";
  s.consent_text_version = "newsletter-2026-01";
  s.public_url = "https://treu.kaffee.example";
  s.track_engagement = false;
  s.max_attempts = 5;
  s.updated_at = Timestamp::FromSeconds(100);
  ASSERT_TRUE(store_->SaveMessagingSettings(s));
  auto stored = store_->FindMessagingSettings(w.id).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->workspace, w.id);
  EXPECT_EQ(stored->from_name, s.from_name);
  EXPECT_EQ(stored->from_address, s.from_address);
  EXPECT_EQ(stored->reply_to, s.reply_to);
  EXPECT_EQ(stored->transport, "smtp");
  EXPECT_EQ(stored->smtp_url, s.smtp_url);
  EXPECT_EQ(stored->smtp_tls, "starttls");
  EXPECT_EQ(stored->smtp_username, "kaffee");
  EXPECT_EQ(stored->smtp_password_sealed, s.smtp_password_sealed);
  EXPECT_EQ(stored->dkim_domain, s.dkim_domain);
  EXPECT_EQ(stored->dkim_selector, "treu");
  EXPECT_EQ(stored->dkim_key_sealed, s.dkim_key_sealed);
  EXPECT_EQ(stored->consent_text_version, s.consent_text_version);
  EXPECT_EQ(stored->public_url, "https://treu.kaffee.example");
  EXPECT_FALSE(stored->track_engagement);
  EXPECT_EQ(stored->max_attempts, 5);
  EXPECT_EQ(stored->updated_at, Timestamp::FromSeconds(100));
  s.track_engagement = true;
  s.transport = "file";
  s.smtp_tls = "tls";
  s.max_attempts = 8;
  s.updated_at = Timestamp::FromSeconds(200);
  ASSERT_TRUE(store_->SaveMessagingSettings(s));
  stored = store_->FindMessagingSettings(w.id).value();
  EXPECT_EQ(stored->transport, "file");
  EXPECT_EQ(stored->smtp_tls, "tls");
  EXPECT_EQ(stored->max_attempts, 8);
  EXPECT_TRUE(stored->track_engagement);
  EXPECT_EQ(stored->updated_at, Timestamp::FromSeconds(200));
  s.transport = "carrier-pigeon";
  EXPECT_EQ(store_->SaveMessagingSettings(s).error().code(), ErrorCode::kInvalidArgument);
  s.transport = "smtp";
  s.smtp_tls = "ssl";
  EXPECT_EQ(store_->SaveMessagingSettings(s).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->FindMessagingSettings(other.id).value().has_value());
}

// ---- Channels beyond email

TEST_P(StoreContractTest, MessageTemplatesKeepLinkLayoutAndEndpoint) {
  const Workspace w = MakeWorkspace("shop");
  MessageTemplateRecord t;
  t.workspace = w.id;
  t.name = "banner";
  t.channel = Channel::kInApp;
  t.subject = "Spring sale";
  t.text = "20% off, {{ name }}";
  t.link_url = "https://shop.example/sale?c={{ customer.id }}";
  t.layout = "modal";
  t.created_at = t.updated_at = Timestamp::FromSeconds(100);
  const MessageTemplateRecord saved = store_->SaveMessageTemplate(t).value();
  EXPECT_EQ(saved.link_url, t.link_url);
  EXPECT_EQ(saved.layout, "modal");
  EXPECT_EQ(saved.endpoint, "");
  MessageTemplateRecord hook;
  hook.workspace = w.id;
  hook.name = "to_slack";
  hook.channel = Channel::kWebhook;
  hook.text = "{{ name }} churned";
  hook.endpoint = "team-chat";
  hook.created_at = hook.updated_at = Timestamp::FromSeconds(100);
  ASSERT_TRUE(store_->SaveMessageTemplate(hook));
  // Read back by name, by id and in the list.
  const auto found = store_->FindMessageTemplate(w.id, "banner").value().value();
  EXPECT_EQ(found.link_url, t.link_url);
  EXPECT_EQ(found.layout, "modal");
  EXPECT_EQ(found.endpoint, "");
  const auto by_id = store_->FindMessageTemplateById(w.id, saved.id).value().value();
  EXPECT_EQ(by_id.link_url, t.link_url);
  EXPECT_EQ(by_id.layout, "modal");
  const auto listed = store_->ListMessageTemplates(w.id).value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].name, "to_slack");
  EXPECT_EQ(listed[1].endpoint, "team-chat");
  EXPECT_EQ(listed[1].link_url, "");
  EXPECT_EQ(listed[1].layout, "");
  // Replacing replaces them too, to "" as well.
  t.link_url = "";
  t.layout = "banner";
  t.updated_at = Timestamp::FromSeconds(200);
  const MessageTemplateRecord replaced = store_->SaveMessageTemplate(t).value();
  EXPECT_EQ(replaced.id, saved.id);
  EXPECT_EQ(replaced.link_url, "");
  EXPECT_EQ(replaced.layout, "banner");
  hook.endpoint = "ops";
  EXPECT_EQ(store_->SaveMessageTemplate(hook).value().endpoint, "ops");
  EXPECT_EQ(store_->FindMessageTemplate(w.id, "to_slack").value().value().endpoint, "ops");
}

namespace {

PushSubscriptionRecord PushSubscription(WorkspaceId ws, CustomerId c, std::string endpoint, std::int64_t at_s) {
  PushSubscriptionRecord p;
  p.workspace = ws;
  p.customer = c;
  p.endpoint = std::move(endpoint);
  p.p256dh = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
  p.auth = "tBHItJI5svbpez7KI4CCXg";
  p.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
  p.created_at = p.updated_at = Timestamp::FromSeconds(at_s);
  return p;
}

std::vector<std::string> Endpoints(const std::vector<PushSubscriptionRecord>& subs) {
  std::vector<std::string> out;
  for (const auto& s : subs) out.push_back(s.endpoint);
  return out;
}

}  // namespace

TEST_P(StoreContractTest, PushSubscriptionsAreUpsertedByEndpointListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const CustomerId c = ids[0], d = ids[1];
  const PushSubscriptionRecord a = PushSubscription(w.id, c, "https://push.example/a", 100);
  const PushSubscriptionRecord s1 = store_->SavePushSubscription(a).value();
  EXPECT_GT(s1.id, 0);
  EXPECT_EQ(s1.workspace, w.id);
  EXPECT_EQ(s1.customer, c);
  EXPECT_EQ(s1.endpoint, a.endpoint);
  EXPECT_EQ(s1.p256dh, a.p256dh);
  EXPECT_EQ(s1.auth, a.auth);
  EXPECT_EQ(s1.user_agent, a.user_agent);
  EXPECT_EQ(s1.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(s1.updated_at, Timestamp::FromSeconds(100));
  const auto s2 = store_->SavePushSubscription(PushSubscription(w.id, c, "https://push.example/b", 110)).value();
  const auto s3 = store_->SavePushSubscription(PushSubscription(w.id, d, "https://push.example/c", 120)).value();
  EXPECT_LT(s1.id, s2.id);
  EXPECT_LT(s2.id, s3.id);

  // The browser of endpoint a now belongs to d: the row moves, keeping id and created_at.
  PushSubscriptionRecord moved = PushSubscription(w.id, d, "https://push.example/a", 200);
  moved.p256dh = "BOther";
  moved.auth = "other-auth";
  moved.user_agent = "Chrome";
  const PushSubscriptionRecord s1b = store_->SavePushSubscription(moved).value();
  EXPECT_EQ(s1b.id, s1.id);
  EXPECT_EQ(s1b.customer, d);
  EXPECT_EQ(s1b.p256dh, "BOther");
  EXPECT_EQ(s1b.auth, "other-auth");
  EXPECT_EQ(s1b.user_agent, "Chrome");
  EXPECT_EQ(s1b.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(s1b.updated_at, Timestamp::FromSeconds(200));
  const auto found = store_->FindPushSubscription(w.id, s1.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->customer, d);
  EXPECT_EQ(found->endpoint, "https://push.example/a");
  EXPECT_EQ(found->p256dh, "BOther");
  EXPECT_EQ(found->created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(200));
  EXPECT_FALSE(store_->FindPushSubscription(w.id, 999'999).value().has_value());

  // Per customer and per workspace, by id, paged.
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, c, 0, 10).value()),
            std::vector<std::string>{"https://push.example/b"});
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, d, 0, 10).value()),
            (std::vector<std::string>{"https://push.example/a", "https://push.example/c"}));
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, d, s1.id, 10).value()),
            std::vector<std::string>{"https://push.example/c"});
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 10).value()),
            (std::vector<std::string>{"https://push.example/a", "https://push.example/b",
                                      "https://push.example/c"}));
  const auto page = store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 2).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].id, s2.id);
  EXPECT_EQ(page[1].customer, c);
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, CustomerId{}, page[1].id, 2).value()),
            std::vector<std::string>{"https://push.example/c"});
  EXPECT_TRUE(store_->ListPushSubscriptions(w.id, CustomerId{}, s3.id, 2).value().empty());
  EXPECT_TRUE(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 0).value().empty());

  // Refused: no endpoint, no customer, a customer the workspace doesn't have.
  EXPECT_EQ(store_->SavePushSubscription(PushSubscription(w.id, c, "", 300)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->SavePushSubscription(PushSubscription(w.id, CustomerId{}, "https://push.example/x", 300))
                .error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->SavePushSubscription(PushSubscription(w.id, CustomerId{999'999}, "https://push.example/x", 300))
                .error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 10).value().size(), 3u);

  // Deleting by id and by endpoint; false when there is none.
  EXPECT_TRUE(store_->DeletePushSubscription(w.id, s2.id).value());
  EXPECT_FALSE(store_->DeletePushSubscription(w.id, s2.id).value());
  EXPECT_FALSE(store_->FindPushSubscription(w.id, s2.id).value().has_value());
  EXPECT_TRUE(store_->DeletePushSubscriptionByEndpoint(w.id, "https://push.example/c").value());
  EXPECT_FALSE(store_->DeletePushSubscriptionByEndpoint(w.id, "https://push.example/c").value());
  EXPECT_FALSE(store_->DeletePushSubscriptionByEndpoint(w.id, "https://push.example/nothing").value());
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 10).value()),
            std::vector<std::string>{"https://push.example/a"});
  EXPECT_TRUE(store_->ListPushSubscriptions(w.id, c, 0, 10).value().empty());
}

TEST_P(StoreContractTest, PushSubscriptionsAreConfinedToTheirWorkspace) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  CustomerId c, e;
  {
    auto tx = store_->BeginWrite(w.id).value();
    c = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  const auto mine = store_->SavePushSubscription(PushSubscription(w.id, c, "https://push.example/a", 100)).value();
  const auto mine2 = store_->SavePushSubscription(PushSubscription(w.id, c, "https://push.example/b", 100)).value();
  // The same endpoint in another workspace is another subscription; it moves nothing of w's.
  const auto theirs =
      store_->SavePushSubscription(PushSubscription(other.id, e, "https://push.example/a", 200)).value();
  EXPECT_NE(theirs.id, mine.id);
  EXPECT_EQ(theirs.workspace, other.id);
  EXPECT_EQ(theirs.created_at, Timestamp::FromSeconds(200));
  EXPECT_EQ(store_->FindPushSubscription(w.id, mine.id).value().value().customer, c);
  // A customer of w cannot be subscribed in other's name.
  EXPECT_EQ(store_->SavePushSubscription(PushSubscription(other.id, c, "https://push.example/x", 300))
                .error().code(),
            ErrorCode::kNotFound);
  // Other never sees, nor deletes, w's.
  EXPECT_FALSE(store_->FindPushSubscription(other.id, mine.id).value().has_value());
  EXPECT_FALSE(store_->FindPushSubscription(w.id, theirs.id).value().has_value());
  EXPECT_TRUE(store_->ListPushSubscriptions(other.id, c, 0, 10).value().empty());
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(other.id, CustomerId{}, 0, 10).value()),
            std::vector<std::string>{"https://push.example/a"});
  EXPECT_FALSE(store_->DeletePushSubscription(other.id, mine2.id).value());
  EXPECT_FALSE(store_->DeletePushSubscriptionByEndpoint(other.id, "https://push.example/b").value());
  EXPECT_TRUE(store_->DeletePushSubscriptionByEndpoint(other.id, "https://push.example/a").value());
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 10).value()),
            (std::vector<std::string>{"https://push.example/a", "https://push.example/b"}));
}

TEST_P(StoreContractTest, ErasingACustomerDeletesTheirPushSubscriptions) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  CustomerId e;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"c1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  ASSERT_TRUE(store_->SavePushSubscription(PushSubscription(w.id, ids[0], "https://push.example/a", 100)));
  ASSERT_TRUE(store_->SavePushSubscription(PushSubscription(w.id, ids[0], "https://push.example/b", 100)));
  ASSERT_TRUE(store_->SavePushSubscription(PushSubscription(w.id, ids[1], "https://push.example/c", 100)));
  ASSERT_TRUE(store_->SavePushSubscription(PushSubscription(other.id, e, "https://push.example/d", 100)));
  {
    auto tx = store_->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->EraseCustomer("c1", clock_.Now()).value());
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_TRUE(store_->ListPushSubscriptions(w.id, ids[0], 0, 10).value().empty());
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(w.id, CustomerId{}, 0, 10).value()),
            std::vector<std::string>{"https://push.example/c"});
  // The other workspace's customer with the same external id keeps theirs.
  EXPECT_EQ(Endpoints(store_->ListPushSubscriptions(other.id, e, 0, 10).value()),
            std::vector<std::string>{"https://push.example/d"});
}

TEST_P(StoreContractTest, WebhookEndpointsAreSavedReplacedListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_TRUE(store_->ListWebhookEndpoints(w.id).value().empty());
  EXPECT_FALSE(store_->FindWebhookEndpoint(w.id, "team-chat").value().has_value());
  WebhookEndpointRecord e{w.id, "team-chat", "https://hooks.slack.example/T1/B2", "slack", "v1.sealed.secret",
                          Timestamp::FromSeconds(100), Timestamp::FromSeconds(100)};
  const WebhookEndpointRecord saved = store_->SaveWebhookEndpoint(e).value();
  EXPECT_EQ(saved.workspace, w.id);
  EXPECT_EQ(saved.name, "team-chat");
  EXPECT_EQ(saved.url, e.url);
  EXPECT_EQ(saved.format, "slack");
  EXPECT_EQ(saved.secret_sealed, "v1.sealed.secret");
  EXPECT_EQ(saved.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(saved.updated_at, Timestamp::FromSeconds(100));
  WebhookEndpointRecord zed = e;
  zed.name = "Zed";
  zed.format = "json";
  ASSERT_TRUE(store_->SaveWebhookEndpoint(zed));
  WebhookEndpointRecord alerts = e;
  alerts.name = "alerts";
  alerts.format = "discord";
  alerts.url = "http://discord.example/api/webhooks/1";
  ASSERT_TRUE(store_->SaveWebhookEndpoint(alerts));
  // Replaced by name: url, format and secret, keeping created_at.
  e.url = "https://crm.example/treu";
  e.format = "json";
  e.secret_sealed = "";
  e.created_at = e.updated_at = Timestamp::FromSeconds(200);
  const WebhookEndpointRecord replaced = store_->SaveWebhookEndpoint(e).value();
  EXPECT_EQ(replaced.url, "https://crm.example/treu");
  EXPECT_EQ(replaced.format, "json");
  EXPECT_EQ(replaced.secret_sealed, "");
  EXPECT_EQ(replaced.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(replaced.updated_at, Timestamp::FromSeconds(200));
  const auto found = store_->FindWebhookEndpoint(w.id, "team-chat").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->url, "https://crm.example/treu");
  EXPECT_EQ(found->created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(200));
  EXPECT_FALSE(store_->FindWebhookEndpoint(w.id, "Team-Chat").value().has_value());
  // Listed by name, byte by byte.
  const auto listed = store_->ListWebhookEndpoints(w.id).value();
  std::vector<std::string> names;
  for (const auto& l : listed) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Zed", "alerts", "team-chat"}));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1].format, "discord");
  EXPECT_EQ(listed[1].url, alerts.url);
  // Only the three formats.
  WebhookEndpointRecord bad = e;
  bad.name = "teams";
  bad.format = "teams";
  EXPECT_EQ(store_->SaveWebhookEndpoint(bad).error().code(), ErrorCode::kInvalidArgument);
  bad.format = "";
  EXPECT_EQ(store_->SaveWebhookEndpoint(bad).error().code(), ErrorCode::kInvalidArgument);
  e.format = "JSON";
  EXPECT_EQ(store_->SaveWebhookEndpoint(e).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->FindWebhookEndpoint(w.id, "teams").value().has_value());
  EXPECT_EQ(store_->FindWebhookEndpoint(w.id, "team-chat").value().value().format, "json");
  // Another workspace sees none of it and can't delete it; its own names are its own.
  EXPECT_TRUE(store_->ListWebhookEndpoints(other.id).value().empty());
  EXPECT_FALSE(store_->FindWebhookEndpoint(other.id, "alerts").value().has_value());
  EXPECT_EQ(store_->DeleteWebhookEndpoint(other.id, "alerts").error().code(), ErrorCode::kNotFound);
  WebhookEndpointRecord theirs = alerts;
  theirs.workspace = other.id;
  theirs.url = "https://other.example/hook";
  ASSERT_TRUE(store_->SaveWebhookEndpoint(theirs));
  EXPECT_EQ(store_->FindWebhookEndpoint(w.id, "alerts").value().value().url, alerts.url);
  // Deleted; NotFound when there is none.
  ASSERT_TRUE(store_->DeleteWebhookEndpoint(w.id, "alerts"));
  EXPECT_FALSE(store_->FindWebhookEndpoint(w.id, "alerts").value().has_value());
  EXPECT_EQ(store_->DeleteWebhookEndpoint(w.id, "alerts").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListWebhookEndpoints(w.id).value().size(), 2u);
  EXPECT_EQ(store_->FindWebhookEndpoint(other.id, "alerts").value().value().url, "https://other.example/hook");
}

TEST_P(StoreContractTest, ChannelSettingsAreSavedReplacedAndFound) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_FALSE(store_->FindChannelSettings(w.id).value().has_value());
  ChannelSettingsRecord s{w.id, "BPcMbnWQL5GOYX_5UQ4UdQwRB3SuDHfYc9Q2KcE8nFc", "v1.sealed.vapid",
                          "mailto:ops@kaffee.example", "", Timestamp::FromSeconds(100)};
  ASSERT_TRUE(store_->SaveChannelSettings(s));
  auto found = store_->FindChannelSettings(w.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->workspace, w.id);
  EXPECT_EQ(found->vapid_public_key, s.vapid_public_key);
  EXPECT_EQ(found->vapid_private_sealed, "v1.sealed.vapid");
  EXPECT_EQ(found->vapid_subject, "mailto:ops@kaffee.example");
  EXPECT_EQ(found->identity_secret_sealed, "");
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(100));
  // Replaced whole.
  s.vapid_public_key = "";
  s.vapid_private_sealed = "";
  s.vapid_subject = "https://kaffee.example";
  s.identity_secret_sealed = "v1.sealed.identity";
  s.updated_at = Timestamp::FromSeconds(200);
  ASSERT_TRUE(store_->SaveChannelSettings(s));
  found = store_->FindChannelSettings(w.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->vapid_public_key, "");
  EXPECT_EQ(found->vapid_private_sealed, "");
  EXPECT_EQ(found->vapid_subject, "https://kaffee.example");
  EXPECT_EQ(found->identity_secret_sealed, "v1.sealed.identity");
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(200));
  EXPECT_FALSE(store_->FindChannelSettings(other.id).value().has_value());
}

TEST_P(StoreContractTest, InAppInboxListsSentUndismissedMessagesNewestFirst) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  CustomerId e;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"e1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  const CustomerId c = ids[0], d = ids[1];
  auto in_app = [](WorkspaceId ws, std::string key, CustomerId to) {
    OutboxMessage m = Message(ws, key, to);
    m.channel = Channel::kInApp;
    m.recipient = "";
    m.subject = "Spring sale";
    m.html = R"({"title":"Spring sale","body":"20% off for )" + key + R"(","url":"","layout":"banner"})";
    m.text = "";
    return m;
  };
  // c: i0..i6 in-app and an email; d and a customer of the other workspace one in-app each.
  std::vector<OutboxMessage> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(in_app(w.id, "i" + std::to_string(i), c));
  batch[4].next_attempt_at = Timestamp::FromSeconds(5'000);  // stays queued
  batch.push_back(Message(w.id, "mail", c));
  batch.push_back(in_app(w.id, "d0", d));
  ASSERT_EQ(store_->EnqueueMessages(w.id, batch, Timestamp::FromSeconds(1)).value(), 9);
  const std::vector<OutboxMessage> theirs{in_app(other.id, "o0", e)};
  ASSERT_EQ(store_->EnqueueMessages(other.id, theirs, Timestamp::FromSeconds(1)).value(), 1);

  const std::int64_t lease = 60 * kMicrosPerSecond;
  const auto claimed =
      store_->ClaimMessages(Channel::kInApp, Timestamp::FromSeconds(1'000), lease, "w", 100).value();
  ASSERT_EQ(claimed.size(), 8u);  // i0..i3, i5, i6, d0, o0
  std::map<std::string, std::int64_t> id;
  for (const auto& m : claimed) id[m.idempotency_key] = m.id;
  auto finish = [&](const std::string& key, MessageState state, std::int64_t at_s) {
    ASSERT_TRUE(store_->FinishMessage(Outcome(id.at(key), "w", state, "x", at_s)).value()) << key;
  };
  finish("i0", MessageState::kSent, 1'100);
  finish("i1", MessageState::kSent, 1'200);
  finish("i2", MessageState::kSent, 1'300);
  finish("i3", MessageState::kFailed, 1'300);
  finish("i5", MessageState::kSent, 1'400);
  // i6 stays sending; i4 queued.
  finish("d0", MessageState::kSent, 1'100);
  finish("o0", MessageState::kSent, 1'100);
  // The email to c is sent too: it is no in-app message.
  const auto mail = store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(1'000), lease, "w", 10).value();
  ASSERT_EQ(Keys(mail), std::vector<std::string>{"mail"});
  ASSERT_TRUE(store_->FinishMessage(Outcome(mail[0].id, "w", MessageState::kSent, "sent", 1'500)).value());
  // i2 is dismissed; i1 only opened.
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("i2"), c, "dismissed", Timestamp::FromSeconds(1'600), ""}));
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("i1"), c, "opened", Timestamp::FromSeconds(1'600), ""}));

  auto inbox = [&](WorkspaceId ws, CustomerId who, std::int64_t since_s, int limit) {
    return Keys(store_->ListInAppMessages(ws, who, Timestamp::FromSeconds(since_s), limit).value());
  };
  EXPECT_EQ(inbox(w.id, c, 0, 100), (std::vector<std::string>{"i5", "i1", "i0"}));
  // With their payloads and state.
  const auto full = store_->ListInAppMessages(w.id, c, Timestamp::FromSeconds(0), 100).value();
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[0].id, id.at("i5"));
  EXPECT_EQ(full[0].html, batch[5].html);
  EXPECT_EQ(full[0].subject, "Spring sale");
  EXPECT_EQ(full[0].channel, Channel::kInApp);
  EXPECT_EQ(full[0].state, MessageState::kSent);
  EXPECT_EQ(full[0].customer, c);
  EXPECT_EQ(full[0].workspace, w.id);
  EXPECT_EQ(full[0].sent_at, std::optional(Timestamp::FromSeconds(1'400)));
  // Sent at or after `since`.
  EXPECT_EQ(inbox(w.id, c, 1'200, 100), (std::vector<std::string>{"i5", "i1"}));
  EXPECT_EQ(inbox(w.id, c, 1'201, 100), std::vector<std::string>{"i5"});
  EXPECT_TRUE(inbox(w.id, c, 1'401, 100).empty());
  // At most `limit`, newest first.
  EXPECT_EQ(inbox(w.id, c, 0, 2), (std::vector<std::string>{"i5", "i1"}));
  EXPECT_EQ(inbox(w.id, c, 0, 1), std::vector<std::string>{"i5"});
  EXPECT_TRUE(inbox(w.id, c, 0, 0).empty());
  EXPECT_EQ(inbox(w.id, c, 0, 1'000), (std::vector<std::string>{"i5", "i1", "i0"}));
  // Other customers' and other workspaces' messages never appear.
  EXPECT_EQ(inbox(w.id, d, 0, 100), std::vector<std::string>{"d0"});
  EXPECT_EQ(inbox(other.id, e, 0, 100), std::vector<std::string>{"o0"});
  EXPECT_TRUE(inbox(other.id, c, 0, 100).empty());
  EXPECT_TRUE(inbox(w.id, e, 0, 100).empty());
  EXPECT_TRUE(inbox(w.id, CustomerId{}, 0, 100).empty());
  // Another workspace cannot dismiss c's message; c dismissing it hides it.
  EXPECT_EQ(store_->AppendMessageLog({0, other.id, id.at("i5"), c, "dismissed", Timestamp::FromSeconds(1'700), ""})
                .error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(inbox(w.id, c, 0, 100), (std::vector<std::string>{"i5", "i1", "i0"}));
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("i5"), c, "dismissed", Timestamp::FromSeconds(1'700), ""}));
  EXPECT_EQ(inbox(w.id, c, 0, 100), (std::vector<std::string>{"i1", "i0"}));
  // i6, still being sent, joins once it is sent.
  ASSERT_TRUE(store_->FinishMessage(Outcome(id.at("i6"), "w", MessageState::kSent, "sent", 1'800)).value());
  EXPECT_EQ(inbox(w.id, c, 0, 100), (std::vector<std::string>{"i6", "i1", "i0"}));
}

CampaignRecord Campaign(WorkspaceId ws, std::string name) {
  CampaignRecord c;
  c.workspace = ws;
  c.name = std::move(name);
  c.segment = "at_risk";
  c.where = "orders >= 2";
  c.variants = {{"winback-a", 1}, {"winback-b", 3}};
  c.holdout_permille = 100;
  c.test_permille = 200;
  c.winner_metric = "clicked";
  c.test_window_micros = 4 * 3600 * kMicrosPerSecond;
  c.split_key = "000102030405060708090a0b0c0d0e0f";
  c.send_at = Timestamp::FromSeconds(5'000);
  c.local_time = "09:30";
  c.optimize_send_time = true;
  c.goal_window_micros = 3 * kMicrosPerDay;
  c.survey = "quarterly-nps";
  c.created_at = c.updated_at = Timestamp::FromSeconds(100);
  return c;
}

TEST_P(StoreContractTest, CampaignsAreSavedReplacedListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_TRUE(store_->ListCampaigns(w.id).value().empty());
  CampaignRecord c = Campaign(w.id, "winback");
  const CampaignRecord saved = store_->SaveCampaign(c).value();
  EXPECT_GT(saved.id, 0);
  EXPECT_EQ(saved.workspace, w.id);
  EXPECT_EQ(saved.state, CampaignState::kDraft);
  EXPECT_EQ(saved.segment, "at_risk");
  EXPECT_EQ(saved.where, "orders >= 2");
  EXPECT_EQ(saved.variants, c.variants);
  EXPECT_EQ(saved.holdout_permille, 100);
  EXPECT_EQ(saved.test_permille, 200);
  EXPECT_EQ(saved.winner_metric, "clicked");
  EXPECT_EQ(saved.test_window_micros, c.test_window_micros);
  EXPECT_EQ(saved.winner, -1);
  EXPECT_EQ(saved.split_key, c.split_key);
  EXPECT_EQ(saved.send_at, c.send_at);
  EXPECT_EQ(saved.local_time, "09:30");
  EXPECT_TRUE(saved.optimize_send_time);
  EXPECT_EQ(saved.goal_window_micros, 3 * kMicrosPerDay);
  EXPECT_EQ(saved.survey, "quarterly-nps");
  EXPECT_EQ(saved.launched_at, std::nullopt);
  EXPECT_EQ(saved.test_ends_at, std::nullopt);
  EXPECT_EQ(saved.finished_at, std::nullopt);
  // Replaced by name, keeping id and created_at; optional times cleared and set.
  c.send_at.reset();
  c.local_time = "";
  c.optimize_send_time = false;
  c.survey = "";
  c.variants = {{"winback-c", 5}};
  c.state = CampaignState::kScheduled;
  c.launched_at = Timestamp::FromSeconds(7);
  c.created_at = c.updated_at = Timestamp::FromSeconds(200);
  const CampaignRecord replaced = store_->SaveCampaign(c).value();
  EXPECT_EQ(replaced.id, saved.id);
  EXPECT_EQ(replaced.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(replaced.updated_at, Timestamp::FromSeconds(200));
  EXPECT_EQ(replaced.send_at, std::nullopt);
  EXPECT_EQ(replaced.launched_at, std::optional(Timestamp::FromSeconds(7)));
  EXPECT_EQ(replaced.variants, (std::vector<CampaignVariant>{{"winback-c", 5}}));
  EXPECT_EQ(replaced.state, CampaignState::kScheduled);
  EXPECT_EQ(replaced.survey, "");
  ASSERT_TRUE(store_->SaveCampaign(Campaign(w.id, "Autumn")));
  ASSERT_TRUE(store_->SaveCampaign(Campaign(other.id, "theirs")));
  std::vector<std::string> names;
  const auto campaigns = store_->ListCampaigns(w.id).value();
  for (const auto& l : campaigns) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Autumn", "winback"}));
  EXPECT_FALSE(store_->FindCampaign(w.id, "theirs").value().has_value());
  EXPECT_EQ(store_->FindCampaign(w.id, "winback").value().value().id, saved.id);
  // Bad records change nothing.
  CampaignRecord bad = Campaign(w.id, "");
  EXPECT_EQ(store_->SaveCampaign(bad).error().code(), ErrorCode::kInvalidArgument);
  bad.name = "bad";
  bad.variants = {};
  EXPECT_EQ(store_->SaveCampaign(bad).error().code(), ErrorCode::kInvalidArgument);
  bad.variants = {{"a,b", 1}};
  EXPECT_EQ(store_->SaveCampaign(bad).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->FindCampaign(w.id, "bad").value().has_value());
  // Deleted; another workspace's can't be.
  EXPECT_EQ(store_->DeleteCampaign(w.id, "theirs").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteCampaign(w.id, "Autumn"));
  EXPECT_FALSE(store_->FindCampaign(w.id, "Autumn").value().has_value());
  EXPECT_TRUE(store_->FindCampaign(other.id, "theirs").value().has_value());
}

TEST_P(StoreContractTest, CampaignStateChangesAreCompareAndSet) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  CampaignRecord c = Campaign(w.id, "winback");
  c.state = CampaignState::kScheduled;
  c = store_->SaveCampaign(c).value();
  CampaignRecord launch = c;
  launch.state = CampaignState::kRunning;
  launch.launched_at = Timestamp::FromSeconds(5'000);
  launch.updated_at = Timestamp::FromSeconds(5'000);
  EXPECT_TRUE(store_->UpdateCampaignIf(launch, CampaignState::kScheduled).value());
  // The second scheduler finds it running already.
  EXPECT_FALSE(store_->UpdateCampaignIf(launch, CampaignState::kScheduled).value());
  const CampaignRecord now = store_->FindCampaign(w.id, "winback").value().value();
  EXPECT_EQ(now.state, CampaignState::kRunning);
  EXPECT_EQ(now.launched_at, std::optional(Timestamp::FromSeconds(5'000)));
  EXPECT_EQ(now.created_at, Timestamp::FromSeconds(100));
  CampaignRecord testing = now;
  testing.state = CampaignState::kTesting;
  testing.test_ends_at = Timestamp::FromSeconds(9'000);
  testing.winner = 1;
  testing.last_error = "";
  testing.survey = "after-order";
  EXPECT_TRUE(store_->UpdateCampaignIf(testing, CampaignState::kRunning).value());
  EXPECT_EQ(store_->FindCampaign(w.id, "winback").value().value().winner, 1);
  EXPECT_EQ(store_->FindCampaign(w.id, "winback").value().value().survey, "after-order");
  // Not another workspace's, nor a missing one.
  CampaignRecord foreign = testing;
  foreign.workspace = other.id;
  EXPECT_EQ(store_->UpdateCampaignIf(foreign, CampaignState::kTesting).error().code(), ErrorCode::kNotFound);
  foreign = testing;
  foreign.id += 1000;
  EXPECT_EQ(store_->UpdateCampaignIf(foreign, CampaignState::kTesting).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->FindCampaign(w.id, "winback").value().value().state, CampaignState::kTesting);
}

TEST_P(StoreContractTest, DueCampaignsAreScheduledTestedOrStale) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  auto save = [&](WorkspaceId ws, std::string name, CampaignState state, std::int64_t send_s, std::int64_t test_s,
                  std::int64_t updated_s) {
    CampaignRecord c = Campaign(ws, std::move(name));
    c.state = state;
    c.send_at = Timestamp::FromSeconds(send_s);
    c.test_ends_at = Timestamp::FromSeconds(test_s);
    c.updated_at = Timestamp::FromSeconds(updated_s);
    return store_->SaveCampaign(c).value().id;
  };
  const std::int64_t due = save(w.id, "due", CampaignState::kScheduled, 1'000, 0, 1);
  save(w.id, "later", CampaignState::kScheduled, 3'000, 0, 1);
  save(w.id, "draft", CampaignState::kDraft, 1'000, 0, 1);
  const std::int64_t tested = save(other.id, "tested", CampaignState::kTesting, 0, 2'000, 1'900);
  save(w.id, "testing", CampaignState::kTesting, 0, 2'001, 1'900);
  const std::int64_t stale = save(w.id, "stale", CampaignState::kRunning, 0, 0, 1'000);
  save(w.id, "fresh", CampaignState::kRunning, 0, 0, 1'500);
  save(w.id, "done", CampaignState::kDone, 1'000, 1'000, 1);
  std::vector<std::int64_t> ids;
  const auto due_now = store_->ListDueCampaigns(Timestamp::FromSeconds(2'000), Timestamp::FromSeconds(1'500)).value();
  for (const auto& c : due_now) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{due, tested, stale}));
}

TEST_P(StoreContractTest, CampaignMembersAreUpsertedAndPaged) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t id = store_->SaveCampaign(Campaign(w.id, "winback")).value().id;
  const std::int64_t theirs = store_->SaveCampaign(Campaign(other.id, "winback")).value().id;
  std::vector<CampaignMember> members{{ids[2], kArmHoldout, Timestamp::FromSeconds(10), "held_out"},
                                      {ids[0], 0, Timestamp::FromSeconds(11), "queued"},
                                      {ids[1], kArmWaiting, Timestamp::FromSeconds(12), "waiting"}};
  ASSERT_TRUE(store_->SaveCampaignMembers(w.id, id, members));
  // Replaced by customer: the waiting one got the winner.
  const std::vector<CampaignMember> winner{{ids[1], 1, Timestamp::FromSeconds(20), "capped"}};
  ASSERT_TRUE(store_->SaveCampaignMembers(w.id, id, winner));
  auto all = store_->ListCampaignMembers(w.id, id, CustomerId{}, 100).value();
  std::vector<CampaignMember> expected{members[1], winner[0], members[0]};
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.customer.value < b.customer.value; });
  EXPECT_EQ(all, expected);
  // Paged by customer id.
  auto first = store_->ListCampaignMembers(w.id, id, CustomerId{}, 2).value();
  ASSERT_EQ(first.size(), 2u);
  auto rest = store_->ListCampaignMembers(w.id, id, first.back().customer, 2).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0], expected[2]);
  // Workspaces are apart: not into another's campaign, not listed through another workspace.
  EXPECT_EQ(store_->SaveCampaignMembers(w.id, theirs, members).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListCampaignMembers(other.id, id, CustomerId{}, 100).value().empty());
  EXPECT_TRUE(store_->ListCampaignMembers(w.id, theirs, CustomerId{}, 100).value().empty());
  // Deleting the campaign deletes its members.
  ASSERT_TRUE(store_->DeleteCampaign(w.id, "winback"));
  EXPECT_TRUE(store_->ListCampaignMembers(w.id, id, CustomerId{}, 100).value().empty());
}

TEST_P(StoreContractTest, PlannedCampaignMembersComeDueCountForCappingAndAreUnplanned) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  const std::vector<CustomerId> ids = ResolveCommitted(*store_, w.id, {"c1", "c2", "c3", "c4"}, clock_.Now());
  const std::vector<CustomerId> theirs_ids = ResolveCommitted(*store_, other.id, {"e1"}, clock_.Now());
  ASSERT_EQ((std::pair{ids.size(), theirs_ids.size()}), (std::pair{std::size_t{4}, std::size_t{1}}));
  const CustomerId e = theirs_ids[0];
  const std::int64_t spring = store_->SaveCampaign(Campaign(w.id, "spring")).value().id;
  const std::int64_t autumn = store_->SaveCampaign(Campaign(w.id, "autumn")).value().id;
  const std::int64_t theirs = store_->SaveCampaign(Campaign(other.id, "spring")).value().id;
  auto at = [](CustomerId c, std::int64_t due_s, bool planned, std::string outcome = "queued") {
    return CampaignMember{c, 0, Timestamp::FromSeconds(due_s), std::move(outcome), planned};
  };
  ASSERT_TRUE(store_->SaveCampaignMembers(
      w.id, spring,
      std::vector<CampaignMember>{at(ids[0], 300, true), at(ids[1], 100, true), at(ids[2], 100, false),
                                  at(ids[3], 50, false, "held_out")}));
  ASSERT_TRUE(store_->SaveCampaignMembers(w.id, autumn, std::vector<CampaignMember>{at(ids[0], 900, true)}));
  ASSERT_TRUE(store_->SaveCampaignMembers(other.id, theirs, std::vector<CampaignMember>{at(e, 100, true)}));
  // Round trip of the flag.
  EXPECT_EQ(store_->ListCampaignMembers(w.id, spring, CustomerId{}, 10).value()[0], at(ids[0], 300, true));

  // Campaigns with planned members due before a time, of every workspace, by id.
  using Plan = std::pair<WorkspaceId, std::int64_t>;
  EXPECT_EQ(store_->ListCampaignsWithPlans(Timestamp::FromSeconds(100)).value(), std::vector<Plan>{});
  EXPECT_EQ(store_->ListCampaignsWithPlans(Timestamp::FromSeconds(101)).value(),
            (std::vector<Plan>{{w.id, spring}, {other.id, theirs}}));
  EXPECT_EQ(store_->ListCampaignsWithPlans(Timestamp::FromSeconds(1'000)).value(),
            (std::vector<Plan>{{w.id, spring}, {w.id, autumn}, {other.id, theirs}}));
  // A campaign's planned members by due time, up to the limit; not the unplanned, not another
  // workspace's through this one.
  EXPECT_EQ(store_->ListPlannedMembers(w.id, spring, Timestamp::FromSeconds(1'000), 10).value(),
            (std::vector<CampaignMember>{at(ids[1], 100, true), at(ids[0], 300, true)}));
  EXPECT_EQ(store_->ListPlannedMembers(w.id, spring, Timestamp::FromSeconds(1'000), 1).value(),
            std::vector<CampaignMember>{at(ids[1], 100, true)});
  EXPECT_TRUE(store_->ListPlannedMembers(w.id, spring, Timestamp::FromSeconds(100), 10).value().empty());
  EXPECT_TRUE(store_->ListPlannedMembers(w.id, theirs, Timestamp::FromSeconds(1'000), 10).value().empty());

  // Capping counts planned messages as queued ones, with minus the campaign's id.
  auto rows = store_->ListMarketingMessages(w.id, Timestamp::FromSeconds(100), Timestamp::FromSeconds(900)).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ((std::tuple{rows[0].id, rows[0].customer, rows[0].at, rows[0].state, rows[0].campaign}),
            (std::tuple{-spring, ids[1], Timestamp::FromSeconds(100), MessageState::kQueued, std::string("spring")}));
  EXPECT_EQ((std::tuple{rows[1].id, rows[1].customer, rows[1].campaign}),
            (std::tuple{-spring, ids[0], std::string("spring")}));

  // Unplanned: one customer's, then the rest of the campaign's; another workspace's untouched.
  EXPECT_EQ(store_->UnplanCampaignMembers(w.id, spring, ids[0], "capped").value(), 1);
  EXPECT_EQ(store_->UnplanCampaignMembers(w.id, spring, ids[0], "capped").value(), 0);
  EXPECT_EQ(store_->UnplanCampaignMembers(other.id, spring, std::nullopt, "cancelled").value(), 0);
  EXPECT_EQ(store_->UnplanCampaignMembers(w.id, spring, std::nullopt, "cancelled").value(), 1);
  EXPECT_EQ(store_->ListCampaignMembers(w.id, spring, CustomerId{}, 10).value(),
            (std::vector<CampaignMember>{at(ids[0], 300, false, "capped"), at(ids[1], 100, false, "cancelled"),
                                         at(ids[2], 100, false), at(ids[3], 50, false, "held_out")}));
  EXPECT_EQ(store_->ListCampaignsWithPlans(Timestamp::FromSeconds(1'000)).value(),
            (std::vector<Plan>{{w.id, autumn}, {other.id, theirs}}));
  EXPECT_TRUE(
      store_->ListMarketingMessages(w.id, Timestamp::FromSeconds(100), Timestamp::FromSeconds(900)).value().empty());

  // Cancelling messages cancels the planned ones the filter matches: by customer, by campaign,
  // by both.
  ASSERT_TRUE(store_->SaveCampaignMembers(w.id, spring,
                                          std::vector<CampaignMember>{at(ids[2], 400, true), at(ids[3], 400, true)}));
  MessageFilter by_customer;
  by_customer.customer = ids[2];
  EXPECT_EQ(store_->CancelMessages(w.id, by_customer, clock_.Now()).value(), 1);
  MessageFilter by_campaign;
  by_campaign.campaign = "spring";
  EXPECT_EQ(store_->CancelMessages(w.id, by_campaign, clock_.Now()).value(), 1);
  MessageFilter both;
  both.customer = ids[1];
  both.campaign = "autumn";
  EXPECT_EQ(store_->CancelMessages(w.id, both, clock_.Now()).value(), 0);
  both.customer = ids[0];
  EXPECT_EQ(store_->CancelMessages(other.id, both, clock_.Now()).value(), 0);
  EXPECT_EQ(store_->CancelMessages(w.id, both, clock_.Now()).value(), 1);
  const auto spring_members = store_->ListCampaignMembers(w.id, spring, CustomerId{}, 10).value();
  ASSERT_EQ(spring_members.size(), 4u);
  EXPECT_EQ(spring_members[2], at(ids[2], 400, false, "cancelled"));
  EXPECT_EQ(spring_members[3], at(ids[3], 400, false, "cancelled"));
  EXPECT_EQ(store_->ListCampaignMembers(w.id, autumn, CustomerId{}, 10).value(),
            std::vector<CampaignMember>{at(ids[0], 900, false, "cancelled")});
  EXPECT_EQ(store_->ListCampaignsWithPlans(Timestamp::FromSeconds(1'000)).value(),
            (std::vector<Plan>{{other.id, theirs}}));
}

TEST_P(StoreContractTest, RenderingPlannedMembersSkipsThoseNoLongerPlanned) {
  const Workspace w = MakeWorkspace("shop");
  const std::vector<CustomerId> ids = ResolveCommitted(*store_, w.id, {"c1", "c2", "c3"}, clock_.Now());
  ASSERT_EQ(ids.size(), 3u);
  const std::int64_t spring = store_->SaveCampaign(Campaign(w.id, "spring")).value().id;
  auto member = [](CustomerId c, bool planned, std::string outcome = "queued") {
    return CampaignMember{c, 0, Timestamp::FromSeconds(100), std::move(outcome), planned};
  };
  ASSERT_TRUE(store_->SaveCampaignMembers(
      w.id, spring, std::vector<CampaignMember>{member(ids[0], true), member(ids[1], true), member(ids[2], true)}));
  // c2 was capped by a journey since the batch was read.
  ASSERT_EQ(store_->UnplanCampaignMembers(w.id, spring, ids[1], "capped").value(), 1);
  const std::vector<CampaignMember> batch{member(ids[0], false), member(ids[1], false),
                                          member(ids[2], false, "failed")};
  // Two messages for c1 (two browsers), one for c2; c3's could not be rendered.
  const std::vector<OutboxMessage> messages{Message(w.id, "k1a", ids[0], "spring"),
                                            Message(w.id, "k1b", ids[0], "spring"),
                                            Message(w.id, "k2", ids[1], "spring")};
  auto rendered = store_->RenderPlannedMembers(w.id, spring, batch, messages, clock_.Now()).value();
  EXPECT_EQ((std::tuple{rendered.members, rendered.offered, rendered.inserted}), (std::tuple{2, 2, 2}));
  EXPECT_EQ(store_->ListCampaignMembers(w.id, spring, CustomerId{}, 10).value(),
            (std::vector<CampaignMember>{member(ids[0], false), member(ids[1], false, "capped"),
                                         member(ids[2], false, "failed")}));
  MessageFilter f;
  f.campaign = "spring";
  const auto queued = store_->ListMessages(w.id, f, 0, 10).value();
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ((std::pair{queued[0].customer, queued[1].customer}), (std::pair{ids[0], ids[0]}));
  // Nothing planned any more: nothing happens. Planned again (a launch run again): the members
  // are taken, and the messages' keys keep copies out.
  rendered = store_->RenderPlannedMembers(w.id, spring, batch, messages, clock_.Now()).value();
  EXPECT_EQ((std::tuple{rendered.members, rendered.offered, rendered.inserted}), (std::tuple{0, 0, 0}));
  ASSERT_TRUE(store_->SaveCampaignMembers(w.id, spring, std::vector<CampaignMember>{member(ids[0], true)}));
  rendered = store_->RenderPlannedMembers(w.id, spring, batch, messages, clock_.Now()).value();
  EXPECT_EQ((std::tuple{rendered.members, rendered.offered, rendered.inserted}), (std::tuple{1, 2, 0}));
  EXPECT_EQ(store_->ListMessages(w.id, f, 0, 10).value().size(), 2u);
}

TEST_P(StoreContractTest, MarketingMessagesAndEngagementsAreListedForCapping) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  CustomerId e;
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"e1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  auto at = [&](std::string key, CustomerId c, std::int64_t due_s, std::string category = "marketing") {
    OutboxMessage m = Message(w.id, std::move(key), c, "spring");
    m.next_attempt_at = Timestamp::FromSeconds(due_s);
    m.category = std::move(category);
    return m;
  };
  std::vector<OutboxMessage> batch{at("a", ids[1], 500),  at("b", ids[0], 900), at("c", ids[0], 300),
                                   at("d", ids[0], 400, "transactional"),      at("e", ids[0], 2'000),
                                   at("f", ids[0], 100),  at("g", ids[0], 350)};
  ASSERT_EQ(store_->EnqueueMessages(w.id, batch, Timestamp::FromSeconds(1)).value(), 7);
  std::vector<OutboxMessage> theirs{Message(other.id, "o", e)};
  theirs[0].next_attempt_at = Timestamp::FromSeconds(500);
  ASSERT_EQ(store_->EnqueueMessages(other.id, theirs, Timestamp::FromSeconds(1)).value(), 1);
  // c (due 300) is sent at 300; g (350) cancelled; f (100) failed.
  const std::int64_t lease = 60 * kMicrosPerSecond;
  auto claimed = store_->ClaimMessages(Channel::kEmail, Timestamp::FromSeconds(360), lease, "w", 10).value();
  std::map<std::string, std::int64_t> id;
  for (const auto& m : claimed) id[m.idempotency_key] = m.id;
  ASSERT_TRUE(id.contains("c") && id.contains("f") && id.contains("g"));
  ASSERT_TRUE(store_->FinishMessage(Outcome(id.at("c"), "w", MessageState::kSent, "sent", 300)).value());
  ASSERT_TRUE(store_->FinishMessage(Outcome(id.at("f"), "w", MessageState::kFailed, "failed", 300)).value());
  ASSERT_TRUE(store_->FinishMessage(Outcome(id.at("g"), "w", MessageState::kSuppressed, "suppressed", 300)).value());
  auto rows = store_->ListMarketingMessages(w.id, Timestamp::FromSeconds(100), Timestamp::FromSeconds(2'000)).value();
  std::vector<std::pair<std::int64_t, std::int64_t>> got;  // customer, due s
  for (const auto& r : rows) {
    got.emplace_back(r.customer.value, r.at.micros / kMicrosPerSecond);
    EXPECT_EQ(r.campaign, "spring");
  }
  // By time: c1's c (sent; at its last attempt's due time), c2's a, c1's b (queued). Not the
  // transactional d, the failed f, the suppressed g, e (at the end of the range) nor the other
  // workspace's.
  EXPECT_EQ(got, (std::vector<std::pair<std::int64_t, std::int64_t>>{
                     {ids[0].value, 300}, {ids[1].value, 500}, {ids[0].value, 900}}));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].state, MessageState::kSent);
  EXPECT_EQ(rows[1].state, MessageState::kQueued);
  // Opens and clicks by customer then time, from `since`.
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("c"), ids[0], "clicked", Timestamp::FromSeconds(700), "u"}));
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("c"), ids[0], "opened", Timestamp::FromSeconds(600), ""}));
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("c"), ids[0], "opened", Timestamp::FromSeconds(50), ""}));
  ASSERT_TRUE(store_->AppendMessageLog({0, w.id, id.at("c"), ids[0], "dismissed", Timestamp::FromSeconds(800), ""}));
  auto eng = store_->ListEngagements(w.id, Timestamp::FromSeconds(100)).value();
  ASSERT_EQ(eng.size(), 2u);
  EXPECT_EQ(eng[0].customer, ids[0]);
  EXPECT_EQ(eng[0].at, Timestamp::FromSeconds(600));
  EXPECT_EQ(eng[0].kind, "opened");
  EXPECT_EQ(eng[0].message_id, id.at("c"));
  EXPECT_EQ(eng[1].at, Timestamp::FromSeconds(700));
  EXPECT_EQ(eng[1].kind, "clicked");
  EXPECT_TRUE(store_->ListEngagements(other.id, Timestamp::FromSeconds(0)).value().empty());
}

TEST_P(StoreContractTest, DeliveryRulesAreSavedAndReplaced) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_FALSE(store_->FindDeliveryRules(w.id).value().has_value());
  DeliveryRulesRecord r{w.id, 3, 7 * kMicrosPerDay, "21:00", "08:00", Timestamp::FromSeconds(10)};
  ASSERT_TRUE(store_->SaveDeliveryRules(r));
  auto found = store_->FindDeliveryRules(w.id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->cap_messages, 3);
  EXPECT_EQ(found->cap_window_micros, 7 * kMicrosPerDay);
  EXPECT_EQ(found->quiet_start, "21:00");
  EXPECT_EQ(found->quiet_end, "08:00");
  EXPECT_EQ(found->updated_at, Timestamp::FromSeconds(10));
  r.cap_messages = 0;
  r.quiet_start = r.quiet_end = "00:00";
  r.updated_at = Timestamp::FromSeconds(20);
  ASSERT_TRUE(store_->SaveDeliveryRules(r));
  EXPECT_EQ(store_->FindDeliveryRules(w.id).value()->cap_messages, 0);
  EXPECT_EQ(store_->FindDeliveryRules(w.id).value()->quiet_start, "00:00");
  EXPECT_FALSE(store_->FindDeliveryRules(other.id).value().has_value());
}

namespace {

JourneyRecord Journey(WorkspaceId ws, std::string name) {
  JourneyRecord j;
  j.workspace = ws;
  j.name = std::move(name);
  j.definition = R"({"name":"welcome","trigger":{"event":"signed_up"},"steps":[{"id":"s1","wait":"1d"}]})";
  j.split_key = "000102030405060708090a0b0c0d0e0f";
  j.created_at = j.updated_at = Timestamp::FromSeconds(100);
  return j;
}

JourneyRunRow MakeRun(std::int64_t journey, CustomerId c, std::string state, std::int64_t wake_s, int step = 0,
                      int version = 1) {
  JourneyRunRow r;
  r.journey_id = journey;
  r.version = version;
  r.customer = c;
  r.zone = "Europe/Berlin";
  r.step = step;
  r.state = std::move(state);
  r.wake_at = Timestamp::FromSeconds(wake_s);
  r.entered_at = Timestamp::FromSeconds(10);
  r.step_entered_at = Timestamp::FromSeconds(20);
  r.steps_executed = 3;
  return r;
}

// The runs of a journey of `ws`, by id.
std::vector<JourneyRunRow> RunsOf(Store& store, WorkspaceId ws, std::int64_t journey) {
  JourneyRunFilter f;
  f.journey_id = journey;
  auto runs = store.ListJourneyRuns(ws, f, 0, 100'000);
  EXPECT_TRUE(runs.has_value()) << runs.error().ToString();
  return runs.value_or(std::vector<JourneyRunRow>{});
}

std::vector<std::string> JourneyNames(const std::vector<JourneyRecord>& journeys) {
  std::vector<std::string> out;
  for (const auto& j : journeys) out.push_back(j.name);
  return out;
}

}  // namespace

TEST_P(StoreContractTest, JourneysAreSavedReplacedVersionedListedAndDeleted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  EXPECT_TRUE(store_->ListJourneys(w.id).value().empty());
  JourneyRecord j = Journey(w.id, "welcome");
  j.change_seq = 5;
  j.trigger_cursor = 6;
  j.goal_cursor = 7;
  const std::string v1 = j.definition;
  const JourneyRecord saved = store_->SaveJourney(j).value();
  EXPECT_GT(saved.id, 0);
  EXPECT_EQ(saved.workspace, w.id);
  EXPECT_EQ(saved.name, "welcome");
  EXPECT_EQ(saved.state, "active");
  EXPECT_EQ(saved.version, 1);
  EXPECT_EQ(saved.definition, v1);
  EXPECT_EQ(saved.split_key, j.split_key);
  EXPECT_EQ(saved.change_seq, 5);  // a new journey's cursors as given
  EXPECT_EQ(saved.trigger_cursor, 6);
  EXPECT_EQ(saved.goal_cursor, 7);
  EXPECT_EQ(saved.last_error, "");
  EXPECT_EQ(saved.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(saved.updated_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(store_->FindJourneyVersion(w.id, saved.id, 1).value(), std::optional<std::string>(v1));
  // Replaced by name, keeping id, created_at and the cursors; version 2 is stored beside 1.
  JourneyRecord next = j;
  next.version = 2;
  next.definition = R"({"name":"welcome","steps":[]})";
  next.state = "paused";
  next.last_error = "template missing";
  next.change_seq = next.trigger_cursor = next.goal_cursor = 999;
  next.created_at = next.updated_at = Timestamp::FromSeconds(200);
  const JourneyRecord replaced = store_->SaveJourney(next).value();
  EXPECT_EQ(replaced.id, saved.id);
  EXPECT_EQ(replaced.state, "paused");
  EXPECT_EQ(replaced.version, 2);
  EXPECT_EQ(replaced.definition, next.definition);
  EXPECT_EQ(replaced.last_error, "template missing");
  EXPECT_EQ(replaced.change_seq, 5);
  EXPECT_EQ(replaced.trigger_cursor, 6);
  EXPECT_EQ(replaced.goal_cursor, 7);
  EXPECT_EQ(replaced.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(replaced.updated_at, Timestamp::FromSeconds(200));
  EXPECT_EQ(store_->FindJourneyVersion(w.id, saved.id, 1).value(), std::optional<std::string>(v1));
  EXPECT_EQ(store_->FindJourneyVersion(w.id, saved.id, 2).value(), std::optional<std::string>(next.definition));
  // Versions are immutable: saving version 1 again with another text keeps the first text.
  JourneyRecord again = j;
  again.definition = R"({"name":"welcome","changed":true})";
  again.updated_at = Timestamp::FromSeconds(300);
  EXPECT_EQ(store_->SaveJourney(again).value().definition, again.definition);
  EXPECT_EQ(store_->FindJourneyVersion(w.id, saved.id, 1).value(), std::optional<std::string>(v1));
  EXPECT_EQ(store_->FindJourneyVersion(w.id, saved.id, 2).value(), std::optional<std::string>(next.definition));
  EXPECT_FALSE(store_->FindJourneyVersion(w.id, saved.id, 3).value().has_value());
  EXPECT_FALSE(store_->FindJourneyVersion(other.id, saved.id, 1).value().has_value());
  // Listed by name (byte order); other workspaces' apart.
  const std::int64_t autumn = store_->SaveJourney(Journey(w.id, "Autumn")).value().id;
  ASSERT_TRUE(store_->SaveJourney(Journey(other.id, "theirs")));
  ASSERT_TRUE(store_->SaveJourney(Journey(other.id, "welcome")));
  EXPECT_EQ(JourneyNames(store_->ListJourneys(w.id).value()), (std::vector<std::string>{"Autumn", "welcome"}));
  EXPECT_EQ(JourneyNames(store_->ListJourneys(other.id).value()), (std::vector<std::string>{"theirs", "welcome"}));
  EXPECT_FALSE(store_->FindJourney(w.id, "theirs").value().has_value());
  EXPECT_EQ(store_->FindJourney(w.id, "welcome").value().value().id, saved.id);
  EXPECT_NE(store_->FindJourney(other.id, "welcome").value().value().id, saved.id);
  // Bad records are refused and change nothing.
  std::vector<JourneyRecord> bad(4, Journey(w.id, "bad"));
  bad[0].name = "";
  bad[1].state = "running";
  bad[2].version = 0;
  bad[3].definition = "";
  for (const JourneyRecord& b : bad) {
    auto r = store_->SaveJourney(b);
    ASSERT_FALSE(r.has_value()) << b.name << " " << b.state;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(store_->FindJourney(w.id, "bad").value().has_value());
  EXPECT_FALSE(store_->FindJourney(w.id, "").value().has_value());
  JourneyRecord bad_replace = next;
  bad_replace.state = "stopped";
  bad_replace.version = 7;
  EXPECT_EQ(store_->SaveJourney(bad_replace).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->FindJourney(w.id, "welcome").value().value().version, 1);
  EXPECT_FALSE(store_->FindJourneyVersion(w.id, saved.id, 7).value().has_value());
  // Deleting removes versions, runs and counts; only the workspace's own journeys.
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const std::vector<JourneyRunRow> autumn_runs{MakeRun(autumn, ids[0], "waiting", 50),
                                               MakeRun(autumn, ids[1], "completed", 0)};
  const std::vector<JourneyStepCount> deltas{{1, "s1", "", 2}};
  ASSERT_TRUE(store_->WriteJourneyRuns(w.id, autumn, autumn_runs, deltas, nullptr));
  const std::vector<JourneyRunRow> welcome_runs{MakeRun(saved.id, ids[0], "active", 0)};
  ASSERT_TRUE(store_->WriteJourneyRuns(w.id, saved.id, welcome_runs, deltas, nullptr));
  EXPECT_EQ(RunsOf(*store_, w.id, autumn).size(), 2u);
  EXPECT_EQ(store_->DeleteJourney(w.id, "theirs").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteJourney(other.id, "Autumn").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteJourney(w.id, "Autumn"));
  EXPECT_EQ(store_->DeleteJourney(w.id, "Autumn").error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->FindJourney(w.id, "Autumn").value().has_value());
  EXPECT_FALSE(store_->FindJourneyVersion(w.id, autumn, 1).value().has_value());
  EXPECT_TRUE(RunsOf(*store_, w.id, autumn).empty());
  EXPECT_TRUE(store_->CountJourneySteps(w.id, autumn).value().empty());
  EXPECT_TRUE(store_->CountJourneyRuns(w.id, autumn).value().empty());
  EXPECT_TRUE(store_->ListDueJourneyRuns(w.id, Timestamp::FromSeconds(1'000), 100).value().empty());
  // The others are untouched.
  EXPECT_EQ(RunsOf(*store_, w.id, saved.id).size(), 1u);
  EXPECT_EQ(store_->CountJourneySteps(w.id, saved.id).value(), deltas);
  EXPECT_TRUE(store_->FindJourneyVersion(w.id, saved.id, 1).value().has_value());
  EXPECT_TRUE(store_->FindJourney(other.id, "theirs").value().has_value());
  EXPECT_EQ(JourneyNames(store_->ListJourneys(w.id).value()), (std::vector<std::string>{"welcome"}));
}

TEST_P(StoreContractTest, JourneyRunsAreWrittenWithStepCountsAndCursors) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3", "c4"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  CustomerId e;
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"e1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  const JourneyRecord journey = store_->SaveJourney(Journey(w.id, "welcome")).value();
  const std::int64_t jid = journey.id;
  const JourneyRecord theirs = store_->SaveJourney(Journey(other.id, "welcome")).value();
  // Inserted: ids in the order given.
  std::vector<JourneyRunRow> runs{MakeRun(jid, ids[0], "active", 0), MakeRun(jid, ids[1], "waiting", 500, 1)};
  runs[1].zone = "";
  const std::vector<JourneyStepCount> deltas{{1, "s1", "", 2}, {1, "email", "queued", 1}};
  JourneyRecord cursors = journey;
  cursors.change_seq = 10;
  cursors.trigger_cursor = 11;
  cursors.goal_cursor = 12;
  cursors.last_error = "boom";
  cursors.updated_at = Timestamp::FromSeconds(300);
  const auto first = store_->WriteJourneyRuns(w.id, jid, runs, deltas, &cursors).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_GT(first[0], 0);
  EXPECT_GT(first[1], 0);
  EXPECT_NE(first[0], first[1]);
  runs[0].id = first[0];
  runs[1].id = first[1];
  std::vector<JourneyRunRow> expected = runs;
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
  JourneyRecord stored = store_->FindJourney(w.id, "welcome").value().value();
  EXPECT_EQ(stored.change_seq, 10);
  EXPECT_EQ(stored.trigger_cursor, 11);
  EXPECT_EQ(stored.goal_cursor, 12);
  EXPECT_EQ(stored.last_error, "boom");
  EXPECT_EQ(stored.updated_at, Timestamp::FromSeconds(300));
  EXPECT_EQ(stored.created_at, Timestamp::FromSeconds(100));
  EXPECT_EQ(stored.definition, journey.definition);
  // Replaced by id, a new one inserted (its id returned in its place); the deltas add up; no
  // cursors given leaves them.
  runs[0].step = 1;
  runs[0].state = "waiting_for_event";
  runs[0].wake_at = Timestamp::FromSeconds(900);
  runs[0].step_entered_at = Timestamp::FromSeconds(40);
  runs[0].steps_executed = 4;
  std::vector<JourneyRunRow> second{MakeRun(jid, ids[2], "active", 0, 0, 2), runs[0]};
  const auto second_ids = store_->WriteJourneyRuns(w.id, jid, second, deltas, nullptr).value();
  ASSERT_EQ(second_ids.size(), 2u);
  EXPECT_EQ(second_ids[1], first[0]);
  EXPECT_NE(second_ids[0], first[0]);
  EXPECT_NE(second_ids[0], first[1]);
  second[0].id = second_ids[0];
  expected = {runs[0], runs[1], second[0]};
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
  const std::vector<JourneyStepCount> summed{{1, "email", "queued", 2}, {1, "s1", "", 4}};
  EXPECT_EQ(store_->CountJourneySteps(w.id, jid).value(), summed);
  EXPECT_EQ(store_->FindJourney(w.id, "welcome").value().value().change_seq, 10);
  // A second run of a customer inside the journey: AlreadyExists, and nothing of the call is
  // written (not the other run, the counts nor the cursors) — inserted twice, inserted beside
  // an inside run, or an update moving a run onto an inside customer.
  JourneyRecord later = cursors;
  later.change_seq = 20;
  later.last_error = "";
  const std::vector<std::vector<JourneyRunRow>> clashes{
      {MakeRun(jid, ids[3], "active", 0), MakeRun(jid, ids[1], "active", 0)},
      {MakeRun(jid, ids[3], "active", 0), MakeRun(jid, ids[3], "waiting", 70)},
      {MakeRun(jid, ids[3], "active", 0), [&] {
         JourneyRunRow moved = second[0];
         moved.customer = ids[1];
         return moved;
       }()}};
  for (const auto& clash : clashes) {
    auto r = store_->WriteJourneyRuns(w.id, jid, clash, deltas, &later);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists) << r.error().ToString();
    EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
    EXPECT_EQ(store_->CountJourneySteps(w.id, jid).value(), summed);
    stored = store_->FindJourney(w.id, "welcome").value().value();
    EXPECT_EQ(stored.change_seq, 10);
    EXPECT_EQ(stored.last_error, "boom");
  }
  // A run that ends and the customer's new one, in one call, are fine.
  runs[1].state = "exited";
  runs[1].ended_at = Timestamp::FromSeconds(1'000);
  std::vector<JourneyRunRow> reenter{MakeRun(jid, ids[1], "active", 0, 0, 2), runs[1]};
  const auto third = store_->WriteJourneyRuns(w.id, jid, reenter, {}, &later).value();
  ASSERT_EQ(third.size(), 2u);
  EXPECT_EQ(third[1], runs[1].id);
  reenter[0].id = third[0];
  expected = {runs[0], runs[1], second[0], reenter[0]};
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
  stored = store_->FindJourney(w.id, "welcome").value().value();
  EXPECT_EQ(stored.change_seq, 20);
  EXPECT_EQ(stored.last_error, "");
  EXPECT_EQ(store_->CountJourneySteps(w.id, jid).value(), summed);
  // Workspaces are apart: not into another's journey, not another's runs or cursors.
  const std::vector<JourneyRunRow> foreign{MakeRun(theirs.id, ids[3], "active", 0)};
  EXPECT_EQ(store_->WriteJourneyRuns(w.id, theirs.id, foreign, deltas, nullptr).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->WriteJourneyRuns(w.id, jid, foreign, {}, nullptr).error().code(), ErrorCode::kNotFound);
  JourneyRunRow hijack = runs[0];
  hijack.journey_id = theirs.id;
  hijack.customer = e;
  EXPECT_EQ(store_->WriteJourneyRuns(other.id, theirs.id, std::span(&hijack, 1), {}, nullptr).error().code(),
            ErrorCode::kNotFound);
  JourneyRecord their_cursors = theirs;
  their_cursors.change_seq = 77;
  EXPECT_EQ(store_->WriteJourneyRuns(w.id, jid, {}, {}, &their_cursors).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->FindJourney(other.id, "welcome").value().value().change_seq, 0);
  EXPECT_TRUE(RunsOf(*store_, other.id, theirs.id).empty());
  EXPECT_TRUE(RunsOf(*store_, other.id, jid).empty());
  EXPECT_TRUE(store_->CountJourneySteps(other.id, theirs.id).value().empty());
  EXPECT_TRUE(store_->CountJourneySteps(other.id, jid).value().empty());
  EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
  // A run with an unknown state is refused.
  JourneyRunRow odd = MakeRun(jid, ids[3], "sleeping", 0);
  EXPECT_EQ(store_->WriteJourneyRuns(w.id, jid, std::span(&odd, 1), {}, nullptr).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(RunsOf(*store_, w.id, jid), expected);
}

TEST_P(StoreContractTest, JourneyRunsAreListedFilteredDueAndCounted) {
  const Workspace w = MakeWorkspace("shop");
  const Workspace other = MakeWorkspace("other");
  std::vector<CustomerId> ids;
  {
    auto tx = store_->BeginWrite(w.id).value();
    ids = Resolve(*tx, {"c1", "c2", "c3", "c4", "c5"}, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  CustomerId e;
  {
    auto tx = store_->BeginWrite(other.id).value();
    e = Resolve(*tx, {"e1"}, clock_.Now())[0];
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t a = store_->SaveJourney(Journey(w.id, "a")).value().id;
  const std::int64_t b = store_->SaveJourney(Journey(w.id, "b")).value().id;
  const std::int64_t t = store_->SaveJourney(Journey(other.id, "t")).value().id;
  std::vector<JourneyRunRow> in_a{MakeRun(a, ids[0], "waiting", 300, 2),
                                  MakeRun(a, ids[1], "waiting", 100, 2),
                                  MakeRun(a, ids[2], "active", 0, 0, 2),
                                  MakeRun(a, ids[3], "completed", 50, 3),
                                  MakeRun(a, ids[4], "waiting_for_event", 400, 1)};
  in_a[3].ended_at = Timestamp::FromSeconds(60);
  // Keys repeated within a call are summed too.
  const std::vector<JourneyStepCount> deltas{
      {1, "b", "x", 1}, {1, "a", "", 1}, {2, "a", "", 1}, {1, "a", "", 2}, {1, "zero", "", 0}};
  const auto a_ids = store_->WriteJourneyRuns(w.id, a, in_a, deltas, nullptr).value();
  ASSERT_EQ(a_ids.size(), in_a.size());
  for (std::size_t i = 0; i < in_a.size(); ++i) in_a[i].id = a_ids[i];
  std::vector<JourneyRunRow> in_b{MakeRun(b, ids[0], "waiting", 100, 1)};
  in_b[0].id = store_->WriteJourneyRuns(w.id, b, in_b, {}, nullptr).value().at(0);
  std::vector<JourneyRunRow> in_t{MakeRun(t, e, "waiting", 10)};
  in_t[0].id = store_->WriteJourneyRuns(other.id, t, in_t, {}, nullptr).value().at(0);

  auto list = [&](WorkspaceId ws, std::int64_t journey, CustomerId customer, bool inside, std::int64_t after = 0,
                  int limit = 100) {
    JourneyRunFilter f;
    f.journey_id = journey;
    f.customer = customer;
    f.inside_only = inside;
    auto runs = store_->ListJourneyRuns(ws, f, after, limit);
    EXPECT_TRUE(runs.has_value()) << runs.error().ToString();
    std::vector<std::int64_t> out;
    for (const auto& r : runs.value_or(std::vector<JourneyRunRow>{})) out.push_back(r.id);
    return out;
  };
  std::vector<std::int64_t> all_a = a_ids;
  std::sort(all_a.begin(), all_a.end());
  std::vector<std::int64_t> all = all_a;
  all.push_back(in_b[0].id);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(list(w.id, 0, CustomerId{}, false), all);
  EXPECT_EQ(list(w.id, a, CustomerId{}, false), all_a);
  EXPECT_EQ(list(w.id, a, ids[3], false), (std::vector<std::int64_t>{in_a[3].id}));
  std::vector<std::int64_t> c1 = {in_a[0].id, in_b[0].id};
  std::sort(c1.begin(), c1.end());
  EXPECT_EQ(list(w.id, 0, ids[0], false), c1);
  EXPECT_EQ(list(w.id, 0, ids[0], true), c1);
  std::vector<std::int64_t> inside_a = {in_a[0].id, in_a[1].id, in_a[2].id, in_a[4].id};
  std::sort(inside_a.begin(), inside_a.end());
  EXPECT_EQ(list(w.id, a, CustomerId{}, true), inside_a);
  EXPECT_TRUE(list(w.id, 0, ids[3], true).empty());
  EXPECT_TRUE(list(w.id, b, ids[1], false).empty());
  // Paged by id.
  EXPECT_EQ(list(w.id, a, CustomerId{}, false, 0, 2), (std::vector<std::int64_t>{all_a[0], all_a[1]}));
  EXPECT_EQ(list(w.id, a, CustomerId{}, false, all_a[1], 2), (std::vector<std::int64_t>{all_a[2], all_a[3]}));
  EXPECT_EQ(list(w.id, a, CustomerId{}, false, all_a[3], 2), (std::vector<std::int64_t>{all_a[4]}));
  EXPECT_TRUE(list(w.id, a, CustomerId{}, false, all_a[4], 2).empty());
  // Full rows come back.
  JourneyRunFilter by_customer;
  by_customer.customer = ids[3];
  EXPECT_EQ(store_->ListJourneyRuns(w.id, by_customer, 0, 10).value(), (std::vector<JourneyRunRow>{in_a[3]}));
  // Not across workspaces.
  EXPECT_TRUE(list(other.id, a, CustomerId{}, false).empty());
  EXPECT_TRUE(list(other.id, 0, ids[0], false).empty());
  EXPECT_EQ(list(other.id, 0, CustomerId{}, false), (std::vector<std::int64_t>{in_t[0].id}));
  EXPECT_TRUE(list(w.id, t, CustomerId{}, false).empty());

  // Due: waiting runs of the workspace's active journeys with wake_at <= now, by wake_at then id.
  auto due = [&](WorkspaceId ws, std::int64_t now_s, int limit) {
    auto runs = store_->ListDueJourneyRuns(ws, Timestamp::FromSeconds(now_s), limit);
    EXPECT_TRUE(runs.has_value()) << runs.error().ToString();
    std::vector<std::int64_t> out;
    for (const auto& r : runs.value_or(std::vector<JourneyRunRow>{})) out.push_back(r.id);
    return out;
  };
  std::vector<std::int64_t> at_100 = {in_a[1].id, in_b[0].id};
  std::sort(at_100.begin(), at_100.end());
  std::vector<std::int64_t> due_400 = at_100;
  due_400.push_back(in_a[0].id);
  due_400.push_back(in_a[4].id);
  EXPECT_EQ(due(w.id, 400, 100), due_400);
  EXPECT_EQ(due(w.id, 399, 100), (std::vector<std::int64_t>{due_400[0], due_400[1], due_400[2]}));
  EXPECT_EQ(due(w.id, 400, 2), at_100);
  EXPECT_EQ(due(w.id, 100, 1), (std::vector<std::int64_t>{at_100[0]}));
  EXPECT_TRUE(due(w.id, 99, 100).empty());
  EXPECT_EQ(due(other.id, 400, 100), (std::vector<std::int64_t>{in_t[0].id}));
  const auto due_rows = store_->ListDueJourneyRuns(w.id, Timestamp::FromSeconds(400), 100).value();
  ASSERT_EQ(due_rows.size(), 4u);
  EXPECT_EQ(due_rows[3], in_a[4]);
  // A paused journey's runs wait for it to be resumed: not due, and not in the way of others'.
  JourneyRecord paused = store_->FindJourney(w.id, "b").value().value();
  paused.state = "paused";
  ASSERT_TRUE(store_->SaveJourney(paused));
  EXPECT_EQ(due(w.id, 400, 1), (std::vector<std::int64_t>{in_a[1].id}));
  EXPECT_EQ(due(w.id, 400, 100), (std::vector<std::int64_t>{in_a[1].id, in_a[0].id, in_a[4].id}));
  paused.state = "active";
  ASSERT_TRUE(store_->SaveJourney(paused));
  EXPECT_EQ(due(w.id, 400, 100), due_400);

  // Counted by version, step and state; step counts summed.
  const std::vector<JourneyRunCount> counts{
      {1, 1, "waiting_for_event", 1}, {1, 2, "waiting", 2}, {1, 3, "completed", 1}, {2, 0, "active", 1}};
  EXPECT_EQ(store_->CountJourneyRuns(w.id, a).value(), counts);
  EXPECT_EQ(store_->CountJourneyRuns(w.id, b).value(), (std::vector<JourneyRunCount>{{1, 1, "waiting", 1}}));
  EXPECT_TRUE(store_->CountJourneyRuns(other.id, a).value().empty());
  const std::vector<JourneyStepCount> steps{{1, "a", "", 3}, {1, "b", "x", 1}, {2, "a", "", 1}};
  EXPECT_EQ(store_->CountJourneySteps(w.id, a).value(), steps);
  EXPECT_TRUE(store_->CountJourneySteps(w.id, b).value().empty());
  EXPECT_TRUE(store_->CountJourneySteps(other.id, a).value().empty());
}

TEST_P(StoreContractTest, LargeJourneyBatchesKeepTheirOrder) {
  const Workspace w = MakeWorkspace("shop");
  constexpr int kRuns = 10'000;
  std::vector<std::string> ext;
  for (int i = 0; i < kRuns; ++i) ext.push_back("cust-" + std::to_string(i));
  std::vector<CustomerId> customers;
  {
    auto tx = store_->BeginWrite(w.id).value();
    customers = Resolve(*tx, ext, clock_.Now());
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t jid = store_->SaveJourney(Journey(w.id, "welcome")).value().id;
  // Entered in reverse customer order: the ids come back in the order given.
  std::vector<JourneyRunRow> runs;
  for (int i = kRuns - 1; i >= 0; --i) {
    runs.push_back(MakeRun(jid, customers[static_cast<std::size_t>(i)], "waiting", i));
  }
  const std::vector<JourneyStepCount> deltas{{1, "s1", "", kRuns}};
  const auto ids = store_->WriteJourneyRuns(w.id, jid, runs, deltas, nullptr).value();
  ASSERT_EQ(ids.size(), runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].id = ids[i];
  std::map<std::int64_t, CustomerId> by_id;
  for (const auto& r : RunsOf(*store_, w.id, jid)) by_id[r.id] = r.customer;
  ASSERT_EQ(by_id.size(), runs.size());
  for (const auto& r : runs) ASSERT_EQ(by_id.at(r.id), r.customer);
  // All of them end and enter again, in one call.
  std::vector<JourneyRunRow> next;
  for (JourneyRunRow r : runs) {
    r.state = "exited";
    r.ended_at = Timestamp::FromSeconds(99);
    next.push_back(r);
    next.push_back(MakeRun(jid, r.customer, "active", 0, 0, 2));
  }
  const auto next_ids = store_->WriteJourneyRuns(w.id, jid, next, deltas, nullptr).value();
  ASSERT_EQ(next_ids.size(), next.size());
  for (std::size_t i = 0; i < next.size(); i += 2) EXPECT_EQ(next_ids[i], next[i].id);
  JourneyRunFilter inside;
  inside.journey_id = jid;
  inside.inside_only = true;
  by_id.clear();
  const auto inside_runs = store_->ListJourneyRuns(w.id, inside, 0, 100'000).value();
  for (const auto& r : inside_runs) by_id[r.id] = r.customer;
  ASSERT_EQ(by_id.size(), runs.size());
  for (std::size_t i = 1; i < next.size(); i += 2) ASSERT_EQ(by_id.at(next_ids[i]), next[i].customer);
  const std::vector<JourneyRunCount> counts{{1, 0, "exited", kRuns}, {2, 0, "active", kRuns}};
  EXPECT_EQ(store_->CountJourneyRuns(w.id, jid).value(), counts);
  EXPECT_EQ(store_->CountJourneySteps(w.id, jid).value(), (std::vector<JourneyStepCount>{{1, "s1", "", 2 * kRuns}}));
  EXPECT_TRUE(store_->ListDueJourneyRuns(w.id, Timestamp::FromSeconds(kRuns), 100'000).value().empty());
}

}  // namespace treu::testing_contract
