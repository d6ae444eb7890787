// Which IP addresses outgoing requests (webhooks) may connect to. An address falls into one
// category (loopback, private, link-local, ...); an OutboundPolicy says which categories are
// allowed. By default only public addresses are, so that a URL a workspace enters cannot
// reach the server itself, the cloud's metadata service (169.254.169.254) or other machines
// on the internal network (server-side request forgery).
//
// IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
// ::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002::/16) are
// classified by the IPv4 address they carry, so ::ffff:127.0.0.1 is loopback.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace treu::net {

enum class AddressCategory {
  kPublic,         // everything below does not apply
  kLoopback,       // 127.0.0.0/8, ::1
  kPrivate,        // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 (site-local),
                   // 64:ff9b:1::/48 (local-use NAT64)
  kLinkLocal,      // 169.254/16 (including the cloud metadata address), fe80::/10
  kCarrierNat,     // 100.64/10, shared address space of carrier-grade NAT (RFC 6598)
  kBenchmarking,   // 198.18/15, 2001:2::/48 (RFC 2544, RFC 5180); also used by fake-IP DNS
  kUnspecified,    // 0.0.0.0/8 ("this network"; 0.0.0.0 reaches the local host), ::
  kMulticast,      // 224/4, ff00::/8
  kBroadcast,      // 255.255.255.255
  kDocumentation,  // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  kReserved,       // 240/4, 192.0.0/24, 192.88.99/24 (6to4 relays), 2001::/23 (Teredo,
                   // ORCHID, ...), and IPv6 outside 2000::/3 not named above (e.g. 100::/64)
};

// Stable name of a category: "public", "loopback", "private", "link-local",
// "carrier-grade NAT", "benchmarking", "unspecified", "multicast", "broadcast",
// "documentation", "reserved".
std::string_view AddressCategoryName(AddressCategory category);

// The category with an article, for messages: "a loopback address", "an unspecified
// address", "the broadcast address".
std::string_view DescribeAddressCategory(AddressCategory category);

// An IPv4 or IPv6 address, without port or zone. A value type; cheap to copy.
class IpAddress {
 public:
  // 0.0.0.0.
  IpAddress() = default;

  // An IPv4 address from its 32-bit value in host byte order (0x7f000001 is 127.0.0.1).
  static IpAddress V4(std::uint32_t value);
  static IpAddress FromInAddr(const in_addr& address);
  static IpAddress FromIn6Addr(const in6_addr& address);
  static IpAddress V6(const std::array<std::uint8_t, 16>& bytes);

  // The address of a socket address of family AF_INET or AF_INET6 (port and scope id are
  // dropped). InvalidArgument (context "socket address") for another family or when `length`
  // is shorter than that family's structure.
  static Result<IpAddress> FromSockaddr(const sockaddr* address, socklen_t length);

  // Strict text forms only: dotted quad "192.0.2.1" and RFC 4291 IPv6 text
  // ("2001:db8::1", "::ffff:127.0.0.1"), as inet_pton accepts them. No brackets, zone ids,
  // ports or the numeric shorthands some resolvers accept ("127.1", "0x7f.0.0.1",
  // "2130706433"). InvalidArgument (context "ip address") otherwise.
  static Result<IpAddress> Parse(std::string_view text);

  bool is_v4() const { return is_v4_; }
  // REQUIRES: is_v4(). The address in host byte order.
  std::uint32_t v4() const;
  // REQUIRES: !is_v4(). The 16 bytes in network order.
  const std::array<std::uint8_t, 16>& v6() const { return bytes_; }

  // inet_ntop's text: "127.0.0.1", "2001:db8::1", "::ffff:127.0.0.1".
  std::string ToString() const;

  bool operator==(const IpAddress&) const = default;

 private:
  bool is_v4_ = true;
  // IPv4: the first four bytes, network order; the rest zero.
  std::array<std::uint8_t, 16> bytes_{};
};

// The category of an address; IPv6 forms carrying an IPv4 address take that address's
// category (see the file comment). Thread-safe, no I/O.
AddressCategory Classify(const IpAddress& address);
inline AddressCategory Classify(const in_addr& address) {
  return Classify(IpAddress::FromInAddr(address));
}
inline AddressCategory Classify(const in6_addr& address) {
  return Classify(IpAddress::FromIn6Addr(address));
}

// Which address categories outgoing requests may connect to. Public addresses are always
// allowed; unspecified, multicast, broadcast, documentation and reserved addresses never.
struct OutboundPolicy {
  // Private, link-local, carrier-grade NAT and benchmarking addresses.
  bool allow_private = false;
  // Loopback addresses (the server itself).
  bool allow_loopback = false;

  // The policy of a workspace's "allow private addresses" setting: off allows public
  // addresses only; on also allows private, link-local, carrier-grade NAT, benchmarking and
  // loopback addresses (for self-hosted setups whose receivers run on the internal network).
  static OutboundPolicy ForWorkspace(bool allow_private_addresses);

  bool Allows(AddressCategory category) const;
};

// True for categories that no policy allows (unspecified, multicast, broadcast,
// documentation, reserved).
bool NeverAllowed(AddressCategory category);

}  // namespace treu::net
