// Test support: a fresh SQLite store in a temporary file with one workspace reporting in
// EUR, removed again at the end. Header-only, included by *_test.cpp only.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu::testing {

class TempSqliteStore {
 public:
  TempSqliteStore(const std::string& prefix, const Clock& clock) {
    static int n = 0;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db");
    Remove();
    store = OpenSqliteStore(path_.string(), clock).value();
    workspace.name = "shop";
    workspace.currency = Currency::FromCode("EUR").value();
    workspace = store->CreateWorkspace(workspace).value();
  }
  ~TempSqliteStore() {
    store.reset();
    Remove();
  }
  TempSqliteStore(const TempSqliteStore&) = delete;
  TempSqliteStore& operator=(const TempSqliteStore&) = delete;

  // Another connection to the same database (for code that opens its own, like workers).
  Result<std::unique_ptr<Store>> Reopen(const Clock& clock) const { return OpenSqliteStore(path_.string(), clock); }

  std::unique_ptr<Store> store;
  Workspace workspace;

 private:
  void Remove() {
    for (const char* s : {"", "-wal", "-shm", "-journeys.lock"}) std::filesystem::remove(path_.string() + s);
  }
  std::filesystem::path path_;
};

}  // namespace treu::testing
