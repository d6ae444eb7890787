#include "ingest/csv_import.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu {
namespace {

class CsvImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("treu-import-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir_);
    store_ = OpenSqliteStore((dir_ / "t.db").string(), clock_).value();
    Workspace w;
    w.name = "shop";
    w.time_zone = "Europe/Berlin";
    ws_ = store_->CreateWorkspace(w).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  ImportReport Import(ImportKind kind, const std::string& path, ImportOptions opts = {}) {
    auto r = ImportCsvFile(*store_, ws_, kind, path, opts, clock_);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(ImportReport{});
  }

  EntityCounts Counts() { return store_->Counts(ws_.id).value(); }

  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Workspace ws_;
};

TEST_F(CsvImportTest, ImportsOrdersAndReimportAddsNothing) {
  const auto path = Write("orders.csv",
                          "\xEF\xBB\xBForder_id,customer_id,placed_at,total,currency,status\r\n"
                          "o1,c1,2024-03-01,12.34,EUR,completed\r\n"
                          "\"o,2\",c2,2024-03-02T10:00:00Z,5,EUR,\r\n"
                          "o3,c1,2024-03-05 09:30,0.99,,cancelled\r\n");
  auto r = Import(ImportKind::kOrders, path);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(r.written.inserted, 3);
  EXPECT_EQ(r.customers_seen, 2);
  EXPECT_TRUE(r.issues.empty()) << r.FormatIssues("orders.csv");
  EXPECT_EQ(Counts().orders, 3);
  EXPECT_EQ(Counts().customers, 2);
  EXPECT_EQ(store_->FindWorkspace("shop")->currency->code(), "EUR");
  auto o1 = store_->FindOrder(ws_.id, "o1").value().value();
  EXPECT_EQ(o1.total.minor, 1234);
  // A bare date is midnight in the workspace's zone (Berlin, +01:00 in March).
  EXPECT_EQ(FormatTimestamp(o1.placed_at), "2024-02-29T23:00:00Z");
  EXPECT_EQ(store_->FindOrder(ws_.id, "o,2").value()->total.minor, 500);
  EXPECT_EQ(store_->FindOrder(ws_.id, "o3").value()->status, OrderStatus::kCancelled);

  const auto changes_before = Counts().changes;
  auto again = Import(ImportKind::kOrders, path);
  EXPECT_EQ(again.written.inserted, 0);
  EXPECT_EQ(again.written.unchanged, 3);
  EXPECT_EQ(Counts().orders, 3);
  EXPECT_EQ(Counts().changes, changes_before);
}

TEST_F(CsvImportTest, OneBadRowRejectsTheFileAndListsEveryError) {
  const auto path = Write("orders.csv",
                          "order_id,customer_id,placed_at,total,currency\n"
                          "o1,c1,2024-03-01,12.34,EUR\n"
                          "o2,c2,2024-02-30,12.345,EUR\n"
                          "o3,c3,2024-03-01,1,USD\n"
                          "o4,,2024-03-01,1,EUR\n"
                          "o5,c5,2024-03-01\n");
  auto r = Import(ImportKind::kOrders, path);
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.rows_rejected, 4);
  EXPECT_EQ(r.FormatIssues("orders.csv"),
            "orders.csv:3:3: placed_at: '2024-02-30' is not a valid calendar date\n"
            "orders.csv:3:4: total: '12.345' has more than 2 decimal places for EUR\n"
            "orders.csv:4:5: currency: USD differs from the workspace's reporting currency EUR\n"
            "orders.csv:5:2: customer_id: is required\n"
            "orders.csv:6:0: expected 5 fields as in the header, found 3\n");
  EXPECT_EQ(Counts().orders, 0);
  EXPECT_EQ(Counts().customers, 0);
  EXPECT_FALSE(store_->FindWorkspace("shop")->currency.has_value());
}

