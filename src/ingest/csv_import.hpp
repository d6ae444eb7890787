// CSV import of customers, orders and subscriptions (RFC 4180, UTF-8, BOM tolerated).
//
// The file's header row names the columns; canonical names are documented in
// docs/import.md and listed by CanonicalColumns(). Other names are mapped with
// ImportOptions::column_map. By default an import is all-or-nothing: the whole file is
// written in one transaction, and a single bad row rejects the file with every error
// listed as "file:line:column: message" (column = the 1-based field number). With
// skip_invalid the good rows are imported and the bad ones written to a rejects file.
// Re-importing a file adds nothing: rows are keyed by their external ids.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

enum class ImportKind { kCustomers, kOrders, kSubscriptions };
std::string_view ImportKindName(ImportKind k);
Result<ImportKind> ParseImportKind(std::string_view text);

// The canonical column names of a kind; required ones first. Customers also accept
// "attributes.<name>" and "consent.<channel>" columns.
struct ColumnSpec {
  std::string_view name;
  bool required;
  std::string_view description;
};
std::span<const ColumnSpec> CanonicalColumns(ImportKind kind);

struct ImportProgress {
  std::int64_t bytes_read = 0;
  std::int64_t bytes_total = 0;  // 0 when unknown (a pipe)
  std::int64_t rows = 0;
};

struct ImportOptions {
  // Source column name → canonical name, from --map source=target.
  std::map<std::string, std::string> column_map;
  // Import the valid rows and write the rejected ones (with an "error" column) to
  // rejects_path instead of rejecting the file.
  bool skip_invalid = false;
  std::string rejects_path;
  // Validate only; write nothing.
  bool dry_run = false;
  // Rows per write batch.
  std::size_t batch_rows = 10'000;
  // Called every few thousand rows and at the end. May be empty.
  std::function<void(const ImportProgress&)> progress;
  // Asked every few thousand rows; when it answers true the import stops with Unavailable
  // and writes nothing. May be empty.
  std::function<bool()> cancelled;
};

struct ImportIssue {
  std::int64_t line = 0;  // 1-based physical line where the record starts
  int column = 0;         // 1-based field number, 0 for the whole row
  std::string message;
};

struct ImportReport {
  std::int64_t rows = 0;           // data rows read
  std::int64_t rows_rejected = 0;  // rows with an error
  WriteStats written;              // what the store did with the valid rows
  std::int64_t customers_seen = 0;  // distinct customer ids referenced
  std::vector<ImportIssue> issues;  // every error, in file order
  bool committed = false;           // true when the data was written
  double seconds = 0;

  // "file:line:column: message" lines, at most `limit`, then "… and N more".
  std::string FormatIssues(std::string_view file_name, std::size_t limit = 200) const;
};

// Imports `path` into workspace `ws` (refreshed from the store first). Sets the
// workspace's reporting currency from the first row when it has none. Returns the report
// also when rows were rejected (then committed is false unless skip_invalid); returns an
// error only when the file can't be read or the store fails, and then nothing is written.
Result<ImportReport> ImportCsvFile(Store& store, const Workspace& ws, ImportKind kind,
                                   const std::string& path, const ImportOptions& options,
                                   const Clock& clock);

}  // namespace treu
