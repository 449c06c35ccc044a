// The wire format: name decompression against hostile input, query parsing
// (EDNS0, Client Subnet validation), and message building with compression.
#include <gtest/gtest.h>

#include "dns/dns_constants.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"
#include "dns/writer.h"

namespace nines::dns {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

std::vector<uint8_t> Header(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  return Bytes({0x12, 0x34, flags >> 8, flags & 0xFF, 0, qd, 0, an, 0, ns, 0, ar});
}

std::string Wire(std::string_view text) {
  std::string w;
  EXPECT_TRUE(NameFromText(text, &w));
  return w;
}

TEST(NameTest, TextRoundTrip) {
  EXPECT_EQ(Wire("www.Shop.test."), std::string("\3www\4shop\4test\0", 15));
  EXPECT_EQ(NameToText(Wire("www.shop.test")), "www.shop.test.");
  EXPECT_EQ(NameToText(Wire(".")), ".");
  std::string w;
  EXPECT_FALSE(NameFromText("a..b", &w));
  EXPECT_FALSE(NameFromText(std::string(64, 'a'), &w));
}

TEST(NameTest, RelativeLengthFollowsLabelBoundaries) {
  std::string zone = Wire("shop.test");
  EXPECT_EQ(RelativeLength(Wire("SHOP.test"), zone), 0);
  EXPECT_EQ(RelativeLength(Wire("www.shop.test"), zone), 4);
  EXPECT_EQ(RelativeLength(Wire("xshop.test"), zone), -1);
  EXPECT_EQ(RelativeLength(Wire("test"), zone), -1);
  EXPECT_EQ(RelativeLength(Wire("shop.example"), zone), -1);
}

TEST(NameTest, DecompressesBackwardPointer) {
  std::vector<uint8_t> m = Header(0, 0, 0, 0, 0);
  std::string shop = Wire("shop.test");
  m.insert(m.end(), shop.begin(), shop.end());  // at 12
  for (int b : std::initializer_list<int>{3, 'w', 'w', 'w', 0xC0, 12})
    m.push_back(static_cast<uint8_t>(b));  // at 23
  size_t pos = 23;
  std::string out;
  ASSERT_TRUE(ReadName(m, &pos, &out));
  EXPECT_EQ(out, Wire("www.shop.test"));
  EXPECT_EQ(pos, m.size());
}

TEST(NameTest, RejectsLoopsForwardPointersAndHeaderPointers) {
  std::vector<uint8_t> self = Header(0, 0, 0, 0, 0);
  for (int b : std::initializer_list<int>{0xC0, 12})
    self.push_back(static_cast<uint8_t>(b));  // points at itself
  size_t pos = 12;
  std::string out;
  EXPECT_FALSE(ReadName(self, &pos, &out));

  std::vector<uint8_t> pair = Header(0, 0, 0, 0, 0);
  for (int b : std::initializer_list<int>{1, 'a', 0xC0, 16, 1, 'b', 0xC0, 12})
    pair.push_back(static_cast<uint8_t>(b));
  pos = 12;  // a -> forward pointer to b -> back to a: a loop via a forward jump
  EXPECT_FALSE(ReadName(pair, &pos, &out));

  std::vector<uint8_t> header = Header(0, 0, 0, 0, 0);
  for (int b : std::initializer_list<int>{0xC0, 2}) header.push_back(static_cast<uint8_t>(b));
  pos = 12;
  EXPECT_FALSE(ReadName(header, &pos, &out));
}

TEST(NameTest, RejectsOverlongAndTruncatedNames) {
  std::vector<uint8_t> m = Header(0, 0, 0, 0, 0);
  for (int i = 0; i < 5; ++i) {  // 5 * 64 = 320 > 255
    m.push_back(63);
    m.insert(m.end(), 63, 'a');
  }
  m.push_back(0);
  size_t pos = 12;
  std::string out;
  EXPECT_FALSE(ReadName(m, &pos, &out));

  std::vector<uint8_t> cut = Header(0, 0, 0, 0, 0);
  for (int b : std::initializer_list<int>{5, 'a', 'b'}) cut.push_back(static_cast<uint8_t>(b));
  pos = 12;
  EXPECT_FALSE(ReadName(cut, &pos, &out));

  std::vector<uint8_t> reserved = Header(0, 0, 0, 0, 0);
  for (int b : std::initializer_list<int>{0x41, 'a', 0})
    reserved.push_back(static_cast<uint8_t>(b));
  pos = 12;
  EXPECT_FALSE(ReadName(reserved, &pos, &out));
}

TEST(QueryTest, ParsesPlainQuery) {
  std::string name;
  ASSERT_TRUE(NameFromText("Shop.Test", &name, /*keep_case=*/true));
  std::vector<uint8_t> p = BuildQuery(7, name, kTypeA, 0, nullptr, true);
  Query q;
  ASSERT_EQ(ParseQuery(p, &q), ParseResult::kOk);
  EXPECT_EQ(q.id, 7);
  EXPECT_TRUE(q.flags & kFlagRd);
  EXPECT_EQ(q.name, std::string("\4Shop\4Test\0", 11));  // case preserved
  EXPECT_EQ(q.qtype, kTypeA);
  EXPECT_FALSE(q.edns.present);
}

TEST(QueryTest, ParsesEdnsAndClientSubnet) {
  ClientSubnet ecs;
  ecs.family = 1;
  ecs.source_prefix = 24;
  ecs.address = {10, 2, 0};
  std::vector<uint8_t> p = BuildQuery(1, Wire("shop.test"), kTypeA, 4096, &ecs);
  Query q;
  ASSERT_EQ(ParseQuery(p, &q), ParseResult::kOk);
  EXPECT_TRUE(q.edns.present);
  EXPECT_EQ(q.edns.udp_size, 4096);
  ASSERT_TRUE(q.edns.has_client_subnet);
  EXPECT_EQ(q.edns.client_subnet.source_prefix, 24);
  EXPECT_EQ(q.edns.client_subnet.address[1], 2);
}

TEST(QueryTest, ClientSubnetValidation) {
  ClientSubnet out;
  // family 1, /24, 3 address bytes: fine.
  EXPECT_TRUE(ParseClientSubnet(Bytes({0, 1, 24, 0, 10, 2, 0}), &out));
  // bits beyond the prefix: 10.2.0.1/24 sent as 4 bytes -> too many octets.
  EXPECT_FALSE(ParseClientSubnet(Bytes({0, 1, 24, 0, 10, 2, 0, 1}), &out));
  // /23 with the 24th bit set.
  EXPECT_FALSE(ParseClientSubnet(Bytes({0, 1, 23, 0, 10, 2, 1}), &out));
  // too few octets
  EXPECT_FALSE(ParseClientSubnet(Bytes({0, 1, 24, 0, 10, 2}), &out));
  // prefix longer than the family allows
  EXPECT_FALSE(ParseClientSubnet(Bytes({0, 1, 33, 0, 10, 2, 0, 1, 0}), &out));
  // unknown family
  EXPECT_FALSE(ParseClientSubnet(Bytes({0, 3, 0, 0}), &out));
  // IPv6 /56
  EXPECT_TRUE(ParseClientSubnet(Bytes({0, 2, 56, 0, 0x20, 1, 0x0d, 0xb8, 0, 0, 0}), &out));
  EXPECT_EQ(out.family, 2);
  // source 0, no address
  EXPECT_TRUE(ParseClientSubnet(Bytes({0, 1, 0, 0}), &out));
}

TEST(QueryTest, MalformedQueriesAreFormErr) {
  Query q;
  std::vector<uint8_t> good = BuildQuery(1, Wire("shop.test"), kTypeA, 1232, nullptr);
  // Trailing garbage.
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(ParseQuery(trailing, &q), ParseResult::kFormErr);
  // No question.
  EXPECT_EQ(ParseQuery(Header(0, 0, 0, 0, 0), &q), ParseResult::kFormErr);
  // Two questions.
  std::vector<uint8_t> two = good;
  two[5] = 2;
  EXPECT_EQ(ParseQuery(two, &q), ParseResult::kFormErr);
  // Records in the answer section of a query.
  std::vector<uint8_t> answer = good;
  answer[7] = 1;
  EXPECT_EQ(ParseQuery(answer, &q), ParseResult::kFormErr);
  // Two OPT records.
  std::vector<uint8_t> two_opt = good;
  two_opt[11] = 2;
  two_opt.insert(two_opt.end(), good.end() - 11, good.end());
  EXPECT_EQ(ParseQuery(two_opt, &q), ParseResult::kFormErr);
  // QTYPE OPT.
  std::vector<uint8_t> qopt = BuildQuery(1, Wire("shop.test"), kTypeOpt, 0, nullptr);
  EXPECT_EQ(ParseQuery(qopt, &q), ParseResult::kFormErr);
}

TEST(QueryTest, DropsShortPacketsAndResponses) {
  Query q;
  EXPECT_EQ(ParseQuery(Bytes({1, 2, 3}), &q), ParseResult::kDrop);
  std::vector<uint8_t> response = BuildQuery(1, Wire("shop.test"), kTypeA, 0, nullptr);
  response[2] |= 0x80;
  EXPECT_EQ(ParseQuery(response, &q), ParseResult::kDrop);
}

TEST(QueryTest, OtherOpcodeIsNotImpAndVersionOneIsBadVers) {
  Query q;
  std::vector<uint8_t> notify = BuildQuery(1, Wire("shop.test"), kTypeSoa, 0, nullptr);
  notify[2] |= 4 << 3;  // opcode 4 NOTIFY
  EXPECT_EQ(ParseQuery(notify, &q), ParseResult::kNotImp);
  EXPECT_EQ(q.opcode, 4);
  notify.push_back(0);  // a malformed message is FORMERR whatever its opcode
  EXPECT_EQ(ParseQuery(notify, &q), ParseResult::kFormErr);
  std::vector<uint8_t> v1 = BuildQuery(1, Wire("shop.test"), kTypeA, 1232, nullptr);
  v1[v1.size() - 5] = 1;  // OPT TTL: ext-rcode, VERSION, flags; then RDLENGTH
  EXPECT_EQ(ParseQuery(v1, &q), ParseResult::kBadVers);
}

TEST(WriterTest, CompressesRepeatedSuffixes) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 512);
  w.SetHeader(1, kFlagQr);
  ASSERT_TRUE(w.AddQuestion(Wire("www.shop.test"), kTypeNs, kClassIn));
  size_t after_question = w.size();
  ASSERT_TRUE(
      w.AddNameRecord(Section::kAnswer, Wire("www.shop.test"), kTypeNs, 10, Wire("ns1.shop.test")));
  w.Finish();
  // owner: 2-byte pointer; rdata: "ns1" label + pointer = 6 bytes.
  EXPECT_EQ(out.size() - after_question, 2u + 10u + 6u);
  auto m = DecodeMessage(out);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].name, Wire("www.shop.test"));
  EXPECT_EQ(m->answers[0].target, Wire("ns1.shop.test"));
}

