#include "storage/open.hpp"

#include "storage/postgres/postgres_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace treu {

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const Clock& clock) {
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
    if (path.empty()) return InvalidArgument("--db", "sqlite: needs a file path, e.g. sqlite:treu.db");
    return OpenSqliteStore(path, clock);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresStore(std::string(url), clock);
  }
  return InvalidArgument("--db", "'" + std::string(url) +
                                     "' is not a database URL; use sqlite:PATH or "
                                     "postgresql://user@host:port/dbname");
}

}  // namespace treu
