#include "net/address_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace treu::net {
namespace {

using C = AddressCategory;

constexpr AddressCategory kAllCategories[] = {
    C::kPublic,     C::kLoopback,      C::kPrivate,     C::kLinkLocal,
    C::kCarrierNat, C::kBenchmarking,  C::kUnspecified, C::kMulticast,
    C::kBroadcast,  C::kDocumentation, C::kReserved,
};

AddressCategory Of(std::string_view text) {
  auto address = IpAddress::Parse(text);
  EXPECT_TRUE(address) << text;
  return address ? Classify(*address) : C::kPublic;
}

struct Case {
  std::string_view address;
  AddressCategory category;
};

void ExpectAll(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(AddressCategoryName(Of(c.address)), AddressCategoryName(c.category)) << c.address;
  }
}

TEST(ClassifyTest, Ipv4RangesAndTheirEdges) {
  ExpectAll({
      {"0.0.0.0", C::kUnspecified},
      {"0.255.255.255", C::kUnspecified},
      {"1.0.0.0", C::kPublic},
      {"1.1.1.1", C::kPublic},
      {"8.8.8.8", C::kPublic},
      {"9.255.255.255", C::kPublic},
      {"10.0.0.0", C::kPrivate},
      {"10.255.255.255", C::kPrivate},
      {"11.0.0.0", C::kPublic},
      {"100.63.255.255", C::kPublic},
      {"100.64.0.0", C::kCarrierNat},
      {"100.127.255.255", C::kCarrierNat},
      {"100.128.0.0", C::kPublic},
      {"126.255.255.255", C::kPublic},
      {"127.0.0.0", C::kLoopback},
      {"127.0.0.1", C::kLoopback},
      {"127.255.255.255", C::kLoopback},
      {"128.0.0.0", C::kPublic},
      {"169.253.255.255", C::kPublic},
      {"169.254.0.0", C::kLinkLocal},
      {"169.254.169.254", C::kLinkLocal},
      {"169.254.255.255", C::kLinkLocal},
      {"169.255.0.0", C::kPublic},
      {"172.15.255.255", C::kPublic},
      {"172.16.0.0", C::kPrivate},
      {"172.31.255.255", C::kPrivate},
      {"172.32.0.0", C::kPublic},
      {"191.255.255.255", C::kPublic},
      {"192.0.0.0", C::kReserved},
      {"192.0.0.255", C::kReserved},
      {"192.0.1.0", C::kPublic},
      {"192.0.2.0", C::kDocumentation},
      {"192.0.2.255", C::kDocumentation},
      {"192.0.3.0", C::kPublic},
      {"192.88.98.255", C::kPublic},
      {"192.88.99.1", C::kReserved},
      {"192.88.100.0", C::kPublic},
      {"192.167.255.255", C::kPublic},
      {"192.168.0.0", C::kPrivate},
      {"192.168.255.255", C::kPrivate},
      {"192.169.0.0", C::kPublic},
      {"198.17.255.255", C::kPublic},
      {"198.18.0.0", C::kBenchmarking},
      {"198.19.255.255", C::kBenchmarking},
      {"198.20.0.0", C::kPublic},
      {"198.51.99.255", C::kPublic},
      {"198.51.100.7", C::kDocumentation},
      {"198.51.101.0", C::kPublic},
      {"203.0.112.255", C::kPublic},
      {"203.0.113.7", C::kDocumentation},
      {"203.0.114.0", C::kPublic},
      {"223.255.255.255", C::kPublic},
      {"224.0.0.0", C::kMulticast},
      {"239.255.255.255", C::kMulticast},
      {"240.0.0.0", C::kReserved},
      {"255.255.255.254", C::kReserved},
      {"255.255.255.255", C::kBroadcast},
  });
}

TEST(ClassifyTest, Ipv6Ranges) {
  ExpectAll({
      {"::", C::kUnspecified},
      {"::1", C::kLoopback},
      {"fc00::", C::kPrivate},
      {"fd12:3456:789a::1", C::kPrivate},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kPrivate},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kReserved},
      {"fe00::1", C::kReserved},
      {"fe80::", C::kLinkLocal},
      {"fe80::1", C::kLinkLocal},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kLinkLocal},
      {"fec0::1", C::kPrivate},  // deprecated site-local
      {"feff::1", C::kPrivate},
      {"ff00::", C::kMulticast},
      {"ff02::1", C::kMulticast},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::kMulticast},
      {"2001:db8::1", C::kDocumentation},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", C::kDocumentation},
      {"2001:db9::1", C::kPublic},
      {"3fff::1", C::kDocumentation},
      {"3fff:fff::1", C::kDocumentation},
      {"3fff:1000::1", C::kPublic},
      {"2001:2::1", C::kBenchmarking},
      {"2001:2:0:ffff::1", C::kBenchmarking},
      {"2001:2:1::1", C::kReserved},
      {"2001::1", C::kReserved},  // Teredo
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", C::kReserved},
      {"2001:20::1", C::kReserved},  // ORCHIDv2
      {"2001:1ff:ffff::1", C::kReserved},
      {"2001:200::1", C::kPublic},
      {"2001:4860:4860::8888", C::kPublic},
      {"2606:4700:4700::1111", C::kPublic},
      {"2a00:1450:4001::1", C::kPublic},
      {"2000::", C::kPublic},
      {"3ffe:ffff::1", C::kPublic},
      {"1fff:ffff::1", C::kReserved},
      {"4000::1", C::kReserved},
      {"100::1", C::kReserved},  // discard-only
      {"5f00::1", C::kReserved},
      {"::1:0:0:0", C::kReserved},
      {"64:ff9b:1::1", C::kPrivate},  // local-use NAT64
  });
}

