#include "net/address_policy.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>

namespace treu::net {
namespace {

struct CategoryRow {
  AddressCategory category;
  std::string_view name;
  std::string_view description;
  bool never_allowed;
};

constexpr CategoryRow kCategories[] = {
    {AddressCategory::kPublic, "public", "a public address", false},
    {AddressCategory::kLoopback, "loopback", "a loopback address", false},
    {AddressCategory::kPrivate, "private", "a private address", false},
    {AddressCategory::kLinkLocal, "link-local", "a link-local address", false},
    {AddressCategory::kCarrierNat, "carrier-grade NAT", "a carrier-grade NAT address", false},
    {AddressCategory::kBenchmarking, "benchmarking", "a benchmarking address", false},
    {AddressCategory::kUnspecified, "unspecified", "an unspecified address", true},
    {AddressCategory::kMulticast, "multicast", "a multicast address", true},
    {AddressCategory::kBroadcast, "broadcast", "the broadcast address", true},
    {AddressCategory::kDocumentation, "documentation", "a documentation address", true},
    {AddressCategory::kReserved, "reserved", "a reserved address", true},
};

const CategoryRow& Row(AddressCategory category) {
  for (const CategoryRow& row : kCategories) {
    if (row.category == category) return row;
  }
  return kCategories[0];
}

// True when the top `bits` bits of `value` equal those of `prefix`.
constexpr bool InV4(std::uint32_t value, std::uint32_t prefix, int bits) {
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (value & mask) == (prefix & mask);
}

constexpr std::uint32_t V4Value(int a, int b, int c, int d) {
  return static_cast<std::uint32_t>(a) << 24 | static_cast<std::uint32_t>(b) << 16 |
         static_cast<std::uint32_t>(c) << 8 | static_cast<std::uint32_t>(d);
}

AddressCategory ClassifyV4(std::uint32_t v) {
  if (v == V4Value(255, 255, 255, 255)) return AddressCategory::kBroadcast;
  if (InV4(v, V4Value(0, 0, 0, 0), 8)) return AddressCategory::kUnspecified;
  if (InV4(v, V4Value(127, 0, 0, 0), 8)) return AddressCategory::kLoopback;
  if (InV4(v, V4Value(10, 0, 0, 0), 8) || InV4(v, V4Value(172, 16, 0, 0), 12) ||
      InV4(v, V4Value(192, 168, 0, 0), 16)) {
    return AddressCategory::kPrivate;
  }
  if (InV4(v, V4Value(169, 254, 0, 0), 16)) return AddressCategory::kLinkLocal;
  if (InV4(v, V4Value(100, 64, 0, 0), 10)) return AddressCategory::kCarrierNat;
  if (InV4(v, V4Value(198, 18, 0, 0), 15)) return AddressCategory::kBenchmarking;
  if (InV4(v, V4Value(192, 0, 2, 0), 24) || InV4(v, V4Value(198, 51, 100, 0), 24) ||
      InV4(v, V4Value(203, 0, 113, 0), 24)) {
    return AddressCategory::kDocumentation;
  }
  if (InV4(v, V4Value(224, 0, 0, 0), 4)) return AddressCategory::kMulticast;
  if (InV4(v, V4Value(240, 0, 0, 0), 4) || InV4(v, V4Value(192, 0, 0, 0), 24) ||
      InV4(v, V4Value(192, 88, 99, 0), 24)) {
    return AddressCategory::kReserved;
  }
  return AddressCategory::kPublic;
}

using V6Bytes = std::array<std::uint8_t, 16>;

// True when the top `bits` bits of `bytes` equal those of `prefix` (given as its leading
// bytes; the rest are zero).
bool InV6(const V6Bytes& bytes, std::initializer_list<std::uint8_t> prefix, int bits) {
  V6Bytes p{};
  std::size_t i = 0;
  for (std::uint8_t b : prefix) p[i++] = b;
  const int whole = bits / 8;
  if (std::memcmp(bytes.data(), p.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[whole] & mask) == (p[whole] & mask);
}

std::uint32_t V4At(const V6Bytes& bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(bytes[offset]) << 24 |
         static_cast<std::uint32_t>(bytes[offset + 1]) << 16 |
         static_cast<std::uint32_t>(bytes[offset + 2]) << 8 |
         static_cast<std::uint32_t>(bytes[offset + 3]);
}

// The IPv4 address an IPv6 address carries, for the forms classified by it.
std::optional<std::uint32_t> EmbeddedV4(const V6Bytes& b) {
  // ::ffff:a.b.c.d (IPv4-mapped)
  if (InV6(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return V4At(b, 12);
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765)
  if (InV6(b, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96)) return V4At(b, 12);
  // ::a.b.c.d (IPv4-compatible, deprecated); :: and ::1 are handled before.
  if (InV6(b, {}, 96)) return V4At(b, 12);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix, RFC 6052)
  if (InV6(b, {0x00, 0x64, 0xff, 0x9b}, 96)) return V4At(b, 12);
  // 2002:aabb:ccdd::/48 (6to4, RFC 3056)
  if (InV6(b, {0x20, 0x02}, 16)) return V4At(b, 2);
  return std::nullopt;
}

AddressCategory ClassifyV6(const V6Bytes& b) {
  const V6Bytes loopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (b == V6Bytes{}) return AddressCategory::kUnspecified;
  if (b == loopback) return AddressCategory::kLoopback;
  if (auto v4 = EmbeddedV4(b)) return ClassifyV4(*v4);
  if (InV6(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return AddressCategory::kPrivate;
  if (InV6(b, {0xff}, 8)) return AddressCategory::kMulticast;
  if (InV6(b, {0xfe, 0x80}, 10)) return AddressCategory::kLinkLocal;
  if (InV6(b, {0xfe, 0xc0}, 10)) return AddressCategory::kPrivate;
  if (InV6(b, {0xfc}, 7)) return AddressCategory::kPrivate;
  if (InV6(b, {0x20, 0x01, 0x0d, 0xb8}, 32) || InV6(b, {0x3f, 0xff}, 20)) {
    return AddressCategory::kDocumentation;
  }
  if (InV6(b, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48)) return AddressCategory::kBenchmarking;
  if (InV6(b, {0x20, 0x01}, 23)) return AddressCategory::kReserved;
  // Global unicast is 2000::/3; everything else is unassigned or special.
  if (!InV6(b, {0x20}, 3)) return AddressCategory::kReserved;
  return AddressCategory::kPublic;
}

}  // namespace

std::string_view AddressCategoryName(AddressCategory category) { return Row(category).name; }

std::string_view DescribeAddressCategory(AddressCategory category) {
  return Row(category).description;
}

IpAddress IpAddress::V4(std::uint32_t value) {
  IpAddress a;
  a.bytes_[0] = static_cast<std::uint8_t>(value >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(value >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(value >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(value);
  return a;
}

IpAddress IpAddress::FromInAddr(const in_addr& address) { return V4(ntohl(address.s_addr)); }

IpAddress IpAddress::FromIn6Addr(const in6_addr& address) {
  V6Bytes bytes;
  std::memcpy(bytes.data(), &address, bytes.size());
  return V6(bytes);
}

IpAddress IpAddress::V6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.is_v4_ = false;
  a.bytes_ = bytes;
  return a;
}

Result<IpAddress> IpAddress::FromSockaddr(const sockaddr* address, socklen_t length) {
  if (address == nullptr) return InvalidArgument("socket address", "none given");
  const auto size = static_cast<std::size_t>(length);
  if (address->sa_family == AF_INET) {
    if (size < sizeof(sockaddr_in)) {
      return InvalidArgument("socket address", "too short for AF_INET");
    }
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    return FromInAddr(in.sin_addr);
  }
  if (address->sa_family == AF_INET6) {
    if (size < sizeof(sockaddr_in6)) {
      return InvalidArgument("socket address", "too short for AF_INET6");
    }
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    return FromIn6Addr(in6.sin6_addr);
  }
  return InvalidArgument("socket address",
                         "family " + std::to_string(address->sa_family) + " is not IP");
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  // Longest IPv6 text: 8 groups of 4 hex digits and 7 colons, or 45 with an IPv4 tail.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return InvalidArgument("ip address", "\"" + std::string(text) + "\" is not an IP address");
  }
  const std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return FromInAddr(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return FromIn6Addr(v6);
  return InvalidArgument("ip address", "\"" + s + "\" is not an IP address");
}

std::uint32_t IpAddress::v4() const { return V4At(bytes_, 0); }

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (is_v4_) {
    in_addr in;
    in.s_addr = htonl(v4());
    inet_ntop(AF_INET, &in, buffer, sizeof buffer);
  } else {
    in6_addr in6;
    std::memcpy(&in6, bytes_.data(), bytes_.size());
    inet_ntop(AF_INET6, &in6, buffer, sizeof buffer);
  }
  return buffer;
}

AddressCategory Classify(const IpAddress& address) {
  return address.is_v4() ? ClassifyV4(address.v4()) : ClassifyV6(address.v6());
}

OutboundPolicy OutboundPolicy::ForWorkspace(bool allow_private_addresses) {
  OutboundPolicy policy;
  policy.allow_private = allow_private_addresses;
  policy.allow_loopback = allow_private_addresses;
  return policy;
}

bool OutboundPolicy::Allows(AddressCategory category) const {
  switch (category) {
    case AddressCategory::kPublic:
      return true;
    case AddressCategory::kLoopback:
      return allow_loopback;
    case AddressCategory::kPrivate:
    case AddressCategory::kLinkLocal:
    case AddressCategory::kCarrierNat:
    case AddressCategory::kBenchmarking:
      return allow_private;
    case AddressCategory::kUnspecified:
    case AddressCategory::kMulticast:
    case AddressCategory::kBroadcast:
    case AddressCategory::kDocumentation:
    case AddressCategory::kReserved:
      return false;
  }
  return false;
}

bool NeverAllowed(AddressCategory category) { return Row(category).never_allowed; }

}  // namespace treu::net