TEST(WriterTest, RefusesRecordsBeyondTheLimitAndRollsBack) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 58);
  w.SetHeader(1, kFlagQr);
  ASSERT_TRUE(w.AddQuestion(Wire("shop.test"), kTypeA, kClassIn));
  uint8_t addr[4] = {127, 0, 0, 1};
  int written = 0;
  while (w.AddAddress(Section::kAnswer, Wire("shop.test"), 10, addr)) ++written;
  EXPECT_EQ(written, 1);  // 12 + 15 + 16 = 43; a second record would end at 59
  w.Finish();
  EXPECT_LE(out.size(), 58u);
  auto m = DecodeMessage(out);
  ASSERT_TRUE(m);
  EXPECT_EQ(static_cast<int>(m->answers.size()), written);
}

TEST(WriterTest, OptCarriesExtendedRcodeAndSubnet) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 512);
  w.SetHeader(9, kFlagQr);
  ASSERT_TRUE(w.AddQuestion(Wire("shop.test"), kTypeA, kClassIn));
  ClientSubnet ecs;
  ecs.family = 1;
  ecs.source_prefix = 24;
  ecs.scope_prefix = 16;
  ecs.address = {10, 2, 0};
  ASSERT_TRUE(w.AddOpt(1232, kRcodeBadVers, false, &ecs));
  w.Finish();
  auto m = DecodeMessage(out);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rcode, kRcodeBadVers);
  ASSERT_TRUE(m->has_client_subnet);
  EXPECT_EQ(m->client_subnet.scope_prefix, 16);
  EXPECT_EQ(m->opt_udp_size, 1232);
}

}  // namespace
}  // namespace nines::dns