TEST(ClassifyTest, Ipv6FormsCarryingIpv4UseTheIpv4Category) {
  ExpectAll({
      // IPv4-mapped
      {"::ffff:127.0.0.1", C::kLoopback},
      {"::ffff:7f00:1", C::kLoopback},
      {"::ffff:10.1.2.3", C::kPrivate},
      {"::ffff:169.254.169.254", C::kLinkLocal},
      {"::ffff:100.64.0.1", C::kCarrierNat},
      {"::ffff:0.0.0.0", C::kUnspecified},
      {"::ffff:255.255.255.255", C::kBroadcast},
      {"::ffff:8.8.8.8", C::kPublic},
      // IPv4-translated (SIIT)
      {"::ffff:0:127.0.0.1", C::kLoopback},
      {"::ffff:0:192.168.1.1", C::kPrivate},
      {"::ffff:0:8.8.8.8", C::kPublic},
      // IPv4-compatible (deprecated)
      {"::127.0.0.1", C::kLoopback},
      {"::10.0.0.1", C::kPrivate},
      {"::0.0.0.2", C::kUnspecified},
      {"::8.8.8.8", C::kPublic},
      // NAT64 well-known prefix
      {"64:ff9b::127.0.0.1", C::kLoopback},
      {"64:ff9b::a9fe:a9fe", C::kLinkLocal},
      {"64:ff9b::10.255.255.1", C::kPrivate},
      {"64:ff9b::8.8.8.8", C::kPublic},
      {"64:ff9b::1:0:0:0", C::kReserved},  // outside the /96
      // 6to4
      {"2002:7f00:1::", C::kLoopback},
      {"2002:7f00:0001:ffff::1", C::kLoopback},
      {"2002:a9fe:a9fe::1", C::kLinkLocal},
      {"2002:c0a8:101::1", C::kPrivate},
      {"2002:6440:1::", C::kCarrierNat},
      {"2002:0:0::1", C::kUnspecified},
      {"2002:808:808::1", C::kPublic},
  });
}

TEST(ClassifyTest, FromSystemStructures) {
  in_addr v4{};
  ASSERT_EQ(inet_pton(AF_INET, "169.254.169.254", &v4), 1);
  EXPECT_EQ(Classify(v4), C::kLinkLocal);
  in6_addr v6{};
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:192.168.0.1", &v6), 1);
  EXPECT_EQ(Classify(v6), C::kPrivate);

  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(80);
  sin.sin_addr.s_addr = htonl(0x7f000001);
  auto from_sin = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  ASSERT_TRUE(from_sin);
  EXPECT_TRUE(from_sin->is_v4());
  EXPECT_EQ(from_sin->v4(), 0x7f000001u);
  EXPECT_EQ(from_sin->ToString(), "127.0.0.1");
  EXPECT_EQ(Classify(*from_sin), C::kLoopback);

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  sin6.sin6_scope_id = 2;
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
  auto from_sin6 = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
  ASSERT_TRUE(from_sin6);
  EXPECT_FALSE(from_sin6->is_v4());
  EXPECT_EQ(from_sin6->ToString(), "fe80::1");
  EXPECT_EQ(Classify(*from_sin6), C::kLinkLocal);
}

TEST(ClassifyTest, FromSockaddrRejectsOtherFamiliesAndShortLengths) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  auto too_short = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin), 4);
  ASSERT_FALSE(too_short);
  EXPECT_EQ(too_short.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(too_short.error().context(), "socket address");

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  EXPECT_FALSE(
      IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sockaddr_in)));

  sockaddr unix_like{};
  unix_like.sa_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::FromSockaddr(&unix_like, sizeof unix_like));
  EXPECT_FALSE(IpAddress::FromSockaddr(nullptr, 0));
}

