// Money: integer minor units plus an ISO 4217 currency. Never a binary float.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace treu {

// An ISO 4217 currency code with its number of minor-unit digits (2 for EUR, 0 for JPY,
// 3 for KWD), both from ICU's currency data.
class Currency {
 public:
  // Parses a three-letter code, case-insensitive ("eur" → EUR). Fails for codes ICU does not
  // know as a currency.
  static Result<Currency> FromCode(std::string_view code);

  constexpr Currency() = default;
  std::string_view code() const { return std::string_view(code_, 3); }
  int exponent() const { return exponent_; }
  bool empty() const { return code_[0] == '\0'; }
  bool operator==(const Currency& o) const { return code() == o.code(); }

 private:
  char code_[4] = {0, 0, 0, 0};
  int exponent_ = 0;
};

struct Money {
  std::int64_t minor = 0;  // minor units, e.g. cents
  Currency currency;

  bool operator==(const Money& o) const = default;
};

// Parses a decimal amount in major units ("12.34", "-3", "1e3" is rejected) exactly into
// minor units of `currency`. Rejects more fraction digits than the currency has (unless they
// are zeros), thousands separators, blanks and values beyond ±9.2e18 minor units.
Result<std::int64_t> ParseMinorUnits(std::string_view text, const Currency& currency);

// Formats minor units as a decimal string in major units: 1234 EUR → "12.34".
std::string FormatMajorUnits(std::int64_t minor, const Currency& currency);

// The same exact decimal arithmetic for quantities that are not money: parses a decimal
// with at most `decimals` fraction digits into an integer scaled by 10^decimals
// (ParseFixedPoint("12.5", 2) == 1250; "7" with 0 decimals is 7), and formats it back.
// REQUIRES: 0 <= decimals <= 6.
Result<std::int64_t> ParseFixedPoint(std::string_view text, int decimals);
std::string FormatFixedPoint(std::int64_t value, int decimals);

}  // namespace treu
