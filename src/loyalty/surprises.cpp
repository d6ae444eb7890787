#include "loyalty/surprises.hpp"

#include <variant>

namespace treu::loyalty {
namespace {

// FNV-1a, 64 bits, then MurmurHash3's 64-bit finaliser: stable across builds and platforms
// (std::hash is not), and inputs that differ in the last character (the period) come out
// unrelated (FNV-1a alone keeps them correlated in the low bits).
std::uint64_t StableHash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

bool SameDayOfYear(CivilDate date, CivilDate today) {
  if (date.month == today.month && date.day == today.day) return true;
  // Born on 29 February: celebrated on the 28th in other years.
  const bool leap = (today.year % 4 == 0 && today.year % 100 != 0) || today.year % 400 == 0;
  return date.month == 2 && date.day == 29 && !leap && today.month == 2 && today.day == 28;
}

std::optional<CivilDate> DateOf(const AttributeValue& v, const TimeZone& zone) {
  if (const auto* t = std::get_if<Timestamp>(&v)) return zone.LocalDate(*t);
  if (const auto* text = std::get_if<std::string>(&v)) {
    if (auto d = ParseDate(*text)) return *d;
  }
  return std::nullopt;
}

// The customers a surprise gives to on `today`, with the occasion of each grant.
Result<std::vector<CustomerId>> Candidates(Store& store, const Workspace& ws, const Surprise& s,
                                           const TimeZone& zone, CivilDate today, const std::string& occasion) {
  std::vector<CustomerId> out;
  std::optional<std::vector<CustomerId>> members;  // of s.segment, sorted
  if (!s.segment.empty()) {
    TREU_ASSIGN_OR_RETURN(auto def, store.FindSegment(ws.id, s.segment));
    members.emplace();
    if (def) {
      TREU_ASSIGN_OR_RETURN(auto rows, store.ListSegmentMembers(ws.id, def->id, 0, 0));
      for (const SegmentMember& m : rows) members->push_back(m.customer);
      std::sort(members->begin(), members->end());
    }
  }
  auto allowed = [&](CustomerId c) { return !members || std::binary_search(members->begin(), members->end(), c); };
  switch (s.kind) {
    case SurpriseKind::kRandom: {
      const std::int64_t period = std::stoll(occasion.substr(1));
      for (CustomerId c : *members) {
        if (DrawnForSurprise(s, c, period)) out.push_back(c);
      }
      break;
    }
    case SurpriseKind::kBirthday: {
      TREU_RETURN_IF_ERROR(store.ScanCustomers(ws.id, [&](const Customer& c) {
        auto it = c.attributes.find(s.attribute);
        if (it == c.attributes.end() || !allowed(c.id)) return;
        const std::optional<CivilDate> born = DateOf(it->second, zone);
        if (born && SameDayOfYear(*born, today)) out.push_back(c.id);
      }));
      break;
    }
    case SurpriseKind::kAnniversary: {
      std::int64_t after = 0;
      while (true) {
        TREU_ASSIGN_OR_RETURN(auto page, store.ListLoyaltyMembers(ws.id, after, 1000));
        if (page.empty()) break;
        for (const LoyaltyMember& m : page) {
          after = m.customer.value;
          const CivilDate joined = zone.LocalDate(m.enrolled_at);
          if (joined.year < today.year && SameDayOfYear(joined, today) && allowed(m.customer)) {
            out.push_back(m.customer);
          }
        }
      }
      break;
    }
    case SurpriseKind::kOrders:
      break;  // granted as orders are processed
  }
  return out;
}

}  // namespace

bool DrawnForSurprise(const Surprise& s, CustomerId c, std::int64_t period) {
  const std::uint64_t h = StableHash(s.id + ":" + std::to_string(c.value) + ":" + std::to_string(period));
  // share is in thousandths; compare in millionths of the hash's range.
  return static_cast<std::int64_t>(h % 1'000'000) < s.share * 1000;
}

Result<std::int64_t> RunSurprises(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache,
                                  SurpriseMemo* memo) {
  TREU_ASSIGN_OR_RETURN(Program program, LoadProgram(store, ws));
  if (program.surprises.empty()) return 0;
  TREU_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Find(ws.time_zone));
  const Timestamp now = clock.Now();
  const CivilDate today = zone.LocalDate(now);
  std::int64_t granted = 0;
  for (const Surprise& s : program.surprises) {
    if (s.kind == SurpriseKind::kOrders) continue;
    // The occasion: the draw period ("p<n>", draws every every_days days) or the year.
    const std::string occasion = s.kind == SurpriseKind::kRandom
                                     ? "p" + std::to_string(DaysFromCivil(today) / s.every_days)
                                     : std::to_string(today.year);
    const std::string key = std::to_string(ws.id.value) + "/" + s.id;
    const std::string done = occasion + "@" + FormatDate(today);
    if (memo != nullptr && (*memo)[key] == (s.kind == SurpriseKind::kRandom ? occasion : done)) continue;
    TREU_ASSIGN_OR_RETURN(auto candidates, Candidates(store, ws, s, zone, today, occasion));
    constexpr std::size_t kBatch = 500;
    for (std::size_t i = 0; i < candidates.size(); i += kBatch) {
      TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(store, ws, program, now, cache));
      for (std::size_t k = i; k < std::min(candidates.size(), i + kBatch); ++k) {
        TREU_ASSIGN_OR_RETURN(bool g, batch->GrantSurprise(candidates[k], s, occasion));
        granted += g ? 1 : 0;
      }
      TREU_RETURN_IF_ERROR(batch->Commit());
    }
    if (memo != nullptr) (*memo)[key] = s.kind == SurpriseKind::kRandom ? occasion : done;
  }
  return granted;
}

}  // namespace treu::loyalty
