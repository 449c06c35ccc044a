// Acceptance 3: 100,000 random and mutated packets against a running
// `nines dns`. It must keep answering valid queries, never crash, and answer
// a malformed packet with FORMERR or not at all. "Malformed" is judged by an
// oracle written here independently of the server's parser.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <random>

#include "dns/dns_constants.h"
#include "dns/name.h"
#include "dns_test_net.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::dns {
namespace {

constexpr int kPackets = 100000;
constexpr const char* kServerHost = "127.0.78.1";

std::string Wire(std::string_view text) {
  std::string w;
  NameFromText(text, &w);
  return w;
}

// Structural validity: every name, question and record in bounds, names
// within RFC 1035 limits, compression pointers pointing backwards, nothing
// after the last record. Semantics (counts, OPT rules) are not judged: the
// server may answer FORMERR for those, which is always allowed.
bool ReadNameOracle(const std::vector<uint8_t>& p, size_t* pos) {
  size_t at = *pos;
  size_t total = 0;
  bool jumped = false;
  for (int hops = 0; hops < 256; ++hops) {
    if (at >= p.size()) return false;
    uint8_t len = p[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 1 >= p.size()) return false;
      size_t target = ((len & 0x3F) << 8) | p[at + 1];
      if (target >= at) return false;
      if (!jumped) *pos = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if (len & 0xC0) return false;
    total += 1 + len;
    if (total > 255) return false;
    if (len == 0) {
      if (!jumped) *pos = at + 1;
      return true;
    }
    at += 1 + len;
  }
  return false;
}

bool StructurallyValid(const std::vector<uint8_t>& p) {
  if (p.size() < 12) return false;
  auto count = [&](int i) { return (p[4 + 2 * i] << 8) | p[5 + 2 * i]; };
  size_t pos = 12;
  for (int q = 0; q < count(0); ++q) {
    if (!ReadNameOracle(p, &pos) || pos + 4 > p.size()) return false;
    pos += 4;
  }
  int records = count(1) + count(2) + count(3);
  for (int r = 0; r < records; ++r) {
    if (!ReadNameOracle(p, &pos) || pos + 10 > p.size()) return false;
    size_t rdlength = (p[pos + 8] << 8) | p[pos + 9];
    pos += 10;
    if (pos + rdlength > p.size()) return false;
    pos += rdlength;
  }
  return pos == p.size();
}

std::vector<std::vector<uint8_t>> Seeds() {
  ClientSubnet v4;
  v4.family = 1;
  v4.source_prefix = 24;
  v4.address = {10, 2, 0};
  ClientSubnet v6;
  v6.family = 2;
  v6.source_prefix = 48;
  v6.address = {0x20, 0x01, 0x0d, 0xb8, 0, 3};
  return {
      BuildQuery(1, Wire("shop.test"), kTypeA, 0, nullptr),
      BuildQuery(1, Wire("www.shop.test"), kTypeAaaa, 1232, nullptr),
      BuildQuery(1, Wire("shop.test"), kTypeA, 4096, &v4),
      BuildQuery(1, Wire("shop.test"), kTypeAaaa, 1232, &v6),
      BuildQuery(1, Wire("shop.test"), kTypeSoa, 1232, nullptr),
      BuildQuery(1, Wire("shop.test"), kTypeNs, 0, nullptr),
      BuildQuery(1, Wire("no.such.name.shop.test"), kTypeA, 0, nullptr),
      BuildQuery(1, Wire("example.com"), kTypeMx, 0, nullptr),
  };
}

std::vector<uint8_t> Mutate(std::vector<uint8_t> p, std::mt19937& rng) {
  static const uint8_t kInteresting[] = {0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xC0, 0xFF};
  int ops = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < ops; ++i) {
    size_t at = p.empty() ? 0 : rng() % p.size();
    switch (rng() % 7) {
      case 0:
        if (!p.empty()) p[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!p.empty()) p[at] = kInteresting[rng() % std::size(kInteresting)];
        break;
      case 2:
        p.insert(p.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
        break;
      case 3:
        if (!p.empty()) p.erase(p.begin() + static_cast<long>(at));
        break;
      case 4:
        p.resize(at);
        break;
      case 5:  // a compression pointer somewhere
        if (p.size() > 1 && at + 1 < p.size()) {
          p[at] = static_cast<uint8_t>(0xC0 | (rng() % 2));
          p[at + 1] = static_cast<uint8_t>(rng());
        }
        break;
      case 6:  // a count field
        if (p.size() >= 12) p[4 + rng() % 8] = static_cast<uint8_t>(rng() % 4);
        break;
    }
  }
  return p;
}

std::vector<uint8_t> RandomPacket(std::mt19937& rng) {
  std::vector<uint8_t> p(rng() % 300);
  for (uint8_t& b : p) b = static_cast<uint8_t>(rng());
  if (p.size() >= 12 && rng() % 2) {  // a plausible header gets the parser further
    p[2] &= 0x07;
    p[4] = 0;
    p[5] = 1;
    for (int i = 6; i < 12; ++i) p[i] = 0;
  }
  return p;
}

TEST(DnsGarbageTest, SurvivesAndAnswersMalformedPacketsOnlyWithFormErr) {
  std::string dir = test::TestDir("dns_garbage");
  uint16_t port = testing::FreePort(kServerHost);
  uint16_t admin = testing::FreePort(kServerHost);
  uint16_t check = testing::FreePort("127.0.78.2");  // nothing listens: the region is down
  std::string config = fmt::format(
      "listen = \"{0}:{1}\"\nadmin = \"{0}:{2}\"\nzone = \"shop.test.\"\nnames = [\"www\"]\n"
      "[health]\ninterval_ms = 1000\ntimeout_ms = 200\n"
      "[[region]]\nname = \"a\"\nlocation = [1, 2]\naddresses = [\"127.0.78.2\", \"::1\"]\n"
      "check_port = {3}\nnetworks = [\"10.2.0.0/16\"]\n",
      kServerHost, port, admin, check);
  test::WriteFile(dir + "/dns.toml", config);
  test::ChildProcess server({test::NinesBinary(), "dns", "--config", dir + "/dns.toml"},
                            dir + "/server.log");
  testing::DnsClient client("127.0.0.1", kServerHost, port);
  std::vector<uint8_t> valid = BuildQuery(4242, Wire("shop.test"), kTypeA, 0, nullptr);
  auto answers_valid = [&] {
    auto m = client.QueryUdp(valid, 500);
    return m && m->id == 4242 && m->rcode == kRcodeNoError && m->answers.size() == 1;
  };
  ASSERT_TRUE(test::WaitUntil(answers_valid, 10000)) << server.Log();

  std::mt19937 rng(20261125);
  std::vector<std::vector<uint8_t>> seeds = Seeds();
  int answered = 0, silent = 0, formerr = 0, dropped_by_design = 0;
  for (int i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> p =
        (i % 2 == 0) ? RandomPacket(rng) : Mutate(seeds[rng() % seeds.size()], rng);
    if (p.size() >= 2) {  // a fresh id so late replies cannot be confused
      p[0] = static_cast<uint8_t>(i >> 8);
      p[1] = static_cast<uint8_t>(i);
    }
    bool expect_silence = p.size() < 12 || (p[2] & 0x80);  // too short, or a response
    if (expect_silence) {  // send without waiting; any reply shows up as stale later
      client.ExchangeUdp(p, 0);
      ++dropped_by_design;
      continue;
    }
    auto reply = client.ExchangeUdp(p, 300);
    if (!reply) {
      ++silent;
      continue;
    }
    ++answered;
    auto m = DecodeMessage(*reply);
    ASSERT_TRUE(m) << "undecodable response to packet #" << i;
    ASSERT_LE(reply->size(), 1232u);
    if (m->rcode == kRcodeFormErr) {
      ++formerr;
    } else {
      ASSERT_TRUE(StructurallyValid(p))
          << "packet #" << i << " is malformed but got rcode " << m->rcode;
    }
    if (i % 10000 == 0) {
      ASSERT_TRUE(answers_valid()) << "stopped answering valid queries after packet #" << i;
    }
  }
  EXPECT_TRUE(answers_valid());
  EXPECT_TRUE(server.running());
  // Packets it must drop got no reply (a stale reply could only be a late one).
  EXPECT_LE(client.stale_replies(), silent);
  std::cerr << fmt::format(
      "{} packets: {} answered ({} FORMERR), {} unanswered, {} dropped by design\n", kPackets,
      answered, formerr, silent, dropped_by_design);
  EXPECT_GT(formerr, kPackets / 10);  // the flood really exercised the error paths
  EXPECT_EQ(server.Stop(SIGTERM, 5000), 0) << server.Log();
}

}  // namespace
}  // namespace nines::dns
