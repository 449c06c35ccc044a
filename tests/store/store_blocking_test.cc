// Blocking pops and memory limits against three `nines store` processes
// (NINES_BIN) over RESP: BLPOP through every member served by a later RPUSH
// on another connection (the pop replicated to every member), FIFO order of
// two blocked clients, timeouts, blocked clients answered when leadership
// moves (a transfer, and the leader killed), and maxmemory's -OOM.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

std::string Array(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += Bulk(item);
  return out;
}

// blocked_clients of INFO on member i.
int BlockedClients(StoreGroup& g, int i) {
  RespClient c;
  if (!c.Connect(g.member(i).host, g.member(i).client)) return -1;
  const std::string info = c.Call({"INFO", "clients"});
  const size_t at = info.find("blocked_clients:");
  return at == std::string::npos ? -1 : std::atoi(info.c_str() + at + 16);
}

bool WaitBlocked(StoreGroup& g, int leader, int n) {
  return WaitUntil([&] { return BlockedClients(g, leader) == n; }, 10000);
}

// LLEN of key in member i's own state.
std::string LocalLLen(StoreGroup& g, int i, const std::string& key) {
  RespClient c;
  if (!c.Connect(g.member(i).host, g.member(i).client)) return "";
  c.Call({"READONLY"});
  return c.Call({"LLEN", key});
}

TEST(StoreBlocking, BlpopThroughEveryMemberIsServedByALaterPush) {
  StoreGroup g("blocking", 205);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("blocked on member " + std::to_string(i) + (i == leader ? " (leader)" : ""));
    const std::string key = "queue" + std::to_string(i);
    RespClient blocked, pusher;
    ASSERT_TRUE(blocked.Connect(g.host(), g.member(i).client));
    ASSERT_TRUE(pusher.Connect(g.host(), g.member((i + 1) % 3).client));
    ASSERT_TRUE(blocked.Send({"BLPOP", "other", key, "0"}));
    ASSERT_TRUE(WaitBlocked(g, leader, 1));
    EXPECT_EQ(pusher.Call({"RPUSH", key, "job"}), ":1\r\n");
    EXPECT_EQ(blocked.ReadReply(), Array({key, "job"}));
    // The pop went through the log: every member has the list gone.
    for (int m = 0; m < 3; ++m) {
      EXPECT_TRUE(WaitUntil([&] { return LocalLLen(g, m, key) == ":0\r\n"; }, 5000))
          << "member " << m;
    }
    // The connection goes on after its blocking command.
    EXPECT_EQ(blocked.Call({"PING"}), "+PONG\r\n");
  }

  // BLMOVE and BZPOPMIN wait too.
  RespClient mover, pusher;
  ASSERT_TRUE(mover.Connect(g.host(), g.member(leader).client));
  ASSERT_TRUE(pusher.Connect(g.host(), g.member((leader + 1) % 3).client));
  ASSERT_TRUE(mover.Send({"BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"}));
  ASSERT_TRUE(WaitBlocked(g, leader, 1));
  EXPECT_EQ(pusher.Call({"LPUSH", "src", "a"}), ":1\r\n");
  EXPECT_EQ(mover.ReadReply(), Bulk("a"));
  EXPECT_EQ(pusher.Call({"LRANGE", "dst", "0", "-1"}), Array({"a"}));
  ASSERT_TRUE(mover.Send({"BZPOPMIN", "z", "0"}));
  ASSERT_TRUE(WaitBlocked(g, leader, 1));
  EXPECT_EQ(pusher.Call({"ZADD", "z", "2", "two", "1", "one"}), ":2\r\n");
  EXPECT_EQ(mover.ReadReply(), Array({"z", "one", "1"}));
}

TEST(StoreBlocking, LongestWaitingClientFirstAndTimeouts) {
  StoreGroup g("blocking_fifo", 206);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  const int follower = (leader + 1) % 3;
  RespClient first, second, pusher;
  ASSERT_TRUE(first.Connect(g.host(), g.member(follower).client));
  ASSERT_TRUE(second.Connect(g.host(), g.member(leader).client));
  ASSERT_TRUE(pusher.Connect(g.host(), g.member(leader).client));
  ASSERT_TRUE(first.Send({"BRPOP", "q", "0"}));
  ASSERT_TRUE(WaitBlocked(g, leader, 1));
  ASSERT_TRUE(second.Send({"BRPOP", "q", "0"}));
  ASSERT_TRUE(WaitBlocked(g, leader, 2));
  EXPECT_EQ(pusher.Call({"LPUSH", "q", "a", "b"}), ":2\r\n");  // q is [b, a]
  EXPECT_EQ(first.ReadReply(), Array({"q", "a"}));
  EXPECT_EQ(second.ReadReply(), Array({"q", "b"}));

  // Timeouts: the nil array, through the leader and through a follower.
  EXPECT_EQ(second.Call({"BLPOP", "none", "0.2"}), "*-1\r\n");
  EXPECT_EQ(first.Call({"BZPOPMAX", "none", "0.2"}), "*-1\r\n");
  EXPECT_EQ(first.Call({"BRPOPLPUSH", "none", "d", "0.2"}), "*-1\r\n");
  EXPECT_EQ(first.Call({"BLPOP", "none", "-1"}), "-ERR timeout is negative\r\n");
  EXPECT_TRUE(WaitBlocked(g, leader, 0));

  // Commands pipelined behind a blocking one wait for it, as in Redis: the
  // RPUSH after the BLPOP does not serve it.
  ASSERT_TRUE(first.SendPipeline({{"BLPOP", "p", "0.3"}, {"RPUSH", "p", "x"}}));
  EXPECT_EQ(first.ReadReply(), "*-1\r\n");
  EXPECT_EQ(first.ReadReply(), ":1\r\n");
}