TEST(IpAddressTest, ParseAcceptsOnlyStrictForms) {
  EXPECT_EQ(IpAddress::Parse("127.0.0.1").value(), IpAddress::V4(0x7f000001));
  EXPECT_EQ(IpAddress::Parse("::1").value().ToString(), "::1");
  EXPECT_EQ(IpAddress::Parse("::FFFF:127.0.0.1").value().ToString(), "::ffff:127.0.0.1");
  for (std::string_view bad :
       {"", "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "127.0.0.1.", " 127.0.0.1",
        "127.0.0.1:80", "[::1]", "fe80::1%eth0", "localhost", "::1::", "1.2.3.256"}) {
    auto parsed = IpAddress::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(parsed.error().context(), "ip address");
  }
  EXPECT_FALSE(IpAddress::Parse(std::string(100, '1')));
}

TEST(IpAddressTest, V4AndV6WithTheSameBytesDiffer) {
  EXPECT_NE(IpAddress::V4(0), IpAddress::V6({}));
  EXPECT_EQ(IpAddress().ToString(), "0.0.0.0");
  EXPECT_EQ(IpAddress::V6({}).ToString(), "::");
}

TEST(AddressCategoryTest, NamesAndDescriptions) {
  EXPECT_EQ(AddressCategoryName(C::kCarrierNat), "carrier-grade NAT");
  EXPECT_EQ(AddressCategoryName(C::kLinkLocal), "link-local");
  EXPECT_EQ(DescribeAddressCategory(C::kLoopback), "a loopback address");
  EXPECT_EQ(DescribeAddressCategory(C::kUnspecified), "an unspecified address");
  EXPECT_EQ(DescribeAddressCategory(C::kBroadcast), "the broadcast address");
  std::vector<std::string_view> names;
  for (AddressCategory c : kAllCategories) {
    EXPECT_FALSE(AddressCategoryName(c).empty());
    EXPECT_NE(DescribeAddressCategory(c).find("address"), std::string_view::npos);
    for (std::string_view seen : names) EXPECT_NE(seen, AddressCategoryName(c));
    names.push_back(AddressCategoryName(c));
  }
}

TEST(OutboundPolicyTest, DefaultAllowsOnlyPublic) {
  const OutboundPolicy policy;
  for (AddressCategory c : kAllCategories) {
    EXPECT_EQ(policy.Allows(c), c == C::kPublic) << AddressCategoryName(c);
  }
  EXPECT_FALSE(OutboundPolicy::ForWorkspace(false).allow_private);
  EXPECT_FALSE(OutboundPolicy::ForWorkspace(false).allow_loopback);
}

TEST(OutboundPolicyTest, WorkspaceSettingAllowsTheInternalNetworkButNeverSpecialAddresses) {
  const OutboundPolicy policy = OutboundPolicy::ForWorkspace(true);
  for (AddressCategory c :
       {C::kPublic, C::kLoopback, C::kPrivate, C::kLinkLocal, C::kCarrierNat, C::kBenchmarking}) {
    EXPECT_TRUE(policy.Allows(c)) << AddressCategoryName(c);
    EXPECT_FALSE(NeverAllowed(c)) << AddressCategoryName(c);
  }
  for (AddressCategory c :
       {C::kUnspecified, C::kMulticast, C::kBroadcast, C::kDocumentation, C::kReserved}) {
    EXPECT_FALSE(policy.Allows(c)) << AddressCategoryName(c);
    EXPECT_TRUE(NeverAllowed(c)) << AddressCategoryName(c);
  }
}

TEST(OutboundPolicyTest, LoopbackAndPrivateAreSeparateSwitches) {
  OutboundPolicy loopback_only;
  loopback_only.allow_loopback = true;
  EXPECT_TRUE(loopback_only.Allows(C::kLoopback));
  EXPECT_FALSE(loopback_only.Allows(C::kPrivate));
  EXPECT_FALSE(loopback_only.Allows(C::kLinkLocal));
  EXPECT_FALSE(loopback_only.Allows(C::kCarrierNat));

  OutboundPolicy private_only;
  private_only.allow_private = true;
  EXPECT_FALSE(private_only.Allows(C::kLoopback));
  EXPECT_TRUE(private_only.Allows(C::kPrivate));
  EXPECT_TRUE(private_only.Allows(C::kLinkLocal));
  EXPECT_TRUE(private_only.Allows(C::kCarrierNat));
  EXPECT_TRUE(private_only.Allows(C::kBenchmarking));
}

TEST(OutboundPolicyTest, CloudMetadataAddressesNeedThePrivateSetting) {
  // AWS, GCP, Azure, OpenStack (169.254.169.254); AWS over IPv6 (fd00:ec2::254); Alibaba
  // (100.100.100.200).
  for (std::string_view metadata : {"169.254.169.254", "fd00:ec2::254", "100.100.100.200",
                                    "::ffff:169.254.169.254", "::ffff:a9fe:a9fe"}) {
    EXPECT_FALSE(OutboundPolicy{}.Allows(Of(metadata))) << metadata;
    EXPECT_TRUE(OutboundPolicy::ForWorkspace(true).Allows(Of(metadata))) << metadata;
  }
}

}  // namespace
}  // namespace treu::net
