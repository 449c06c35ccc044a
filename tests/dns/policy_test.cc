// The answer policy: longest prefix match, nearest healthy failover by
// great-circle distance, default location, fail open, ECS scope, fallback
// addresses and rotation.
#include "dns/policy.h"

#include <gtest/gtest.h>

#include "test_zone.h"

namespace nines::dns {
namespace {

using testing::Health;
using testing::Ip;
using testing::Net;

TEST(IpTest, ParsesPrefixesAndRejectsHostBits) {
  IpPrefix p;
  EXPECT_TRUE(ParseIpPrefix("10.1.0.0/16", &p).ok());
  EXPECT_EQ(p.length, 16);
  EXPECT_FALSE(ParseIpPrefix("10.1.0.1/16", &p).ok());
  EXPECT_FALSE(ParseIpPrefix("10.1.0.0/33", &p).ok());
  EXPECT_FALSE(ParseIpPrefix("10.1.0.0", &p).ok());
  EXPECT_TRUE(ParseIpPrefix("2001:db8::/32", &p).ok());
  EXPECT_TRUE(PrefixContains(Net("10.1.0.0/16"), Ip("10.1.200.3")));
  EXPECT_FALSE(PrefixContains(Net("10.1.0.0/16"), Ip("10.2.0.3")));
  EXPECT_FALSE(PrefixContains(Net("10.1.0.0/16"), Ip("2001:db8::1")));
  EXPECT_EQ(CommonPrefixLength(Ip("10.2.0.0"), Ip("10.3.0.0")), 15);
}

TEST(PolicyTest, GreatCircleDistance) {
  // Washington to Dublin is about 5,450 km.
  double d = GreatCircleKm(38.9, -77.0, 53.3, -6.3);
  EXPECT_GT(d, 5300);
  EXPECT_LT(d, 5600);
  EXPECT_NEAR(GreatCircleKm(10, 10, 10, 10), 0, 1e-9);
}

class PolicyFixture : public ::testing::Test {
 protected:
  PolicyFixture() : policy(testing::ThreeRegions(), 51.5, -0.1), health(policy.address_count()) {}
  PolicyAnswer Choose(const char* client, int family = 4) {
    PolicyAnswer a;
    policy.Choose(Ip(client), family, health.view(), &a);
    return a;
  }
  void Down(int region, int k) { health.flags[policy.AddressIndex(region, k)] = false; }
  AnswerPolicy policy;
  Health health;
};

TEST_F(PolicyFixture, ClientGetsItsOwnRegion) {
  PolicyAnswer a = Choose("10.2.9.9");
  EXPECT_EQ(a.client_region, 1);
  EXPECT_EQ(a.region, 1);
  EXPECT_FALSE(a.failover);
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.scope_prefix, 16);
}

TEST_F(PolicyFixture, LongestPrefixWins) {
  PolicyAnswer a = Choose("10.3.7.1");
  EXPECT_EQ(a.client_region, 2);
  EXPECT_EQ(a.scope_prefix, 24);
  // 10.3.8.1 is in 10.3.0.0/16 but must be told apart from 10.3.7.0/24.
  PolicyAnswer b = Choose("10.3.8.1");
  EXPECT_EQ(b.client_region, 2);
  EXPECT_EQ(b.scope_prefix, 21);
}

TEST_F(PolicyFixture, UnhealthyAddressIsLeftOut) {
  Down(1, 0);
  PolicyAnswer a = Choose("10.2.0.1");
  EXPECT_EQ(a.region, 1);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0], policy.AddressIndex(1, 1));
}

TEST_F(PolicyFixture, FailsOverToNearestHealthyRegion) {
  Down(0, 0);  // us-east down: us-west (3,900 km) is nearer than eu-west (5,450 km)
  PolicyAnswer a = Choose("10.1.0.1");
  EXPECT_EQ(a.client_region, 0);
  EXPECT_EQ(a.region, 1);
  EXPECT_TRUE(a.failover);
  Down(1, 0);
  Down(1, 1);
  PolicyAnswer b = Choose("10.1.0.1");
  EXPECT_EQ(b.region, 2);
  EXPECT_TRUE(b.failover);
}

TEST_F(PolicyFixture, UnknownClientsGetTheRegionNearestTheDefaultLocation) {
  PolicyAnswer a = Choose("192.0.2.1");
  EXPECT_EQ(a.client_region, -1);
  EXPECT_EQ(a.home_region, 2);
  EXPECT_EQ(a.region, 2);
  EXPECT_FALSE(a.failover);
  Down(2, 0);
  PolicyAnswer b = Choose("192.0.2.1");
  EXPECT_EQ(b.region, 0);  // Washington is nearer London than California is
  EXPECT_TRUE(b.failover);
}

TEST_F(PolicyFixture, AllDownFailsOpenWithEveryAddress) {
  for (int i = 0; i < policy.address_count(); ++i) health.flags[i] = false;
  PolicyAnswer a = Choose("10.1.0.1");
  EXPECT_TRUE(a.fail_open);
  EXPECT_EQ(a.region, -1);
  EXPECT_EQ(a.addresses.size(), 4u);  // the IPv4 addresses of all regions
}

TEST_F(PolicyFixture, AaaaUsesOnlyRegionsWithIpv6Addresses) {
  PolicyAnswer a = Choose("10.1.0.1", 6);
  EXPECT_EQ(a.region, 2);
  ASSERT_EQ(a.addresses.size(), 1u);
  PolicyAnswer b = Choose("2001:db8:3::5", 6);
  EXPECT_EQ(b.client_region, 2);
  EXPECT_EQ(b.scope_prefix, 48);
}

