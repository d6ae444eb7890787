// The SQLite backend of the Store API: one file, WAL, BEGIN IMMEDIATE for writes,
// synchronous=FULL so a committed transaction survives a crash.
#pragma once

#include <memory>
#include <string>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

// Opens (creating if missing) the database at `path` and applies pending migrations.
// Unavailable if the file can't be opened; Internal if a migration fails.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const Clock& clock);

// Writes a consistent copy of the database at `source_path` to `dest_path` with SQLite's
// online backup API, while other connections keep reading and writing.
Status BackupSqlite(const std::string& source_path, const std::string& dest_path);

}  // namespace treu
