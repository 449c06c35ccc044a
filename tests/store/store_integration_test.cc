// `nines store` as real processes (NINES_BIN): three members on 127.0.N.1
// (N in 150-199), elections, SET/GET through every member, leader kill with
// concurrent writes (no acknowledged write lost, failover time printed),
// SIGSTOP of the leader, WAL torn tail and corruption at start, and
// redis-benchmark against a member.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

TEST(StoreIntegration, ElectsLeaderAndServesThroughEveryMember) {
  StoreGroup g("basic", 150);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";
  for (size_t i = 0; i < g.size(); ++i) {
    RespClient c;
    ASSERT_TRUE(c.Connect(g.host(), g.member(static_cast<int>(i)).client));
    std::string key = "key" + std::to_string(i);
    EXPECT_EQ(c.Call({"SET", key, "v" + std::to_string(i)}), "+OK\r\n") << "member " << i;
    EXPECT_EQ(c.Call({"INCR", "counter"}), ":" + std::to_string(i + 1) + "\r\n");
  }
  for (size_t i = 0; i < g.size(); ++i) {
    RespClient c;
    ASSERT_TRUE(c.Connect(g.host(), g.member(static_cast<int>(i)).client));
    for (size_t k = 0; k < g.size(); ++k) {
      EXPECT_EQ(c.Call({"GET", "key" + std::to_string(k)}), Bulk("v" + std::to_string(k)));
    }
    std::string role = c.Call({"ROLE"});
    EXPECT_NE(role.find(static_cast<int>(i) == leader ? "master" : "slave"), std::string::npos)
        << role;
  }
  // Pipelining on a follower: replies in order, reads see the earlier writes.
  int follower = (leader + 1) % 3;
  RespClient c;
  ASSERT_TRUE(c.Connect(g.host(), g.member(follower).client));
  std::string p1 = c.Call({"SET", "p", "1"});
  EXPECT_EQ(p1, "+OK\r\n");
  EXPECT_EQ(c.Call({"GET", "p"}), Bulk("1"));
  // HTTP API: CAS via If-Match on the leader.
  http::ClientResponse put =
      http::Exchange(g.host(), g.member(leader).http,
                     "PUT /v1/kv/h HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", "PUT");
  ASSERT_EQ(put.status, 200) << put.body;
  std::string version = put.Header("X-Version");
  http::ClientResponse bad = http::Exchange(
      g.host(), g.member(leader).http,
      "PUT /v1/kv/h HTTP/1.1\r\nHost: x\r\nIf-Match: 1\r\nContent-Length: 2\r\n\r\nho", "PUT");
  EXPECT_EQ(bad.status, 412);
  http::ClientResponse good =
      http::Exchange(g.host(), g.member(leader).http,
                     "PUT /v1/kv/h HTTP/1.1\r\nHost: x\r\nIf-Match: " + version +
                         "\r\nContent-Length: 2\r\n\r\nho",
                     "PUT");
  EXPECT_EQ(good.status, 200);
  http::ClientResponse get = http::Get(g.host(), g.member(leader).http, "/v1/kv/h");
  EXPECT_EQ(get.body, "ho");
}

