// The PostgreSQL backend of the Store API, on libpq. Many treu processes may share one
// server: writers to a workspace serialise on a transaction-scoped advisory lock keyed by
// the workspace id, and bulk writes go through COPY into per-session staging tables.
#pragma once

#include <memory>
#include <string>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

// Connects to the server named by `url`, a libpq connection string: a URI such as
// "postgresql://user@host:5432/dbname" or "host=... dbname=..." key/value pairs. Applies the
// pending embedded migrations, each in its own transaction, under a session advisory lock so
// that processes starting together don't race; the database user needs the right to create
// tables in the first schema of its search_path. `clock` stamps the change log and must
// outlive the store.
// Unavailable with libpq's message when the server can't be reached or refuses the login;
// Internal when a migration fails.
// The store owns one connection: use it (and its transactions) from one thread at a time.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, const Clock& clock);

}  // namespace treu
