// The authoritative responder: flags, rcodes, SOA/NS, NXDOMAIN vs NODATA,
// REFUSED, NOTIMP, BADVERS, FORMERR, ECS echo with scope, TC, case.
#include "dns/responder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dns/dns_constants.h"
#include "dns/message.h"
#include "dns/name.h"
#include "test_zone.h"

namespace nines::dns {
namespace {

using testing::Ip;
using testing::Wire;

class ResponderTest : public ::testing::Test {
 protected:
  ResponderTest() : zone(testing::TestZone()), health(zone.policy.address_count()) {}

  Message Ask(const std::vector<uint8_t>& packet, const char* source = "10.1.0.9",
              Transport transport = Transport::kUdp) {
    std::vector<uint8_t> out;
    bool answered = Respond(zone, health.view(), packet, Ip(source), transport, &out, &info);
    EXPECT_TRUE(answered);
    auto m = DecodeMessage(out);
    EXPECT_TRUE(m) << "response does not decode";
    if (transport == Transport::kUdp) {
      Query q;
      ParseQuery(packet, &q);
      EXPECT_LE(out.size(), MaxUdpResponse(q.edns));
    }
    return m.value_or(Message());
  }
  Message Ask(std::string_view name, uint16_t type, uint16_t edns = 0,
              const ClientSubnet* ecs = nullptr, const char* source = "10.1.0.9") {
    return Ask(BuildQuery(77, Wire(name), type, edns, ecs, true), source);
  }

  Zone zone;
  testing::Health health;
  ResponseInfo info;
};

std::string A(const Record& r) {
  return fmt::format("{}.{}.{}.{}", r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3]);
}

TEST_F(ResponderTest, ApexAnswersWithTheClientsRegion) {
  Message m = Ask("shop.test", kTypeA);
  EXPECT_EQ(m.id, 77);
  EXPECT_EQ(m.rcode, kRcodeNoError);
  EXPECT_TRUE(m.flags & kFlagQr);
  EXPECT_TRUE(m.flags & kFlagAa);
  EXPECT_TRUE(m.flags & kFlagRd);   // copied from the query
  EXPECT_FALSE(m.flags & kFlagRa);  // no recursion offered
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(A(m.answers[0]), "127.0.1.1");
  EXPECT_EQ(m.answers[0].ttl, 10u);
  EXPECT_FALSE(m.has_opt);
}

// The query id picks the first of a region's addresses when the zone
// rotates; the fallback region's addresses come last.
TEST_F(ResponderTest, RotatesByQueryIdAndListsFallbacksLast) {
  zone.policy =
      AnswerPolicy(testing::ThreeRegions(), 51.5, -0.1, {.fallback_addresses = 1, .rotate = true});
  std::vector<std::string> firsts;
  for (uint16_t id : {10, 11}) {
    Message m = Ask(BuildQuery(id, Wire("shop.test"), kTypeA, 0, nullptr, true), "10.2.0.9");
    ASSERT_EQ(m.answers.size(), 3u);
    firsts.push_back(A(m.answers[0]));
    EXPECT_EQ(A(m.answers[2]), "127.0.1.1");
  }
  EXPECT_NE(firsts[0], firsts[1]);
}

TEST_F(ResponderTest, QuestionKeepsTheQueryCase) {
  std::string name;
  ASSERT_TRUE(NameFromText("WwW.ShOp.TeSt", &name, /*keep_case=*/true));
  Message m = Ask(BuildQuery(1, name, kTypeA, 0, nullptr));
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].first, std::string("\3WwW\4ShOp\4TeSt\0", 15));
  EXPECT_EQ(m.answers.size(), 1u);
}

TEST_F(ResponderTest, ClientSubnetPicksTheRegionAndEchoesScope) {
  ClientSubnet ecs;
  ecs.family = 1;
  ecs.source_prefix = 24;
  ecs.address = {10, 2, 0};
  Message m = Ask("shop.test", kTypeA, 1232, &ecs);
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(A(m.answers[0]), "127.0.2.1");
  ASSERT_TRUE(m.has_client_subnet);
  EXPECT_EQ(m.client_subnet.source_prefix, 24);
  EXPECT_EQ(m.client_subnet.scope_prefix, 16);
  EXPECT_EQ(m.client_subnet.address[1], 2);
  EXPECT_EQ(m.opt_udp_size, kAdvertisedUdpSize);
}

