#include "ingest/records.hpp"

#include <memory>
#include <optional>

namespace treu {

Result<WriteStats> WriteCustomer(Store& store, WorkspaceId ws, const Customer& c,
                                 const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx->UpsertCustomers(std::span(&c, 1), clock.Now()));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return s;
}

namespace {

// Opens a write transaction and makes sure `currency` is the workspace's reporting currency
// (setting it when the workspace has none yet).
Result<std::unique_ptr<WriteTransaction>> BeginInCurrency(Store& store, WorkspaceId ws,
                                                          const Currency& currency) {
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  std::optional<Currency> reporting;
  for (const auto& w : workspaces) {
    if (w.id == ws) reporting = w.currency;
  }
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  if (!reporting) {
    TREU_RETURN_IF_ERROR(tx->SetCurrency(currency));
  } else if (!(*reporting == currency)) {
    return InvalidArgument("currency", std::string(currency.code()) +
                                           " differs from the workspace's reporting currency " +
                                           std::string(reporting->code()));
  }
  return tx;
}

}  // namespace

Result<WriteStats> WriteProduct(Store& store, WorkspaceId ws, const Product& p) {
  std::unique_ptr<WriteTransaction> tx;
  if (p.price) {
    TREU_ASSIGN_OR_RETURN(tx, BeginInCurrency(store, ws, p.price->currency));
  } else {
    TREU_ASSIGN_OR_RETURN(tx, store.BeginWrite(ws));
  }
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx->UpsertProducts(std::span(&p, 1)));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return s;
}

Result<WriteStats> WriteSubscription(Store& store, WorkspaceId ws, Subscription s,
                                     const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto tx, BeginInCurrency(store, ws, s.currency));
  std::vector<std::string> ext{s.customer_external_id};
  TREU_ASSIGN_OR_RETURN(auto ids, tx->ResolveCustomers(ext, clock.Now()));
  s.customer = ids[0];
  TREU_ASSIGN_OR_RETURN(WriteStats stats, tx->UpsertSubscriptions(std::span(&s, 1)));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return stats;
}

Result<WriteStats> WriteOrder(Store& store, WorkspaceId ws, Order o, const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto tx, BeginInCurrency(store, ws, o.total.currency));
  std::vector<std::string> ext{o.customer_external_id};
  TREU_ASSIGN_OR_RETURN(auto ids, tx->ResolveCustomers(ext, clock.Now()));
  o.customer = ids[0];
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx->InsertOrders(std::span(&o, 1)));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return s;
}

}  // namespace treu