// Writers on every member; the leader is killed; every acknowledged write must
// be on every member afterwards. Returns the failover time in ms.
int64_t KillLeaderOnce(StoreGroup& g, int round) {
  int leader = g.WaitLeader(g.All());
  EXPECT_GE(leader, 0);
  if (leader < 0) return -1;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> killed_at{0};
  std::atomic<int64_t> resumed_at{0};
  std::mutex mu;
  std::map<std::string, std::string> acked;
  std::vector<std::thread> writers;
  for (size_t w = 0; w < g.size(); ++w) {
    if (static_cast<int>(w) == leader) continue;  // its writer would just see the kill
    writers.emplace_back([&, w] {
      RespClient c;
      for (int n = 0; !stop; ++n) {
        // Reconnect (the connect itself is bounded by its timeout); no fixed pacing.
        if (!ConnectUnlessStopped(g, static_cast<int>(w), c, stop)) continue;
        std::string key =
            "r" + std::to_string(round) + "w" + std::to_string(w) + "n" + std::to_string(n);
        int64_t sent_at = SteadyMs();
        if (c.Call({"SET", key, key}) == "+OK\r\n") {
          std::lock_guard<std::mutex> lock(mu);
          acked[key] = key;
          // Failover time: kill to the first acknowledgement of a write sent after it.
          int64_t k = killed_at.load();
          int64_t zero = 0;
          if (k != 0 && sent_at > k) resumed_at.compare_exchange_strong(zero, SteadyMs());
        }
      }
    });
  }
  WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return acked.size() > 50;
      },
      5000);
  killed_at = SteadyMs();
  g.member(leader).process.Stop(SIGKILL, 2000);
  auto acked_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  WaitUntil([&] { return resumed_at.load() != 0; }, 10000);
  // Keep writing under the new leader for a while (counted in writes, not time),
  // then restart the old leader while the writers go on.
  size_t at_resume = acked_count();
  EXPECT_TRUE(WaitUntil([&] { return acked_count() >= at_resume + 20; }, 10000))
      << "writes stalled after failover";
  g.Start(leader);
  // Writes continue while the restarted member rejoins as a follower.
  EXPECT_TRUE(g.WaitRejoined(leader)) << "restarted member did not rejoin";
  size_t at_rejoin = acked_count();
  EXPECT_TRUE(WaitUntil([&] { return acked_count() >= at_rejoin + 20; }, 10000))
      << "writes stalled after the old leader rejoined";
  stop = true;
  for (std::thread& t : writers) t.join();
  int64_t failover = resumed_at.load() == 0 ? -1 : resumed_at.load() - killed_at.load();
  EXPECT_GE(failover, 0) << "writes did not resume";
  EXPECT_LT(failover, 2000) << "writes resumed only after " << failover << " ms";
  // Every acknowledged write on every member (read locally once caught up).
  for (size_t i = 0; i < g.size(); ++i) {
    for (const auto& write : acked) {
      // Named copies: clang 14 (the TSan build) cannot capture structured bindings.
      const auto& key = write.first;
      const auto& value = write.second;
      bool ok = WaitUntil([&] { return LocalGet(g, static_cast<int>(i), key) == Bulk(value); },
                          10000, 50);
      EXPECT_TRUE(ok) << "acknowledged " << key << " missing on member " << i;
      if (!ok) return failover;
    }
  }
  std::printf("failover round %d: %lld ms (%zu acknowledged writes verified on all members)\n",
              round, static_cast<long long>(failover), acked.size());
  return failover;
}

TEST(StoreIntegration, LeaderKillLosesNoAcknowledgedWrite) {
  StoreGroup g("failover", 151);
  g.StartAll();
  int rounds = 3;
  if (const char* r = std::getenv("NINES_STORE_FAILOVER_ROUNDS")) rounds = std::atoi(r);
  for (int round = 0; round < rounds; ++round) {
    KillLeaderOnce(g, round);
    if (HasFailure()) break;
  }
}

TEST(StoreIntegration, StoppedLeaderStepsDownAndAcknowledgesNothingStale) {
  StoreGroup g("sigstop", 152);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0);
  RespClient old;
  ASSERT_TRUE(old.Connect(g.host(), g.member(leader).client));
  ASSERT_EQ(old.Call({"SET", "before", "1"}), "+OK\r\n");
  g.member(leader).process.Signal(SIGSTOP);
  // A write sent to the stopped leader: it must never be acknowledged with a stale term.
  std::string stale_reply;
  std::thread stale([&] { stale_reply = old.Call({"SET", "stale", "x"}, 8000); });
  std::vector<int> others;
  for (int i : g.All()) {
    if (i != leader) others.push_back(i);
  }
  int next = g.WaitLeader(others);
  ASSERT_GE(next, 0);
  ASSERT_NE(next, leader);
  RespClient c;
  ASSERT_TRUE(c.Connect(g.host(), g.member(next).client));
  ASSERT_EQ(c.Call({"SET", "after", "2"}), "+OK\r\n");
  g.member(leader).process.Signal(SIGCONT);
  stale.join();
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto s = g.Status(leader);
        return s && (*s)["role"] == "follower";
      },
      5000));
  // If the stale write was acknowledged it must be present everywhere;
  // otherwise it must not have been acknowledged.
  if (stale_reply == "+OK\r\n") {
    for (int i : g.All()) {
      EXPECT_TRUE(WaitUntil([&] { return LocalGet(g, i, "stale") == Bulk("x"); }, 5000));
    }
  }
  EXPECT_TRUE(WaitUntil([&] { return LocalGet(g, leader, "after") == Bulk("2"); }, 5000));
}

std::string LastSegment(const std::string& dir) {
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind("wal-", 0) == 0 && name > std::filesystem::path(last).filename().string()) {
      last = e.path().string();
    }
  }
  return last;
}

