// A streaming RFC 4180 reader on libcsv that knows the physical line each record starts on.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace treu {

// Reads `path` record by record and calls `on_record(fields, line)` for each, `line`
// being the 1-based line the record starts on. A UTF-8 byte order mark is skipped. Blank
// lines are skipped. Returning an error from on_record stops reading and is returned.
// `on_bytes(read, total)` reports progress (total 0 when the size is unknown).
Status ReadCsvFile(const std::string& path,
                   const std::function<Status(std::vector<std::string>& fields,
                                              std::int64_t line)>& on_record,
                   const std::function<void(std::int64_t read, std::int64_t total)>& on_bytes);

// Appends `field` to `out` quoted as RFC 4180 requires (only when needed).
void AppendCsvField(std::string& out, std::string_view field);

}  // namespace treu
