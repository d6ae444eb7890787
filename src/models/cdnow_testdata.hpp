// Test data: the CDNOW sample summaries of Fader & Hardie (../shared/data/cdnow), for the
// model tests. Header-only, included by *_test.cpp only.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "models/bgnbd.hpp"

namespace treu::testdata {

// The rows of a CSV file under TREU_CDNOW_DIR, split at commas, without the header row.
inline std::vector<std::vector<std::string>> CdnowCsv(const std::string& name) {
  std::ifstream in(std::string(TREU_CDNOW_DIR) + "/" + name);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::vector<std::string> fields;
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    rows.push_back(std::move(fields));
  }
  return rows;
}

// The 2,357 customers of cdnow_customers_summary.csv (x, t_x, T in weeks), in file order.
inline std::vector<PurchaseSummary> CdnowSummaries() {
  std::vector<PurchaseSummary> out;
  for (const auto& f : CdnowCsv("cdnow_customers_summary.csv")) {  // ID,frequency,recency,T
    out.push_back({std::stod(f[1]), std::stod(f[2]), std::stod(f[3])});
  }
  return out;
}

// One customer's purchases in CDNOW_sample.txt: times (UTC midnight of the day, µs) in file
// order (sorted) and values in cents.
struct CdnowPurchases {
  std::vector<std::int64_t> times, values;
};

// The purchases of CDNOW_sample.txt by sample id (1..2357).
inline std::map<int, CdnowPurchases> CdnowTransactions() {
  std::ifstream in(std::string(TREU_CDNOW_DIR) + "/CDNOW_sample.txt");
  std::map<int, CdnowPurchases> out;
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string original, id, date, count, amount;
    ss >> original >> id >> date >> count >> amount;
    if (id.empty()) continue;
    const CivilDate d{std::stoi(date.substr(0, 4)), std::stoi(date.substr(4, 2)), std::stoi(date.substr(6, 2))};
    auto& c = out[std::stoi(id)];
    c.times.push_back(DaysFromCivil(d) * kMicrosPerDay);
    c.values.push_back(std::llround(std::stod(amount) * 100));
  }
  return out;
}

}  // namespace treu::testdata
