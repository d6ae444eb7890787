// Test data: the CDNOW sample summaries of Fader & Hardie (../shared/data/cdnow), for the
// model tests. Header-only, included by *_test.cpp only.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace treu::testdata