TEST(StoreIntegration, TornTailRecoversAndCorruptionRefusesToStart) {
  StoreGroup g("wal", 153);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0);
  RespClient c;
  ASSERT_TRUE(c.Connect(g.host(), g.member(leader).client));
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(c.Call({"SET", "k" + std::to_string(i), std::string(100, 'a' + i % 26)}), "+OK\r\n");
  }
  int victim = (leader + 1) % 3;
  ASSERT_TRUE(WaitUntil([&] { return LocalGet(g, victim, "k99") != "$-1\r\n"; }, 5000));
  // Torn tail: cut a few bytes off the last segment.
  g.member(victim).process.Stop(SIGKILL, 2000);
  std::string seg = LastSegment(g.WalDir(victim));
  ASSERT_FALSE(seg.empty());
  auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 5);
  g.Start(victim);
  ASSERT_EQ(c.Call({"SET", "later", "1"}), "+OK\r\n");
  EXPECT_TRUE(WaitUntil([&] { return LocalGet(g, victim, "later") == Bulk("1"); }, 10000))
      << g.member(victim).process.Log();
  EXPECT_NE(g.member(victim).process.Log().find("torn tail"), std::string::npos);
  // Corruption: flip a byte in the middle of the segment.
  g.member(victim).process.Stop(SIGTERM, 3000);
  seg = LastSegment(g.WalDir(victim));
  size = std::filesystem::file_size(seg);
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    char b = 0;
    f.seekg(static_cast<std::streamoff>(size / 2));
    f.read(&b, 1);
    b = static_cast<char>(b ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&b, 1);
  }
  g.Start(victim);
  int status = g.member(victim).process.Wait(5000);
  EXPECT_EQ(status, 1);
  std::string log = g.member(victim).process.Log();
  EXPECT_NE(log.find(std::filesystem::path(seg).filename().string()), std::string::npos) << log;
  EXPECT_NE(log.find("offset"), std::string::npos) << log;
}

// A pipeline of reads and writes sent in one write: the leader shares read
// barriers between the reads and sends the replies together, a follower
// forwards them; either way every reply comes in order and every read sees
// the writes before it on the connection.
TEST(StoreIntegration, PipelinedReadsSeeTheEarlierWritesOfTheirConnection) {
  StoreGroup g("pipeline", 157);
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0);
  int follower = (leader + 1) % 3;
  for (int target : {leader, follower}) {
    RespClient c;
    ASSERT_TRUE(c.Connect(g.host(), g.member(target).client));
    const std::string k = "pipe" + std::to_string(target);
    std::vector<std::vector<std::string>> commands;
    std::vector<std::string> expected;
    auto add = [&](std::vector<std::string> args, std::string reply) {
      commands.push_back(std::move(args));
      expected.push_back(std::move(reply));
    };
    for (int round = 0; round < 3; ++round) {
      add({"GET", k + "missing"}, "$-1\r\n");
      add({"SET", k, "v" + std::to_string(round)}, "+OK\r\n");
      add({"GET", k}, Bulk("v" + std::to_string(round)));
      add({"INCR", k + "n"}, ":" + std::to_string(round + 1) + "\r\n");
      add({"EXISTS", k, k + "n", k + "missing"}, ":2\r\n");
      add({"PING"}, "+PONG\r\n");
      add({"MGET", k, k + "n"},
          "*2\r\n" + Bulk("v" + std::to_string(round)) + Bulk(std::to_string(round + 1)));
      add({"GET", k + "n"}, Bulk(std::to_string(round + 1)));
    }
    ASSERT_TRUE(c.SendPipeline(commands));
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(c.ReadReply(), expected[i])
          << "reply " << i << " via " << (target == leader ? "leader" : "follower");
    }
  }
}

TEST(StoreIntegration, RedisBenchmarkRunsWithoutErrors) {
  if (std::system("command -v redis-benchmark >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "redis-benchmark not installed";
  }
  // A compatibility test, not a load test: every command redis-benchmark
  // sends must get a valid reply, through the leader and through a follower.
  // A follower queues what it forwards, and each write has the request
  // deadline (2 s by default) from its arrival there: with redis-benchmark's
  // 50 clients (800 writes in flight), ThreadSanitizer's slowdown and a
  // loaded 2-core machine, some waited past it and got -UNKNOWN, which stops
  // redis-benchmark. So 10 clients, and a deadline only a stuck group reaches.
  StoreGroup g("bench", 154);
  g.AddConfig("request_timeout_ms = 30000\n");
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0);
  int follower = (leader + 1) % 3;
  // The output goes to this build's test directory: a fixed /tmp path is
  // shared with the same test running from another checkout.
  std::string dir = TestDir("redis_benchmark_output");  // not StoreGroup's directory
  for (int target : {leader, follower}) {
    std::string out = dir + "/bench_" + std::to_string(target) + ".txt";
    std::string cmd = "timeout 120 redis-benchmark -h " + g.host() + " -p " +
                      std::to_string(g.member(target).client) +
                      " -t set,get,incr,mset -c 10 -P 16 -n 5000 -q > " + out + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("ERR"), std::string::npos) << text;
    EXPECT_NE(text.find("MSET"), std::string::npos) << text;
    std::printf("redis-benchmark via %s:\n%s\n", target == leader ? "leader" : "follower",
                text.c_str());
  }
}

}  // namespace
}  // namespace nines::test