TEST_F(CsvImportTest, SkipInvalidImportsGoodRowsAndWritesRejects) {
  const auto path = Write("orders.csv",
                          "order_id,customer_id,placed_at,total\n"
                          "o1,c1,2024-03-01,12.34\n"
                          "o2,c2,yesterday,1\n"
                          "o3,c3,2024-03-01,3\n");
  ImportOptions opts;
  opts.skip_invalid = true;
  opts.rejects_path = (dir_ / "rejects.csv").string();
  // The workspace has no currency and the file has no currency column.
  auto r = Import(ImportKind::kOrders, path, opts);
  EXPECT_EQ(r.rows_rejected, 3);
  ASSERT_TRUE(store_->FindWorkspace("shop").has_value());

  store_ = nullptr;
  SetUp();  // fresh store and workspace with EUR this time
  {
    auto tx = store_->BeginWrite(ws_.id).value();
    ASSERT_TRUE(tx->SetCurrency(Currency::FromCode("EUR").value()));
    ASSERT_TRUE(tx->Commit());
  }
  r = Import(ImportKind::kOrders, path, opts);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.rows_rejected, 1);
  EXPECT_EQ(r.written.inserted, 2);
  EXPECT_EQ(Counts().orders, 2);
  std::ifstream in(opts.rejects_path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(),
            "order_id,customer_id,placed_at,total,error\n"
            "o2,c2,yesterday,1,placed_at: 'yesterday' is not an ISO 8601 date or date-time like "
            "2024-03-01 or 2024-03-01T12:30:00Z\n");
}

TEST_F(CsvImportTest, HeaderProblemsAndColumnMapping) {
  const auto path = Write("orders.csv",
                          "Bestellnummer,Kunde,Datum,Summe,extra\n"
                          "o1,c1,2024-03-01,12.34,x\n");
  auto r = Import(ImportKind::kOrders, path);
  EXPECT_FALSE(r.committed);
  ASSERT_GE(r.issues.size(), 2u);
  EXPECT_EQ(r.issues[0].line, 1);
  EXPECT_EQ(r.issues[0].column, 1);
  EXPECT_NE(r.issues[0].message.find("unknown column 'Bestellnummer'"), std::string::npos);
  EXPECT_NE(r.FormatIssues("o.csv").find("required column 'order_id' is missing"),
            std::string::npos);

  ImportOptions opts;
  opts.column_map = {{"Bestellnummer", "order_id"}, {"Kunde", "customer_id"},
                     {"Datum", "placed_at"}, {"Summe", "total"}, {"extra", "currency"}};
  const auto mapped = Write("mapped.csv",
                            "Bestellnummer,Kunde,Datum,Summe,extra\n"
                            "o1,c1,2024-03-01,12.34,EUR\n");
  r = Import(ImportKind::kOrders, mapped, opts);
  EXPECT_TRUE(r.committed) << r.FormatIssues("mapped.csv");
  EXPECT_EQ(Counts().orders, 1);
}

TEST_F(CsvImportTest, QuotedNewlinesKeepLineNumbersRight) {
  const auto path = Write("customers.csv",
                          "customer_id,name,email\n"
                          "c1,\"Anna\nKühn\",anna@example.de\n"
                          "c2,Bob,not-an-email\n");
  auto r = Import(ImportKind::kCustomers, path);
  EXPECT_EQ(r.FormatIssues("customers.csv"),
            "customers.csv:4:3: email: 'not-an-email' is not an email address\n");
}