TEST_F(ResponderTest, ZeroSourcePrefixUsesSourceAddressAndScopeZero) {
  ClientSubnet ecs;
  ecs.family = 1;
  Message m = Ask("shop.test", kTypeA, 1232, &ecs, "10.3.1.1");
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(A(m.answers[0]), "127.0.3.1");
  ASSERT_TRUE(m.has_client_subnet);
  EXPECT_EQ(m.client_subnet.scope_prefix, 0);
}

TEST_F(ResponderTest, BadClientSubnetIsFormErr) {
  std::vector<uint8_t> p = BuildQuery(5, Wire("shop.test"), kTypeA, 1232, nullptr);
  // Replace the empty OPT RDATA by an ECS option 10.2.1.0/24.
  p[p.size() - 1] = 11;
  for (int b : {0, 8, 0, 7, 0, 1, 24, 0, 10, 2, 1}) p.push_back(static_cast<uint8_t>(b));
  Message ok = Ask(p);
  EXPECT_EQ(ok.rcode, kRcodeNoError);
  p[p.size() - 5] = 23;  // /23 with the 24th bit set
  Message bad = Ask(p);
  EXPECT_EQ(bad.rcode, kRcodeFormErr);
  EXPECT_EQ(bad.id, 5);
  EXPECT_TRUE(bad.answers.empty());
}

TEST_F(ResponderTest, SoaAndNsAtTheApex) {
  Message soa = Ask("shop.test", kTypeSoa);
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].type, kTypeSoa);
  EXPECT_EQ(soa.answers[0].target, Wire("ns1.shop.test"));
  Message ns = Ask("shop.test", kTypeNs);
  ASSERT_EQ(ns.answers.size(), 2u);
  EXPECT_EQ(ns.answers[1].target, Wire("ns2.shop.test"));
  ASSERT_EQ(ns.additional.size(), 2u);  // glue
  EXPECT_EQ(A(ns.additional[1]), "127.0.0.2");
  Message glue = Ask("ns2.shop.test", kTypeA);
  ASSERT_EQ(glue.answers.size(), 1u);
  EXPECT_EQ(A(glue.answers[0]), "127.0.0.2");
}

TEST_F(ResponderTest, NxDomainAndNoDataCarryTheSoa) {
  Message nx = Ask("nope.shop.test", kTypeA);
  EXPECT_EQ(nx.rcode, kRcodeNxDomain);
  EXPECT_TRUE(nx.flags & kFlagAa);
  EXPECT_TRUE(nx.answers.empty());
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_EQ(nx.authority[0].type, kTypeSoa);
  Message nodata = Ask("shop.test", kTypeCname);
  EXPECT_EQ(nodata.rcode, kRcodeNoError);
  EXPECT_TRUE(nodata.answers.empty());
  ASSERT_EQ(nodata.authority.size(), 1u);
  // An empty non-terminal (v1.shop.test has api.v1 below it) exists: NODATA.
  Message ent = Ask("v1.shop.test", kTypeA);
  EXPECT_EQ(ent.rcode, kRcodeNoError);
  EXPECT_EQ(ent.authority.size(), 1u);
}

TEST_F(ResponderTest, OutsideTheZoneIsRefused) {
  Message m = Ask("example.com", kTypeA);
  EXPECT_EQ(m.rcode, kRcodeRefused);
  EXPECT_FALSE(m.flags & kFlagAa);
  EXPECT_TRUE(m.answers.empty());
  Message parent = Ask("test", kTypeA);
  EXPECT_EQ(parent.rcode, kRcodeRefused);
}

