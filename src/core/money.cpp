#include "core/money.hpp"

#include <unicode/ucurr.h>
#include <unicode/ustring.h>

#include <cctype>
#include <limits>

namespace treu {

Result<Currency> Currency::FromCode(std::string_view code) {
  if (code.size() != 3) {
    return InvalidArgument("currency", "'" + std::string(code) + "' is not a three-letter ISO 4217 code");
  }
  Currency c;
  for (int i = 0; i < 3; ++i) {
    const unsigned char ch = static_cast<unsigned char>(code[i]);
    if (!std::isalpha(ch)) {
      return InvalidArgument("currency", "'" + std::string(code) + "' is not a three-letter ISO 4217 code");
    }
    c.code_[i] = static_cast<char>(std::toupper(ch));
  }
  UChar ucode[4] = {static_cast<UChar>(c.code_[0]), static_cast<UChar>(c.code_[1]),
                    static_cast<UChar>(c.code_[2]), 0};
  UErrorCode status = U_ZERO_ERROR;
  // ucurr_getNumericCode is 0 for strings ICU doesn't know as an ISO 4217 currency.
  if (ucurr_getNumericCode(ucode) == 0) {
    return InvalidArgument("currency", "'" + std::string(c.code()) + "' is not an ISO 4217 currency");
  }
  const int32_t digits = ucurr_getDefaultFractionDigitsForUsage(ucode, UCURR_USAGE_STANDARD, &status);
  if (U_FAILURE(status) || digits < 0 || digits > 4) {
    return InvalidArgument("currency", "no minor-unit data for '" + std::string(c.code()) + "'");
  }
  c.exponent_ = digits;
  return c;
}

namespace {

// Exact decimal → integer scaled by 10^decimals. `unit` names what the decimals are of in
// the error message (" for EUR"), or is empty.
Result<std::int64_t> ParseScaled(std::string_view text, int decimals, std::string_view unit) {
  auto bad = [&](std::string why) {
    return InvalidArgument("amount", "'" + std::string(text) + "' " + why);
  };
  if (text.empty()) return bad("is empty");
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    ++i;
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t value = 0;
  int int_digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++int_digits) {
    const int d = text[i] - '0';
    if (value > (kMax - d) / 10) return bad("is too large");
    value = value * 10 + d;
  }
  int frac_digits = 0;
  std::int64_t frac = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      const int d = text[i] - '0';
      if (frac_digits < decimals) {
        frac = frac * 10 + d;
        ++frac_digits;
      } else if (d != 0) {
        return bad("has more than " + std::to_string(decimals) + " decimal places" +
                   std::string(unit));
      }
    }
    if (frac_digits == 0 && int_digits == 0) return bad("is not a decimal number");
  }
  if (i != text.size() || int_digits + frac_digits == 0) {
    return bad("is not a decimal number like 12.34");
  }
  for (int k = frac_digits; k < decimals; ++k) frac *= 10;
  std::int64_t scale = 1;
  for (int k = 0; k < decimals; ++k) scale *= 10;
  if (value > (kMax - frac) / scale) return bad("is too large");
  const std::int64_t minor = value * scale + frac;
  return negative ? -minor : minor;
}

}  // namespace

Result<std::int64_t> ParseMinorUnits(std::string_view text, const Currency& currency) {
  return ParseScaled(text, currency.exponent(), " for " + std::string(currency.code()));
}

Result<std::int64_t> ParseFixedPoint(std::string_view text, int decimals) {
  return ParseScaled(text, decimals, "");
}

std::string FormatMajorUnits(std::int64_t minor, const Currency& currency) {
  return FormatFixedPoint(minor, currency.exponent());
}

std::string FormatFixedPoint(std::int64_t minor, int decimals) {
  const bool negative = minor < 0;
  // Work in unsigned to format INT64_MIN correctly.
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::uint64_t scale = 1;
  for (int k = 0; k < decimals; ++k) scale *= 10;
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / scale);
  if (decimals > 0) {
    std::string frac = std::to_string(magnitude % scale);
    out += '.';
    out.append(static_cast<std::size_t>(decimals) - frac.size(), '0');
    out += frac;
  }
  return out;
}

}  // namespace treu
