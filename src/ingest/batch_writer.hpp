// Writes validated domain values to the store in batches, all in one transaction, so an
// import is all there or not at all. Customers referenced by orders and subscriptions are
// created on first sight of their external id.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

class BatchWriter {
 public:
  // With dry_run nothing is written (Start opens no transaction); Add only counts.
  BatchWriter(Store& store, WorkspaceId ws, bool dry_run, std::size_t batch_rows,
              const Clock& clock);

  // Opens the write transaction. Unavailable when another writer holds the database.
  Status Start();
  // Sets the workspace's reporting currency in this transaction (once).
  Status SetCurrency(const Currency& c);
  // Stops writing and rolls back: after the first rejected row of an all-or-nothing import.
  void Abandon();

  // Queue a value; writes a batch when batch_rows values are queued. Orders and
  // subscriptions carry customer_external_id; their customer ids are resolved here.
  Status Add(Order o);
  Status Add(Customer c);
  Status Add(Subscription s);
  Status Add(Event e);

  // Writes what is queued (without committing).
  Status Flush();
  // Flushes and commits. After this, nothing more may be added.
  Status Commit();

  bool committed() const { return committed_; }
  const WriteStats& stats() const { return stats_; }
  std::int64_t customers_seen() const { return static_cast<std::int64_t>(seen_.size()); }

 private:
  void NoteCustomer(const std::string& id);
  Status FlushSubscriptions();

  Store& store_;
  WorkspaceId ws_;
  bool dry_run_;
  std::size_t batch_rows_;
  const Clock& clock_;
  std::unique_ptr<WriteTransaction> tx_;
  bool currency_set_ = false;
  bool committed_ = false;
  WriteStats stats_;
  std::vector<Customer> customers_;
  std::vector<Order> orders_;
  std::vector<Subscription> subs_;
  std::vector<Event> events_;
  std::unordered_set<std::string> seen_;
};

}  // namespace treu