TEST_F(ResponderTest, OtherOpcodeIsNotImp) {
  std::vector<uint8_t> p = BuildQuery(3, Wire("shop.test"), kTypeSoa, 0, nullptr);
  p[2] |= 5 << 3;  // UPDATE
  Message m = Ask(p);
  EXPECT_EQ(m.rcode, kRcodeNotImp);
  EXPECT_EQ((m.flags >> 11) & 0xF, 5);
  EXPECT_FALSE(m.has_opt);
  std::vector<uint8_t> with_edns = BuildQuery(3, Wire("shop.test"), kTypeSoa, 1232, nullptr);
  with_edns[2] |= 4 << 3;  // NOTIFY
  Message n = Ask(with_edns);
  EXPECT_EQ(n.rcode, kRcodeNotImp);
  EXPECT_TRUE(n.has_opt);
}

TEST_F(ResponderTest, EdnsVersionOneIsBadVers) {
  std::vector<uint8_t> p = BuildQuery(3, Wire("shop.test"), kTypeA, 1232, nullptr);
  p[p.size() - 5] = 1;  // the OPT VERSION byte
  Message m = Ask(p);
  EXPECT_EQ(m.rcode, kRcodeBadVers);
  EXPECT_TRUE(m.has_opt);
  EXPECT_EQ(m.opt_version, 0);
  EXPECT_TRUE(m.answers.empty());
}

TEST_F(ResponderTest, GarbageIsFormErrOrSilence) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> short_packet = {1, 2, 3};
  EXPECT_FALSE(
      Respond(zone, health.view(), short_packet, Ip("10.1.0.1"), Transport::kUdp, &out, &info));
  std::vector<uint8_t> p = BuildQuery(3, Wire("shop.test"), kTypeA, 0, nullptr);
  p.push_back(0xFF);
  Message m = Ask(p);
  EXPECT_EQ(m.rcode, kRcodeFormErr);
  EXPECT_EQ(m.id, 3);
}

TEST_F(ResponderTest, TruncatesWhenTheAnswerDoesNotFit) {
  // A region with 40 addresses: 40 * 16 bytes does not fit in 512.
  std::vector<RegionSpec> regions = testing::ThreeRegions();
  for (int i = 0; i < 39; ++i) regions[0].addresses.push_back(Ip("127.0.1.1"));
  zone.policy = AnswerPolicy(regions, 0, 0);
  testing::Health big(zone.policy.address_count());
  std::vector<uint8_t> out;
  std::vector<uint8_t> q = BuildQuery(8, Wire("shop.test"), kTypeA, 0, nullptr);
  ASSERT_TRUE(Respond(zone, big.view(), q, Ip("10.1.0.1"), Transport::kUdp, &out, &info));
  auto udp = DecodeMessage(out);
  ASSERT_TRUE(udp);
  EXPECT_TRUE(udp->flags & kFlagTc);
  EXPECT_TRUE(udp->answers.empty());
  EXPECT_EQ(udp->questions.size(), 1u);
  EXPECT_LE(out.size(), 512u);
  // With EDNS 1232 it fits; over TCP always.
  std::vector<uint8_t> q2 = BuildQuery(8, Wire("shop.test"), kTypeA, 4096, nullptr);
  ASSERT_TRUE(Respond(zone, big.view(), q2, Ip("10.1.0.1"), Transport::kUdp, &out, &info));
  EXPECT_FALSE(DecodeMessage(out)->flags & kFlagTc);
  EXPECT_EQ(DecodeMessage(out)->answers.size(), 40u);
  ASSERT_TRUE(Respond(zone, big.view(), q, Ip("10.1.0.1"), Transport::kTcp, &out, &info));
  EXPECT_EQ(DecodeMessage(out)->answers.size(), 40u);
}

TEST_F(ResponderTest, AnyGetsTheRfc8482Answer) {
  Message m = Ask("shop.test", kTypeAny);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, kTypeHinfo);
}

TEST_F(ResponderTest, FailOpenIsReported) {
  for (size_t i = 0; i < health.size; ++i) health.flags[i] = false;
  Message m = Ask("shop.test", kTypeA);
  EXPECT_EQ(m.answers.size(), 4u);
  EXPECT_TRUE(info.policy.fail_open);
  EXPECT_TRUE(info.used_policy);
}

}  // namespace
}  // namespace nines::dns
