// The answer policy: longest prefix match, nearest healthy failover by
// great-circle distance, default location, fail open, ECS scope.
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
  EXPECT_EQ(ParseIpPrefix("10.1.0.0/16", &p), "");
  EXPECT_EQ(p.length, 16);
  EXPECT_NE(ParseIpPrefix("10.1.0.1/16", &p), "");
  EXPECT_NE(ParseIpPrefix("10.1.0.0/33", &p), "");
  EXPECT_NE(ParseIpPrefix("10.1.0.0", &p), "");
  EXPECT_EQ(ParseIpPrefix("2001:db8::/32", &p), "");
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

}  // namespace
}  // namespace nines::dns
