#include "ingest/records.hpp"

namespace treu {

Result<WriteStats> WriteCustomer(Store& store, WorkspaceId ws, const Customer& c,
                                 const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx->UpsertCustomers(std::span(&c, 1), clock.Now()));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return s;
}

Result<WriteStats> WriteOrder(Store& store, WorkspaceId ws, Order o, const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  std::optional<Currency> reporting;
  for (const auto& w : workspaces) {
    if (w.id == ws) reporting = w.currency;
  }
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  if (!reporting) {
    TREU_RETURN_IF_ERROR(tx->SetCurrency(o.total.currency));
  } else if (!(*reporting == o.total.currency)) {
    return InvalidArgument("currency", std::string(o.total.currency.code()) +
                                           " differs from the workspace's reporting currency " +
                                           std::string(reporting->code()));
  }
  std::vector<std::string> ext{o.customer_external_id};
  TREU_ASSIGN_OR_RETURN(auto ids, tx->ResolveCustomers(ext, clock.Now()));
  o.customer = ids[0];
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx->InsertOrders(std::span(&o, 1)));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return s;
}

}  // namespace treu