TEST(StoreBlocking, BlockedClientsAreAnsweredWhenLeadershipMoves) {
  StoreGroup g("blocking_leader", 207);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  int follower = (leader + 1) % 3;
  {
    // A transfer: the client blocked on the leader gets -UNBLOCKED.
    RespClient blocked;
    ASSERT_TRUE(blocked.Connect(g.host(), g.member(leader).client));
    ASSERT_TRUE(blocked.Send({"BLPOP", "k", "0"}));
    ASSERT_TRUE(WaitBlocked(g, leader, 1));
    http::ClientResponse r =
        http::Post(g.member(leader).host, g.member(leader).http, "/v1/leader/transfer", "");
    ASSERT_EQ(r.status, 202) << r.body;
    const std::string reply = blocked.ReadReply(10000);
    EXPECT_EQ(reply.rfind("-UNBLOCKED leadership moved", 0), 0u) << reply;
  }
  std::vector<int> all = g.All();
  leader = -1;
  ASSERT_TRUE(WaitUntil([&] { return (leader = g.Leader(all)) >= 0; }, 10000));
  follower = (leader + 1) % 3;

  // The leader killed: a client blocked through a follower is answered (the
  // follower's forwarded request is cut), it does not hang.
  RespClient through_follower;
  ASSERT_TRUE(through_follower.Connect(g.host(), g.member(follower).client));
  ASSERT_TRUE(through_follower.Send({"BLPOP", "k", "0"}));
  ASSERT_TRUE(WaitBlocked(g, leader, 1));
  g.member(leader).process.Stop(SIGKILL, 2000);
  const std::string reply = through_follower.ReadReply(15000);
  EXPECT_TRUE(reply.rfind("-UNKNOWN", 0) == 0 || reply.rfind("-UNBLOCKED", 0) == 0 ||
              reply.rfind("-TRYAGAIN", 0) == 0)
      << reply;

  // The survivors elect a leader, and blocking works again through it.
  std::vector<int> survivors;
  for (int i : all) {
    if (i != leader) survivors.push_back(i);
  }
  const int next = g.WaitLeader(survivors, 15000);
  ASSERT_GE(next, 0);
  RespClient again, pusher;
  ASSERT_TRUE(again.Connect(g.host(), g.member(follower).client));
  ASSERT_TRUE(pusher.Connect(g.host(), g.member(next).client));
  ASSERT_TRUE(again.Send({"BLPOP", "k2", "0"}));
  ASSERT_TRUE(WaitBlocked(g, next, 1));
  EXPECT_EQ(pusher.Call({"RPUSH", "k2", "v"}), ":1\r\n");
  EXPECT_EQ(again.ReadReply(), Array({"k2", "v"}));
}

// Puts `text` at the top of member i's store.toml (before its [[member]] tables).
void PrependConfig(StoreGroup& g, int i, const std::string& text) {
  const std::string path = g.member(i).config;
  std::ifstream in(path);
  std::stringstream old;
  old << in.rdbuf();
  WriteFile(path, text + old.str());
}

TEST(StoreBlocking, MaxmemoryRefusesWritesThatGrowButNotReadsOrDeletes) {
  StoreGroup g("maxmemory", 208);
  for (int i = 0; i < 3; ++i) PrependConfig(g, i, "maxmemory = 4000\nmax_list_elements = 5\n");
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  const int follower = (leader + 1) % 3;
  RespClient c;
  ASSERT_TRUE(c.Connect(g.host(), g.member(follower).client));
  const std::string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
  int stored = 0;
  std::string reply;
  for (; stored < 100; ++stored) {
    reply = c.Call({"SET", "k" + std::to_string(stored), std::string(1000, 'x')});
    if (reply != "+OK\r\n") break;
  }
  EXPECT_EQ(reply, oom);
  EXPECT_GE(stored, 4);
  EXPECT_LE(stored, 6);
  EXPECT_EQ(c.Call({"RPUSH", "l", "v"}), oom);
  EXPECT_EQ(c.Call({"GET", "k0"}), Bulk(std::string(1000, 'x')));
  EXPECT_EQ(c.Call({"DEL", "k0", "k1"}), ":2\r\n");
  EXPECT_EQ(c.Call({"RPUSH", "l", "1", "2", "3", "4", "5"}), ":5\r\n");
  EXPECT_EQ(c.Call({"RPUSH", "l", "6"}),
            "-ERR too many list elements: the limit is 5 (max_list_elements in store.toml)\r\n");

  RespClient l;
  ASSERT_TRUE(l.Connect(g.host(), g.member(leader).client));
  const std::string info = l.Call({"INFO", "memory"});
  EXPECT_NE(info.find("maxmemory:4000\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("maxmemory_policy:noeviction\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("used_memory_human:"), std::string::npos) << info;
  http::ClientResponse metrics =
      http::Get(g.member(leader).host, g.member(leader).http, "/metrics");
  EXPECT_NE(metrics.body.find("nines_store_oom_refused_total 2\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("nines_store_maxmemory_bytes 4000\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("nines_store_element_limit_refused_total 1\n"), std::string::npos);
}

}  // namespace
}  // namespace nines::test
