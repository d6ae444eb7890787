// Segment-spec tracking calls (identify, track, page, screen, group, alias) as domain facts:
// every call is stored as an event, deduplicated by messageId; a call carrying both userId
// and anonymousId (or an alias's previousId) links the anonymous id to the customer, and
// the anonymous id's events, earlier and later, belong to that customer; identify updates the
// customer's profile; the e-commerce events "Order Completed" and "Order Refunded" become
// orders and refunds. JSON parsing happens at the edge (api/); this service sees values.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

struct TrackingMessage {
  Event event;  // type, name, message_id, user_id, anonymous_id, timestamp, properties_json
  // identify: the profile fields and attributes taken from traits (external_id = userId).
  std::optional<Customer> profile;
  // "Order Completed": the order (customer_external_id = userId; total in its currency,
  // or in the workspace's when `currency_code` is empty).
  std::optional<Order> order;
  std::string order_total_text;  // the total as sent, parsed once the currency is known
  std::string currency_code;
  // "Order Refunded": the order id and the refunded amount as sent (empty: the whole order).
  std::optional<std::string> refund_order_id;
  std::string refund_total_text;
};

struct TrackingResult {
  std::int64_t stored = 0;      // new events
  std::int64_t duplicates = 0;  // messageIds seen before (client retries)
  std::vector<bool> duplicate;  // per message: was it a duplicate
};

// Writes the messages in one transaction: all or nothing, durable when this returns OK.
// InvalidArgument (context "/batch/N/field" style JSON pointers) when a message can't be
// applied, e.g. a total with too many decimals or a refund of an unknown order.
Result<TrackingResult> IngestTracking(Store& store, WorkspaceId ws,
                                      std::vector<TrackingMessage>& messages, const Clock& clock);

// Group commit: many threads hand tracking calls to one writer thread, which writes
// everything that is waiting in one transaction per workspace, so concurrent calls share
// one fsync. Each caller is answered after its calls are durable. A request that fails is
// retried alone, so one bad request never fails the others of its group.
//
// Callers don't wait: Submit queues the calls and returns; the writer thread runs the
// completion once they are committed (or failed), so an event loop keeps serving other
// connections meanwhile and a group holds every call that arrived during the last commit.
class TrackingWriter {
 public:
  // `store` is used by the writer thread only. `clock` must outlive the writer. `on_commit`,
  // if set, is told the number of requests of each group the writer commits.
  TrackingWriter(std::unique_ptr<Store> store, const Clock& clock,
                 std::function<void(std::int64_t requests)> on_commit = {});
  ~TrackingWriter();  // writes what is queued, then joins
  TrackingWriter(const TrackingWriter&) = delete;
  TrackingWriter& operator=(const TrackingWriter&) = delete;

  using Done = std::function<void(Result<TrackingResult>)>;

  // Queues `messages`; `done` runs exactly once, on the writer thread, after they are
  // durable or failed as IngestTracking would fail them (Unavailable when the writer is
  // stopping, then on the calling thread). `done` must not block for long: the next group
  // waits for it. Thread-safe.
  void Submit(WorkspaceId ws, std::vector<TrackingMessage> messages, Done done);

  // Submit and wait for the result. Thread-safe.
  Result<TrackingResult> Write(WorkspaceId ws, std::vector<TrackingMessage> messages);

  // Commits so far and the calls (requests) they carried, for metrics.
  std::int64_t commits() const;

 private:
  struct Pending;
  void Run();
  void WriteGroup(std::vector<std::unique_ptr<Pending>>& group);

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  std::function<void(std::int64_t)> on_commit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::int64_t commits_ = 0;    // guarded by mu_
  std::thread thread_;
};

}  // namespace treu
