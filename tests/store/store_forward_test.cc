// Requests a follower forwards to the leader, with real
// processes on 127.0.173.1-3 and 127.0.174.1-3 and iptables rules in the
// test's own chain: after a cut between a follower and the leader, the
// follower's clients get an answer within the request timeout (not when TCP
// gives up), and a request stuck on the old leader does not hold back the
// requests that follow it once another member leads, nor is overtaken by
// them when the forwarding member itself becomes the leader.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <iterator>

#include <string>
#include <thread>
#include <vector>

#include "store/firewall_guard.h"
#include "store/store_cluster.h"

namespace nines::test {
namespace {

constexpr char kChain[] = "NINES-STORE-FWD";
constexpr int kElectionMs = 300;
constexpr int kRequestTimeoutMs = 2000;  // the store's default request_timeout_ms
// The client waits this long: the request timeout plus generous slack for a
// loaded machine, still far below TCP's retransmission give-up (minutes).
constexpr int kClientWaitMs = kRequestTimeoutMs + 6000;

bool IsError(const std::string& reply, const std::string& prefix) {
  return reply.rfind("-" + prefix, 0) == 0;
}

TEST(StoreForward, PartitionedFollowerAnswersWithinTheRequestTimeout) {
  std::string why = FirewallGuard::Unavailable();
  if (!why.empty()) GTEST_SKIP() << "skipping the iptables test: " << why;
  StoreGroup g("forward_cut", 173, 3, kElectionMs, /*distinct_hosts=*/true);
  FirewallGuard firewall(kChain);
  ASSERT_TRUE(firewall.ok()) << "cannot create iptables chain " << kChain;
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  int follower = (leader + 1) % 3;

  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(follower).host, g.member(follower).client));
  // Opens the follower's forwarding connection to the leader.
  ASSERT_EQ(c.Call({"SET", "k", "before"}), "+OK\r\n");

  ASSERT_TRUE(firewall.Cut(g.member(follower).host, g.member(leader).host));
  // Forwarded over the established connection, whose packets are now dropped.
  std::string reply = c.Call({"SET", "k", "during"}, kClientWaitMs);
  ASSERT_FALSE(reply.empty()) << "no answer from the cut-off follower within " << kClientWaitMs
                              << " ms";
  // The write may have reached the leader before the cut took effect, or
  // not: either acknowledged or an outcome-unknown error, never TRYAGAIN
  // (which promises it was not applied).
  EXPECT_TRUE(reply == "+OK\r\n" || IsError(reply, "UNKNOWN")) << reply;
  // A read (nothing applied) may be answered with TRYAGAIN.
  std::string read = c.Call({"GET", "k"}, kClientWaitMs);
  EXPECT_FALSE(read.empty()) << "no answer to a read within " << kClientWaitMs << " ms";
}

TEST(StoreForward, RequestsStuckOnTheOldLeaderDoNotHoldBackTheNewOne) {
  std::string why = FirewallGuard::Unavailable();
  if (!why.empty()) GTEST_SKIP() << "skipping the iptables test: " << why;
  StoreGroup g("forward_switch", 174, 3, kElectionMs, /*distinct_hosts=*/true);
  FirewallGuard firewall(kChain);
  ASSERT_TRUE(firewall.ok()) << "cannot create iptables chain " << kChain;
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  std::vector<int> majority;
  for (int i : g.All()) {
    if (i != leader) majority.push_back(i);
  }
  int follower = majority[0];
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(follower).host, g.member(follower).client));
  ASSERT_EQ(c.Call({"INCR", "n"}), ":1\r\n");

  for (int i : majority) {
    ASSERT_TRUE(firewall.Cut(g.member(leader).host, g.member(i).host));
  }
  // Pipelined on one connection: the first goes to the old leader and is
  // stuck there; the others follow it.
  std::string stuck = c.Call({"INCR", "n"}, kClientWaitMs);
  ASSERT_FALSE(stuck.empty()) << "no answer within " << kClientWaitMs << " ms";
  int next = g.WaitLeader(majority, 10000);
  ASSERT_GE(next, 0) << "the majority elected no leader";
  // Once the majority has a leader, writes through the follower succeed
  // again, on the same client connection and on a new one.
  std::string after;
  EXPECT_TRUE(WaitUntil(
      [&] {
        if (!c.connected()) c.Connect(g.member(follower).host, g.member(follower).client);
        after = c.Call({"SET", "after", "x"}, kClientWaitMs);
        return after == "+OK\r\n";
      },
      15000, 50))
      << "writes through the follower do not reach the new leader: " << after;
  RespClient fresh;
  ASSERT_TRUE(fresh.Connect(g.member(follower).host, g.member(follower).client));
  EXPECT_EQ(fresh.Call({"SET", "fresh", "y"}, kClientWaitMs), "+OK\r\n");
}

