// CSV import over HTTP: POST /api/v1/imports starts a background job, GET
// /api/v1/imports/{id} reports its progress and outcome (ingest/import_jobs.hpp).
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// Larger than the server's default body limit: CSV files are sent whole.
constexpr std::size_t kMaxImportBytes = 64 * 1024 * 1024;

std::vector<Route> ImportRoutes();

}  // namespace treu::api
