// Single-record writes from the REST API: one customer or one order per transaction, with
// the same rules as the CSV import (customers created on first sight, one reporting
// currency per workspace, set by the first record when the workspace has none).
#pragma once

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

// Inserts or updates a customer. REQUIRES: ValidateCustomer(c).
Result<WriteStats> WriteCustomer(Store& store, WorkspaceId ws, const Customer& c,
                                 const Clock& clock);

// Inserts an order (or applies a new status and refunds to a stored one). InvalidArgument
// with context "currency" when the order's currency isn't the workspace's.
// REQUIRES: ValidateOrder(o); o.customer_external_id set.
Result<WriteStats> WriteOrder(Store& store, WorkspaceId ws, Order o, const Clock& clock);

// Inserts a subscription or merges new states into a stored one (Conflict when a state at
// a stored time differs). InvalidArgument with context "currency" for another currency.
// REQUIRES: ValidateSubscription(s); s.customer_external_id set.
Result<WriteStats> WriteSubscription(Store& store, WorkspaceId ws, Subscription s,
                                     const Clock& clock);

// Inserts or updates a product; a price must be in the workspace's reporting currency.
// REQUIRES: ValidateProduct(p).
Result<WriteStats> WriteProduct(Store& store, WorkspaceId ws, const Product& p);

}  // namespace treu
