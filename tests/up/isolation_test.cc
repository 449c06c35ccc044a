// iptables isolation on a chain of this test's own (NINES-T187) and
// addresses 127.0.187.7x: a chain left behind by a `nines up` that was
// killed is removed by the next run's RemoveAll (called at start and at
// exit), and heal removes the rules of an address isolated by that earlier
// run. Needs root and iptables; cleans up its chain whatever happens.
#include "up/isolation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace nines::up {
namespace {

constexpr const char* kChain = "NINES-T187";

std::string Run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return out;
}

std::string ChainRules() {
  return Run(std::string("iptables -w -S ") + kChain + " 2>/dev/null");
}

bool JumpFrom(const char* hook) {
  return Run(std::string("iptables -w -S ") + hook).find(std::string("-j ") + kChain) !=
         std::string::npos;
}

void RemoveChain() {
  for (const char* hook : {"INPUT", "OUTPUT"}) {
    while (RunIptables({"-D", hook, "-j", kChain}) == 0) {
    }
  }
  RunIptables({"-F", kChain});
  RunIptables({"-X", kChain});
}

// What a `nines up` killed with SIGKILL leaves: the chain, both jumps, and
// DROP rules for `ip`.
void Leftover(const std::string& ip) {
  RunIptables({"-N", kChain});
  RunIptables({"-I", "INPUT", "-j", kChain});
  RunIptables({"-I", "OUTPUT", "-j", kChain});
  RunIptables({"-A", kChain, "-s", ip, "-j", "DROP"});
  RunIptables({"-A", kChain, "-d", ip, "-j", "DROP"});
}

struct IsolationTest : ::testing::Test {
  void SetUp() override {
    if (geteuid() != 0 || RunIptables({"-S", "INPUT"}) != 0) {
      GTEST_SKIP() << "needs root and iptables";
    }
    RemoveChain();
  }
  void TearDown() override {
    if (geteuid() == 0) RemoveChain();
  }
};

TEST_F(IsolationTest, LeftoverChainIsRemoved) {
  Leftover("127.0.187.77");
  ASSERT_NE(ChainRules().find("127.0.187.77"), std::string::npos);
  Isolation isolation(kChain);
  isolation.RemoveAll();
  EXPECT_EQ(ChainRules(), "") << "the chain of an earlier run is still there";
  EXPECT_FALSE(JumpFrom("INPUT"));
  EXPECT_FALSE(JumpFrom("OUTPUT"));
}

TEST_F(IsolationTest, HealRemovesTheRulesOfAnEarlierRun) {
  Leftover("127.0.187.78");
  Isolation isolation(kChain);
  EXPECT_TRUE(isolation.Heal("127.0.187.78").ok());
  EXPECT_EQ(ChainRules().find("127.0.187.78"), std::string::npos) << ChainRules();
}

TEST_F(IsolationTest, IsolateThenHeal) {
  Isolation isolation(kChain);
  ASSERT_TRUE(isolation.Isolate("127.0.187.79").ok());
  EXPECT_NE(ChainRules().find("127.0.187.79"), std::string::npos);
  EXPECT_TRUE(JumpFrom("INPUT"));
  EXPECT_TRUE(isolation.Heal("127.0.187.79").ok());
  EXPECT_EQ(ChainRules().find("127.0.187.79"), std::string::npos);
}

}  // namespace
}  // namespace nines::up
