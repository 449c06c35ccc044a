// MULTI/EXEC/WATCH against three `nines store` processes (NINES_BIN) over
// RESP: transactions through every member (a follower forwards EXEC whole),
// WATCH aborting on a write made through another member, pipelined WATCH ...
// EXEC through a follower, and a leader killed while clients run EXEC: every
// transaction is applied on every member wholly or not at all, and every
// acknowledged one is there.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

// A connection to member i that reads its own state (no barrier, no forwarding).
bool ConnectLocal(StoreGroup& g, int i, RespClient* c) {
  return c->Connect(g.member(i).host, g.member(i).client) && c->Call({"READONLY"}) == "+OK\r\n";
}

TEST(StoreTransaction, ExecAndWatchThroughEveryMember) {
  StoreGroup g("transaction", 186);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("member " + std::to_string(i) + (i == leader ? " (leader)" : " (follower)"));
    RespClient c;
    ASSERT_TRUE(c.Connect(g.host(), g.member(i).client));
    const std::string k = "k" + std::to_string(i);
    EXPECT_EQ(c.Call({"MULTI"}), "+OK\r\n");
    EXPECT_EQ(c.Call({"SET", k, "10"}), "+QUEUED\r\n");
    EXPECT_EQ(c.Call({"INCR", k}), "+QUEUED\r\n");
    EXPECT_EQ(c.Call({"LPUSH", k, "x"}), "+QUEUED\r\n");
    EXPECT_EQ(c.Call({"GET", k}), "+QUEUED\r\n");
    EXPECT_EQ(c.Call({"EXEC"}),
              "*4\r\n+OK\r\n:11\r\n-WRONGTYPE Operation against a key holding the wrong kind of "
              "value\r\n$2\r\n11\r\n");

    // WATCH, then another client changes the key through another member.
    RespClient other;
    ASSERT_TRUE(other.Connect(g.host(), g.member((i + 1) % 3).client));
    EXPECT_EQ(c.Call({"WATCH", k}), "+OK\r\n");
    EXPECT_EQ(other.Call({"SET", k, "20"}), "+OK\r\n");
    EXPECT_EQ(c.Call({"MULTI"}), "+OK\r\n");
    EXPECT_EQ(c.Call({"INCR", k}), "+QUEUED\r\n");
    EXPECT_EQ(c.Call({"EXEC"}), "*-1\r\n");
    EXPECT_EQ(c.Call({"GET", k}), Bulk("20"));

    // The client's own write before WATCH does not abort it, even pipelined.
    ASSERT_TRUE(c.SendPipeline(
        {{"SET", k, "1"}, {"WATCH", k}, {"GET", k}, {"MULTI"}, {"INCR", k}, {"EXEC"}, {"GET", k}}));
    for (const char* want : {"+OK\r\n", "+OK\r\n", "$1\r\n1\r\n", "+OK\r\n", "+QUEUED\r\n",
                             "*1\r\n:2\r\n", "$1\r\n2\r\n"}) {
      EXPECT_EQ(c.ReadReply(), want);
    }
    // Every member applied it.
    for (int m = 0; m < 3; ++m) {
      EXPECT_TRUE(WaitUntil([&] { return LocalGet(g, m, k) == Bulk("2"); }, 10000, 20))
          << "member " << m;
    }
  }
}

// Each transaction increments two counters and sets two keys; a leader is
// killed while clients on the followers run them.
TEST(StoreTransaction, LeaderKillDuringExecLeavesEachTransactionWholeOrAbsent) {
  StoreGroup g("transaction_kill", 187);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> acked;
  std::set<std::string> sent;
  std::vector<std::thread> clients;
  for (int w = 0; w < 3; ++w) {
    if (w == leader) continue;
    clients.emplace_back([&, w] {
      RespClient c;
      for (int n = 0; !stop; ++n) {
        if (!ConnectUnlessStopped(g, w, c, stop)) continue;
        const std::string id = "w" + std::to_string(w) + "n" + std::to_string(n);
        {
          std::lock_guard<std::mutex> lock(mu);
          sent.insert(id);
        }
        bool queued = c.Call({"MULTI"}) == "+OK\r\n" && c.Call({"INCR", "c1"}) == "+QUEUED\r\n" &&
                      c.Call({"SET", "a:" + id, id}) == "+QUEUED\r\n" &&
                      c.Call({"INCR", "c2"}) == "+QUEUED\r\n" &&
                      c.Call({"SET", "b:" + id, id}) == "+QUEUED\r\n";
        if (!queued) {
          c.Close();  // a lost connection: its MULTI went with it
          continue;
        }
        std::string reply = c.Call({"EXEC"});
        if (reply.rfind("*4\r\n:", 0) == 0) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(id);
        } else if (reply.empty()) {
          c.Close();
        }
      }
    });
  }
  auto acked_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return acked_count() > 30; }, 10000)) << "no transactions";
  g.member(leader).process.Stop(SIGKILL, 2000);
  const size_t at_kill = acked_count();
  EXPECT_TRUE(WaitUntil([&] { return acked_count() >= at_kill + 30; }, 15000))
      << "transactions stalled after the leader was killed";
  g.Start(leader);
  EXPECT_TRUE(g.WaitRejoined(leader)) << "restarted member did not rejoin";
  const size_t at_rejoin = acked_count();
  EXPECT_TRUE(WaitUntil([&] { return acked_count() >= at_rejoin + 10; }, 10000));
  stop = true;
  for (std::thread& t : clients) t.join();

  // One last write through the leader: once a member has it, it has every
  // transaction before it.
  {
    RespClient c;
    const int now_leader = g.WaitLeader(g.All());
    ASSERT_GE(now_leader, 0);
    ASSERT_TRUE(c.Connect(g.host(), g.member(now_leader).client));
    ASSERT_EQ(c.Call({"SET", "fence", "1"}), "+OK\r\n");
  }
  size_t whole = 0;
  for (int m = 0; m < 3; ++m) {
    SCOPED_TRACE("member " + std::to_string(m));
    ASSERT_TRUE(WaitUntil([&] { return LocalGet(g, m, "fence") == Bulk("1"); }, 10000, 20));
    RespClient c;
    ASSERT_TRUE(ConnectLocal(g, m, &c));
    const std::string c1 = c.Call({"GET", "c1"});
    EXPECT_EQ(c1, c.Call({"GET", "c2"})) << "the two counters of one transaction differ";
    size_t present = 0;
    for (const std::string& id : sent) {
      const std::string a = c.Call({"EXISTS", "a:" + id});
      const std::string b = c.Call({"EXISTS", "b:" + id});
      EXPECT_EQ(a, b) << "transaction " << id << " half applied";
      if (a == ":1\r\n") ++present;
      if (acked.count(id) != 0) {
        EXPECT_EQ(a, ":1\r\n") << "acknowledged " << id << " missing";
      }
    }
    EXPECT_EQ(c1, Bulk(std::to_string(present)));
    if (m == 0) whole = present;
    EXPECT_EQ(present, whole) << "members differ";
  }
  std::printf("transactions: %zu sent, %zu acknowledged, %zu applied on every member\n",
              sent.size(), acked.size(), whole);
}

}  // namespace
}  // namespace nines::test