TEST(PolicyTest, NoAddressesOfTheFamilyMeansNoAnswerAndNoFailOpen) {
  AnswerPolicy policy({{"a", 0, 0, {Ip("127.0.0.1")}, {}}}, 0, 0);
  Health health(policy.address_count());
  PolicyAnswer a;
  policy.Choose(Ip("10.0.0.1"), 6, health.view(), &a);
  EXPECT_TRUE(a.addresses.empty());
  EXPECT_FALSE(a.fail_open);
}

// A client holding the answer when its region stops tries the
// next addresses; they belong to the next-nearest healthy regions.
TEST(PolicyFallbackTest, NextNearestRegionsFollowTheAnsweringRegion) {
  AnswerPolicy policy(testing::ThreeRegions(), 51.5, -0.1, {.fallback_addresses = 2});
  Health health(policy.address_count());
  PolicyAnswer a;
  policy.Choose(Ip("10.1.0.1"), 4, health.view(), &a);
  // us-east's lb, then us-west's two (3,900 km), not eu-west's (5,450 km).
  ASSERT_EQ(a.addresses.size(), 3u);
  EXPECT_EQ(a.addresses[0], policy.AddressIndex(0, 0));
  EXPECT_EQ(a.addresses[1], policy.AddressIndex(1, 0));
  EXPECT_EQ(a.addresses[2], policy.AddressIndex(1, 1));
  EXPECT_EQ(a.region, 0);
  EXPECT_EQ(a.fallback_count, 2);
  EXPECT_FALSE(a.failover);
  // The limit spans regions when the nearest has too few healthy ones.
  health.flags[policy.AddressIndex(1, 1)] = false;
  policy.Choose(Ip("10.1.0.1"), 4, health.view(), &a);
  ASSERT_EQ(a.addresses.size(), 3u);
  EXPECT_EQ(a.addresses[1], policy.AddressIndex(1, 0));
  EXPECT_EQ(a.addresses[2], policy.AddressIndex(2, 0)) << "eu-west's IPv4 lb, never a dead one";
}

TEST(PolicyFallbackTest, AFailedOverAnswerKeepsFallbacksAndNamesNoDeadAddress) {
  AnswerPolicy policy(testing::ThreeRegions(), 51.5, -0.1, {.fallback_addresses = 1});
  Health health(policy.address_count());
  health.flags[policy.AddressIndex(0, 0)] = false;  // us-east stopped
  PolicyAnswer a;
  policy.Choose(Ip("10.1.0.1"), 4, health.view(), &a);
  ASSERT_EQ(a.addresses.size(), 3u);
  EXPECT_EQ(a.region, 1);
  EXPECT_TRUE(a.failover);
  EXPECT_EQ(policy.RegionOfAddress(a.addresses[0]), 1);
  EXPECT_EQ(policy.RegionOfAddress(a.addresses[1]), 1);
  EXPECT_EQ(a.addresses[2], policy.AddressIndex(2, 0));
  EXPECT_EQ(a.fallback_count, 1);
  // us-west's clients: us-east is their nearest but dead, so eu-west follows.
  policy.Choose(Ip("10.2.0.1"), 4, health.view(), &a);
  ASSERT_EQ(a.addresses.size(), 3u);
  EXPECT_EQ(a.addresses[2], policy.AddressIndex(2, 0));
}

TEST(PolicyFallbackTest, OffByDefaultAndNoneWhenFailingOpen) {
  AnswerPolicy plain(testing::ThreeRegions(), 51.5, -0.1);
  Health health(plain.address_count());
  PolicyAnswer a;
  plain.Choose(Ip("10.1.0.1"), 4, health.view(), &a, 1);
  EXPECT_EQ(a.addresses, std::vector<int>{plain.AddressIndex(0, 0)});
  EXPECT_EQ(a.fallback_count, 0);
  AnswerPolicy with(testing::ThreeRegions(), 51.5, -0.1, {.fallback_addresses = 8});
  for (int i = 0; i < with.address_count(); ++i) health.flags[i] = false;
  with.Choose(Ip("10.1.0.1"), 4, health.view(), &a);
  EXPECT_TRUE(a.fail_open);
  EXPECT_EQ(a.addresses.size(), 4u);
  EXPECT_EQ(a.fallback_count, 0);
}

TEST(PolicyFallbackTest, RotationSpreadsARegionsAddressesAndKeepsRegionsInOrder) {
  AnswerPolicy policy(testing::ThreeRegions(), 51.5, -0.1,
                      {.fallback_addresses = 1, .rotate = true});
  Health health(policy.address_count());
  PolicyAnswer a;
  int first_is_lb2 = 0;
  for (uint32_t id = 0; id < 10; ++id) {
    policy.Choose(Ip("10.2.0.1"), 4, health.view(), &a, id);
    ASSERT_EQ(a.addresses.size(), 3u);
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[0]), 1);
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[1]), 1);
    EXPECT_NE(a.addresses[0], a.addresses[1]);
    EXPECT_EQ(a.addresses[2], policy.AddressIndex(0, 0)) << "us-east after us-west";
    first_is_lb2 += a.addresses[0] == policy.AddressIndex(1, 1);
  }
  EXPECT_EQ(first_is_lb2, 5) << "the query id picks the first address";
  // Without rotation: config order whatever the id.
  AnswerPolicy fixed(testing::ThreeRegions(), 51.5, -0.1, {.fallback_addresses = 1});
  fixed.Choose(Ip("10.2.0.1"), 4, health.view(), &a, 1);
  EXPECT_EQ(a.addresses[0], fixed.AddressIndex(1, 0));
}

}  // namespace
}  // namespace nines::dns
