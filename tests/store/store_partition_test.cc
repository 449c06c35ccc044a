// `nines store` under a network partition: three
// members on 127.0.155.1/.2/.3; iptables rules in the test's own chain cut
// the leader off from the others. The old leader must step down on its own
// (check-quorum), the majority elects a leader and keeps taking writes, and
// after the cut heals the INCR counter equals the acknowledged INCRs.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

constexpr char kChain[] = "NINES-STORE-TEST";

bool Run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// Owns the chain kChain hooked into INPUT (loopback packets pass INPUT): the
// destructor removes the hook and the chain even when an assertion failed.
class FirewallGuard {
 public:
  // Empty string when usable, else why not (the test skips).
  static std::string Unavailable() {
    if (::geteuid() != 0) return "not root: iptables rules need root";
    if (!Run("command -v iptables")) return "iptables is not installed";
    if (!Run("iptables -w -L INPUT -n")) return "iptables does not work here (no netfilter?)";
    return "";
  }
  FirewallGuard() {
    Remove();  // a chain left over from a killed run
    ok_ = Run(std::string("iptables -w -N ") + kChain) &&
          Run(std::string("iptables -w -I INPUT -j ") + kChain);
  }
  ~FirewallGuard() { Remove(); }
  bool ok() const { return ok_; }
  // Drops packets between a and b, both ways.
  bool Cut(const std::string& a, const std::string& b) {
    return Run(std::string("iptables -w -A ") + kChain + " -s " + a + " -d " + b + " -j DROP") &&
           Run(std::string("iptables -w -A ") + kChain + " -s " + b + " -d " + a + " -j DROP");
  }
  bool Heal() { return Run(std::string("iptables -w -F ") + kChain); }

 private:
  static void Remove() {
    while (Run(std::string("iptables -w -D INPUT -j ") + kChain)) {
    }
    Run(std::string("iptables -w -F ") + kChain);
    Run(std::string("iptables -w -X ") + kChain);
  }
  bool ok_ = false;
};

int64_t ParseInteger(const std::string& reply) {
  if (reply.size() > 3 && reply[0] == '$') {
    size_t eol = reply.find("\r\n");
    return std::atoll(reply.substr(eol + 2).c_str());
  }
  return -1;
}

TEST(StorePartition, IsolatedLeaderStepsDownMajorityKeepsWritingNothingLost) {
  std::string why = FirewallGuard::Unavailable();
  if (!why.empty()) GTEST_SKIP() << "skipping the iptables partition test: " << why;
  const int election_ms = 300;
  StoreGroup g("partition", 155, 3, election_ms, /*distinct_hosts=*/true);
  FirewallGuard firewall;
  ASSERT_TRUE(firewall.ok()) << "cannot create iptables chain " << kChain;
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  std::vector<int> majority;
  for (int i : g.All()) {
    if (i != leader) majority.push_back(i);
  }

  // Writers: one per majority member, INCR through it (followers forward).
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> unknown{0};  // errors whose outcome is unknown (may have applied)
  std::vector<std::thread> writers;
  for (int w : majority) {
    writers.emplace_back([&, w] {
      RespClient c;
      while (!stop) {
        if (!ConnectUnlessStopped(g, w, c, stop)) continue;
        std::string reply = c.Call({"INCR", "counter"});
        if (!reply.empty() && reply[0] == ':') {
          ++acked;
        } else if (reply.empty() || reply.find("outcome unknown") != std::string::npos ||
                   reply.find("lost the connection") != std::string::npos) {
          ++unknown;
        }
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return acked.load() >= 20; }, 10000)) << "no writes before the cut";

  // Cut the leader off from both others.
  for (int i : majority) {
    ASSERT_TRUE(firewall.Cut(g.member(leader).host, g.member(i).host)) << "iptables -A failed";
  }
  int64_t cut_at = SteadyMs();
  // A write sent to the isolated leader must not be acknowledged (it cannot commit).
  std::string stale_reply;
  std::thread stale([&] {
    RespClient c;
    if (c.Connect(g.member(leader).host, g.member(leader).client)) {
      stale_reply = c.Call({"INCR", "counter"}, 8000);
    }
  });

  // The old leader steps down by itself (check-quorum): within an election
  // timeout of noticing; allow the randomized timeout plus slack.
  bool stepped_down = WaitUntil(
      [&] {
        auto s = g.Status(leader);
        return s && (*s)["role"] != "leader";
      },
      4 * election_ms + 1000, 10);
  int64_t step_down_ms = SteadyMs() - cut_at;
  EXPECT_TRUE(stepped_down) << "isolated leader still leader after " << step_down_ms << " ms";
  std::printf("isolated leader stepped down after %lld ms (election timeout %d ms)\n",
              static_cast<long long>(step_down_ms), election_ms);

  int next = g.WaitLeader(majority, 10000);
  ASSERT_GE(next, 0) << "the majority elected no leader";
  ASSERT_NE(next, leader);
  int64_t at_election = acked.load();
  EXPECT_TRUE(WaitUntil([&] { return acked.load() >= at_election + 50; }, 10000))
      << "the majority does not take writes during the cut";
  stale.join();
  EXPECT_NE(stale_reply.rfind(":", 0), 0u) << "the isolated leader acknowledged " << stale_reply;

  // Heal; writes continue; the old leader catches up.
  ASSERT_TRUE(firewall.Heal());
  int64_t at_heal = acked.load();
  EXPECT_TRUE(WaitUntil([&] { return acked.load() >= at_heal + 50; }, 10000))
      << "writes stalled after the heal";
  stop = true;
  for (std::thread& t : writers) t.join();

  // Nothing lost, nothing duplicated: the counter equals the acknowledged
  // INCRs (plus at most the ones whose outcome was unknown), on every member.
  int64_t want = acked.load();
  for (int i : g.All()) {
    int64_t seen = -1;
    WaitUntil(
        [&] {
          seen = ParseInteger(LocalGet(g, i, "counter"));
          return seen >= want && g.Status(i) &&
                 (*g.Status(i))["applied"] == (*g.Status(next))["applied"];
        },
        10000, 50);
    EXPECT_GE(seen, want) << "member " << i << " lost acknowledged INCRs";
    EXPECT_LE(seen, want + unknown.load()) << "member " << i << " has duplicated INCRs";
  }
  std::printf("acknowledged INCRs %lld, outcome unknown %lld\n", static_cast<long long>(want),
              static_cast<long long>(unknown.load()));
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(next).host, g.member(next).client));
  if (unknown.load() == 0) {
    EXPECT_EQ(c.Call({"GET", "counter"}), Bulk(std::to_string(want)));
  }
}

}  // namespace
}  // namespace nines::test
