#include "ingest/tracking.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu {
namespace {

class TrackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("treu-tracking-test-" + std::to_string(::getpid()) + ".db")).string();
    Clean();
    store_ = OpenSqliteStore(path_, clock_).value();
    Workspace w;
    w.name = "shop";
    w.currency = Currency::FromCode("EUR").value();
    ws_ = store_->CreateWorkspace(w).value();
  }
  void TearDown() override {
    store_.reset();
    Clean();
  }
  void Clean() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + s);
  }

  static TrackingMessage Track(const std::string& user, const std::string& message_id) {
    TrackingMessage m;
    m.event.type = EventType::kTrack;
    m.event.name = "Clicked";
    m.event.user_id = user;
    m.event.message_id = message_id;
    m.event.timestamp = Timestamp::FromSeconds(1'700'000'000);
    m.event.properties_json = "{}";
    return m;
  }

  SystemClock clock_;
  std::string path_;
  std::unique_ptr<Store> store_;
  Workspace ws_;
};

TEST_F(TrackingTest, OrdersRefundsAndRetries) {
  std::vector<TrackingMessage> msgs{Track("u1", "m1"), Track("u1", "m2")};
  msgs[1].event.name = "Order Completed";
  msgs[1].order = Order{};
  msgs[1].order->external_id = "o1";
  msgs[1].order->customer_external_id = "u1";
  msgs[1].order->placed_at = msgs[1].event.timestamp;
  msgs[1].order_total_text = "19.99";
  auto r = IngestTracking(*store_, ws_.id, msgs, clock_).value();
  EXPECT_EQ(r.stored, 2);
  EXPECT_EQ(store_->FindOrder(ws_.id, "o1").value()->total.minor, 1999);
  // The retry of both is recognised and changes nothing.
  auto again = IngestTracking(*store_, ws_.id, msgs, clock_).value();
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(again.duplicate, (std::vector<bool>{true, true}));
  std::vector<TrackingMessage> refund{Track("u1", "m3")};
  refund[0].refund_order_id = "o1";
  refund[0].refund_total_text = "5";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, refund, clock_));
  EXPECT_EQ(store_->FindOrder(ws_.id, "o1").value()->refunds.at(0).amount_minor, 500);
  std::vector<TrackingMessage> bad{Track("u1", "m4")};
  bad[0].refund_order_id = "nope";
  auto err = IngestTracking(*store_, ws_.id, bad, clock_);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().context(), "/batch/0/properties/order_id");
  EXPECT_EQ(store_->Counts(ws_.id).value().events, 3);
}

TEST_F(TrackingTest, AnonymousEventsJoinTheCustomerOnceIdentified) {
  std::vector<TrackingMessage> browse{Track("", "b1"), Track("", "b2")};
  for (auto& m : browse) m.event.anonymous_id = "anon-7";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, browse, clock_));
  std::vector<TrackingMessage> identify{Track("u7", "i1")};
  identify[0].event.type = EventType::kIdentify;
  identify[0].event.name = "";
  identify[0].event.anonymous_id = "anon-7";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, identify, clock_));
  std::vector<TrackingMessage> later{Track("", "b3")};
  later[0].event.anonymous_id = "anon-7";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, later, clock_));
  const CustomerId u7 = store_->FindCustomer(ws_.id, "u7").value()->id;
  int n = 0;
  ASSERT_TRUE(store_->ScanEvents(ws_.id, [&](const Event& e) {
    EXPECT_EQ(e.customer, u7) << e.message_id;
    ++n;
  }));
  EXPECT_EQ(n, 4);
  // alias links a previous id as well.
  std::vector<TrackingMessage> other{Track("", "x1")};
  other[0].event.anonymous_id = "device-9";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, other, clock_));
  std::vector<TrackingMessage> alias{Track("u7", "al1")};
  alias[0].event.type = EventType::kAlias;
  alias[0].event.name = "device-9";
  ASSERT_TRUE(IngestTracking(*store_, ws_.id, alias, clock_));
  ASSERT_TRUE(store_->ScanEvents(ws_.id, [&](const Event& e) {
    if (e.message_id == "x1") {
      EXPECT_EQ(e.customer, u7);
    }
  }));
}

TEST_F(TrackingTest, WriterGroupsConcurrentCallsAndIsolatesABadOne) {
  auto writer_store = OpenSqliteStore(path_, clock_).value();
  TrackingWriter writer(std::move(writer_store), clock_);
  constexpr int kThreads = 8, kCalls = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::vector<TrackingMessage> msgs{Track("u" + std::to_string(t), "t" + std::to_string(t) + "-" + std::to_string(i))};
        if (t == 0 && i == 7) msgs[0].refund_order_id = "unknown-order";  // fails alone
        auto r = writer.Write(ws_.id, std::move(msgs));
        ++(r ? ok : failures);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(ok.load(), kThreads * kCalls - 1);
  EXPECT_EQ(store_->Counts(ws_.id).value().events, kThreads * kCalls - 1);
  EXPECT_LE(writer.commits(), kThreads * kCalls);
}

}  // namespace
}  // namespace treu