TEST_F(CsvImportTest, MalformedCsvNamesTheLine) {
  const auto path = Write("orders.csv",
                          "order_id,customer_id,placed_at,total\n"
                          "o1,c1,2024-03-01,\"12\"3\n");
  auto r = ImportCsvFile(*store_, ws_, ImportKind::kOrders, path, {}, clock_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().ToString().find("orders.csv:2: malformed CSV"), std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(Counts().orders, 0);
}

TEST_F(CsvImportTest, CustomersWithAttributesAndConsent) {
  const auto path = Write("customers.csv",
                          "customer_id,email,name,country,locale,timezone,created_at,"
                          "consent.email,attributes.tier,attributes.birthday,attributes.score\n"
                          "c1,anna@example.de,Anna,de,de-DE,Europe/Berlin,2023-01-05,true,gold,"
                          "1990-05-17,4.5\n"
                          "c2,,Bob,,,,,false,,,\n");
  auto r = Import(ImportKind::kCustomers, path);
  ASSERT_TRUE(r.committed) << r.FormatIssues("customers.csv");
  EXPECT_EQ(r.written.inserted, 2);
  auto c1 = store_->FindCustomer(ws_.id, "c1").value().value();
  EXPECT_EQ(c1.country, "DE");
  EXPECT_EQ(c1.locale, "de-DE");
  EXPECT_EQ(FormatTimestamp(c1.created_at), "2023-01-04T23:00:00Z");
  EXPECT_EQ(std::get<std::string>(c1.attributes.at("tier")), "gold");
  EXPECT_EQ(std::get<double>(c1.attributes.at("score")), 4.5);
  EXPECT_EQ(TypeOf(c1.attributes.at("birthday")), AttributeType::kTime);
  EXPECT_TRUE(c1.consent.at(Channel::kEmail).granted);
  EXPECT_EQ(c1.consent.at(Channel::kEmail).source, "import");
  auto c2 = store_->FindCustomer(ws_.id, "c2").value().value();
  EXPECT_FALSE(c2.consent.at(Channel::kEmail).granted);
  EXPECT_EQ(c2.created_at, clock_.Now());
  EXPECT_EQ(Import(ImportKind::kCustomers, path).written.unchanged, 2);
}

TEST_F(CsvImportTest, SubscriptionRowsBuildAHistory) {
  const auto path = Write("subs.csv",
                          "subscription_id,customer_id,plan,interval,amount,currency,quantity,"
                          "discount,status,started_at,ended_at,effective_at\n"
                          "s1,c1,pro,month,49,EUR,2,12.5,active,2024-01-10,,\n"
                          "s2,c2,basic,year,290,EUR,1,,active,2024-02-01,2024-06-01,\n"
                          "s1,c1,business,month,99,EUR,2,0,active,2024-01-10,,2024-04-10\n");
  auto r = Import(ImportKind::kSubscriptions, path);
  ASSERT_TRUE(r.committed) << r.FormatIssues("subs.csv");
  EXPECT_EQ(Counts().subscriptions, 2);
  EXPECT_EQ(Counts().subscription_changes, 3);
  auto s1 = store_->FindSubscription(ws_.id, "s1").value().value();
  ASSERT_EQ(s1.history.size(), 2u);
  EXPECT_EQ(s1.history[0].plan, "pro");
  EXPECT_EQ(s1.history[0].discount_bp, 1250);
  EXPECT_EQ(s1.history[0].quantity, 2);
  EXPECT_EQ(s1.history[1].amount_minor, 9900);
  auto s2 = store_->FindSubscription(ws_.id, "s2").value().value();
  EXPECT_EQ(s2.history[0].interval, BillingInterval::kYear);
  ASSERT_TRUE(s2.ended_at.has_value());
  EXPECT_EQ(Import(ImportKind::kSubscriptions, path).written.unchanged, 2);
}

TEST_F(CsvImportTest, DryRunWritesNothing) {
  const auto path = Write("orders.csv",
                          "order_id,customer_id,placed_at,total,currency\n"
                          "o1,c1,2024-03-01,12.34,EUR\n");
  ImportOptions opts;
  opts.dry_run = true;
  auto r = Import(ImportKind::kOrders, path, opts);
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.rows, 1);
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(Counts().orders, 0);
  EXPECT_EQ(Counts().customers, 0);
}

TEST_F(CsvImportTest, EmptyAndMissingFiles) {
  auto r = Import(ImportKind::kOrders, Write("empty.csv", ""));
  EXPECT_EQ(r.FormatIssues("empty.csv"), "empty.csv:1:0: the file is empty; expected a header row\n");
  auto missing = ImportCsvFile(*store_, ws_, ImportKind::kOrders, (dir_ / "nope.csv").string(),
                               {}, clock_);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().ToString().find("can't open"), std::string::npos);
}

TEST_F(CsvImportTest, RefundsFromColumns) {
  const auto path = Write("orders.csv",
                          "order_id,customer_id,placed_at,total,currency,status,refunded_at,"
                          "refunded_total\n"
                          "o1,c1,2024-03-01,20,EUR,completed,2024-04-02,5\n"
                          "o2,c1,2024-03-01,20,EUR,refunded,2024-03-03,\n"
                          "o3,c1,2024-03-01,20,EUR,completed,,5\n");
  auto r = Import(ImportKind::kOrders, path);
  EXPECT_EQ(r.FormatIssues("o.csv"),
            "o.csv:4:7: refunded_at: is required when refunded_total is given\n");
  const auto ok = Write("ok.csv",
                        "order_id,customer_id,placed_at,total,currency,status,refunded_at,"
                        "refunded_total\n"
                        "o1,c1,2024-03-01,20,EUR,completed,2024-04-02,5\n"
                        "o2,c1,2024-03-01,20,EUR,refunded,2024-03-03,\n");
  ASSERT_TRUE(Import(ImportKind::kOrders, ok).committed);
  EXPECT_EQ(store_->FindOrder(ws_.id, "o1").value()->refunds[0].amount_minor, 500);
  EXPECT_EQ(store_->FindOrder(ws_.id, "o2").value()->refunds[0].amount_minor, 2000);
}

}  // namespace
}  // namespace treu