// Pipelined writes on one connection are applied in the order they came,
// across a leader change: a follower forwards SET to the leader, which is
// stopped (SIGSTOP) with the SET unanswered; the client keeps appending
// to the same key. The members left elect one of the two followers. On the
// connection to that member, the appends that arrive once it leads must not
// be applied before the SET stuck on the old leader (it was proposing them
// at once, and the SET, sent again a moment later, wiped them out). On the
// other follower's connection the same holds with the new leader remote.
TEST(StoreForward, WriteAfterAWriteInFlightToTheOldLeaderIsAppliedAfterIt) {
  StoreGroup g("forward_order", 179, 3, kElectionMs, /*distinct_hosts=*/true);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  std::vector<int> followers;
  for (int i : g.All()) {
    if (i != leader) followers.push_back(i);
  }
  std::vector<RespClient> clients(2);
  for (int k = 0; k < 2; ++k) {
    ASSERT_TRUE(clients[k].Connect(g.member(followers[k]).host, g.member(followers[k]).client));
    // Opens the follower's forwarding connection to the leader.
    ASSERT_EQ(clients[k].Call({"SET", "warm", "up"}), "+OK\r\n");
  }
  const std::vector<std::string> keys = {"k0", "k1"};
  g.member(leader).process.Signal(SIGSTOP);
  for (int k = 0; k < 2; ++k) ASSERT_TRUE(clients[k].Send({"SET", keys[k], "first"}));
  // Appends until well after a new leader is known (bounded in count and time).
  // At most one append per millisecond and connection (the replies wait
  // in the member's slots: kMaxSlots is 4096).
  int appends = 0;
  int64_t stop_at = 0;
  int64_t last_sent = 0;
  int64_t next_check = 0;
  const int64_t give_up = SteadyMs() + 10000;
  while (appends < 3000 && SteadyMs() < give_up && (stop_at == 0 || SteadyMs() < stop_at)) {
    if (SteadyMs() > last_sent) {
      last_sent = SteadyMs();
      for (int k = 0; k < 2; ++k) ASSERT_TRUE(clients[k].Send({"APPEND", keys[k], "x"}));
      ++appends;
    }
    if (stop_at == 0 && SteadyMs() >= next_check) {
      if (g.Leader(followers) >= 0) stop_at = SteadyMs() + 300;
      next_check = SteadyMs() + 20;
    }
  }
  const int next = g.Leader(followers);
  ASSERT_GE(next, 0) << "the followers elected no leader";
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE(followers[k] == next ? "connection to the new leader"
                                      : "connection to the other follower");
    EXPECT_EQ(clients[k].ReadReply(kClientWaitMs), "+OK\r\n");
    for (int i = 1; i <= appends; ++i) {
      std::string reply = clients[k].ReadReply(kClientWaitMs);
      ASSERT_FALSE(reply.empty()) << "no reply to append " << i;
    }
    std::string want = "first" + std::string(static_cast<size_t>(appends), 'x');
    std::string got = clients[k].Call({"GET", keys[k]}, kClientWaitMs);
    EXPECT_EQ(got, Bulk(want)) << "an append overtook the SET sent before it (" << appends
                               << " appends)";
  }
  g.member(leader).process.Signal(SIGCONT);
}

// A command the follower accepts under max_request_bytes gets to the leader
// wrapped as NINES.FWD with the follower's request id: a few dozen bytes
// more. The leader must take it: it answered "-ERR Protocol error: too big
// request" (relayed to the client for a command that works on the leader)
// and closed the forwarding connection, with whatever else was in flight
// on it.
TEST(StoreForward, WriteJustUnderTheRequestLimitWorksThroughAFollower) {
  StoreGroup g("forward_size", 183, 3, kElectionMs, /*distinct_hosts=*/true);
  for (int i : g.All()) {
    std::ifstream in(g.member(i).config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    WriteFile(g.member(i).config, "max_request_bytes = 4096\n" + text);
  }
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  const int follower = (leader + 1) % 3;
  // *3 $3 SET $1 k $4050 value: 4079 bytes, under the limit.
  const std::string value(4050, 'v');
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(follower).host, g.member(follower).client));
  EXPECT_EQ(c.Call({"SET", "k", value}, kClientWaitMs), "+OK\r\n");
  EXPECT_EQ(c.Call({"GET", "k"}, kClientWaitMs), Bulk(value));
}

}  // namespace
}  // namespace nines::test
