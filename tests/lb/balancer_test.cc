// Balancing: distribution, weights, backups (active-passive), retries that
// avoid tried servers, and consistent hashing that moves only a leaving
// server's keys.
#include "lb/balancer.h"

#include <gtest/gtest.h>

#include <map>

namespace nines::lb {
namespace {

std::vector<std::shared_ptr<ServerState>> Servers(int primaries, int backups,
                                                  std::vector<int> weights = {}) {
  std::vector<std::shared_ptr<ServerState>> out;
  for (int i = 0; i < primaries + backups; ++i) {
    auto s = std::make_shared<ServerState>("s" + std::to_string(i),
                                           Endpoint{"127.0.0.1", static_cast<uint16_t>(9000 + i)});
    s->backup = i >= primaries;
    if (i < static_cast<int>(weights.size())) s->weight = weights[i];
    out.push_back(s);
  }
  return out;
}

std::map<int, int> Count(const ServerPool& pool, int n, uint64_t hash_seed = 0) {
  std::map<int, int> hits;
  PickState state;
  for (int i = 0; i < n; ++i) {
    PickRequest r;
    r.key_hash = hash_seed ? HashBytes(std::to_string(i)) : 0;
    int id = PickServer(pool, r, &state);
    hits[id]++;
  }
  return hits;
}

TEST(BalancerTest, RoundRobinIsEven) {
  auto pool = BuildServerPool(Servers(3, 0), BalanceMode::kRoundRobin, "");
  auto hits = Count(*pool, 300);
  EXPECT_EQ(hits[0], 100);
  EXPECT_EQ(hits[1], 100);
  EXPECT_EQ(hits[2], 100);
}

TEST(BalancerTest, RoundRobinHonoursWeights) {
  auto pool = BuildServerPool(Servers(2, 0, {3, 1}), BalanceMode::kRoundRobin, "");
  auto hits = Count(*pool, 400);
  EXPECT_EQ(hits[0], 300);
  EXPECT_EQ(hits[1], 100);
}

TEST(BalancerTest, SmoothScheduleInterleaves) {
  std::vector<int> s = SmoothWeightedSchedule({0, 1, 2}, {5, 1, 1});
  ASSERT_EQ(s.size(), 7u);
  // nginx's smooth order: a a b a c a a
  EXPECT_EQ(s, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(BalancerTest, LeastConnPrefersIdle) {
  auto servers = Servers(3, 0);
  servers[0]->active_requests = 5;
  servers[1]->active_requests = 1;
  servers[2]->active_requests = 3;
  auto pool = BuildServerPool(servers, BalanceMode::kLeastConn, "");
  PickState state;
  EXPECT_EQ(PickServer(*pool, PickRequest(), &state), 1);
}

TEST(BalancerTest, PowerOfTwoNeverPicksTheBusiestOfThree) {
  auto servers = Servers(3, 0);
  servers[0]->active_requests = 100;
  auto pool = BuildServerPool(servers, BalanceMode::kPowerOfTwo, "");
  auto hits = Count(*pool, 1000);
  EXPECT_EQ(hits[0], 0);
  EXPECT_GT(hits[1], 300);
  EXPECT_GT(hits[2], 300);
}

TEST(BalancerTest, PowerOfTwoReachesEveryServerOfSeventy) {
  // A past bug: candidates past the first 64 were never considered.
  auto pool = BuildServerPool(Servers(70, 0), BalanceMode::kPowerOfTwo, "");
  auto hits = Count(*pool, 7000);
  EXPECT_EQ(hits[-1], 0);
  for (int id = 0; id < 70; ++id) EXPECT_GT(hits[id], 20) << "server " << id;
}

TEST(BalancerTest, DownDrainingAndEjectedServersAreSkipped) {
  auto servers = Servers(4, 0);
  servers[0]->health_up = false;
  servers[1]->draining = true;
  servers[2]->ejected_until_ms = 1'000'000;
  auto pool = BuildServerPool(servers, BalanceMode::kRoundRobin, "");
  pool->panic_threshold = 0;  // one of three healthy would be panic (tested below)
  PickState state;
  PickRequest r;
  r.now_ms = 10;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(PickServer(*pool, r, &state), 3);
  r.now_ms = 2'000'000;  // ejection over
  auto hits = std::map<int, int>();
  for (int i = 0; i < 10; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[2], 5);
  EXPECT_EQ(hits[3], 5);
}

TEST(BalancerTest, PanicRoutesToEjectedServersWhenTooFewAreHealthy) {
  // A past bug: with fewer than half the servers healthy (Envoy's
  // healthy_panic_threshold), ejections are ignored and every server that
  // the active check says is up takes traffic.
  auto servers = Servers(4, 0);
  servers[0]->ejected_until_ms = 1'000'000;
  servers[1]->ejected_until_ms = 1'000'000;
  auto pool = BuildServerPool(servers, BalanceMode::kRoundRobin, "");
  PickState state;
  PickRequest r;
  r.now_ms = 10;
  std::map<int, int> hits;
  for (int i = 0; i < 100; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[2] + hits[3], 100);  // half healthy: no panic, the ejected are skipped

  servers[2]->ejected_until_ms = 1'000'000;
  hits.clear();
  for (int i = 0; i < 100; ++i) hits[PickServer(*pool, r, &state)]++;
  for (int id = 0; id < 4; ++id) EXPECT_EQ(hits[id], 25) << id;  // panic: all four

  // Active checks still rule: a server that is down gets nothing.
  servers[3]->health_up = false;
  hits.clear();
  for (int i = 0; i < 99; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[3], 0);
  EXPECT_EQ(hits[-1], 0);
  EXPECT_EQ(hits[0] + hits[1] + hits[2], 99);
}

TEST(BalancerTest, OnlyServerEjectedStillServes) {
  auto servers = Servers(1, 0);
  servers[0]->ejected_until_ms = 1'000'000;
  auto pool = BuildServerPool(servers, BalanceMode::kPowerOfTwo, "");
  PickState state;
  PickRequest r;
  r.now_ms = 10;
  EXPECT_EQ(PickServer(*pool, r, &state), 0);
}

TEST(BalancerTest, EveryServerDownFailsOpen) {
  // When the active check fails on every server, primaries and backups alike,
  // a dependency they share is the likelier cause (an app's readiness needs
  // the store, which is electing a leader): as Envoy's panic routing at 0%
  // healthy and as nines dns with every region down, route to them all
  // rather than answer 503 to everyone. A server that is really dead fails
  // to connect and the attempt is retried elsewhere.
  auto servers = Servers(2, 1);
  for (auto& s : servers) s->health_up = false;
  auto pool = BuildServerPool(servers, BalanceMode::kRoundRobin, "");
  PickState state;
  PickRequest r;
  r.now_ms = 10;
  std::map<int, int> hits;
  for (int i = 0; i < 100; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[-1], 0);
  EXPECT_EQ(hits[0] + hits[1], 100);  // primaries first, as when healthy

  // One server up again: it alone takes the traffic (no fail-open).
  servers[2]->health_up = true;
  hits.clear();
  for (int i = 0; i < 10; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[2], 10);

  // Panic routing off (panic_threshold = 0): every server down is a 503.
  servers[2]->health_up = false;
  pool->panic_threshold = 0;
  EXPECT_EQ(PickServer(*pool, r, &state), -1);
}

TEST(BalancerTest, HealthyBackupsComeBeforePanic) {
  auto servers = Servers(2, 2);
  servers[0]->ejected_until_ms = 1'000'000;
  servers[1]->ejected_until_ms = 1'000'000;
  auto pool = BuildServerPool(servers, BalanceMode::kRoundRobin, "");
  PickState state;
  PickRequest r;
  r.now_ms = 10;
  std::map<int, int> hits;
  for (int i = 0; i < 10; ++i) hits[PickServer(*pool, r, &state)]++;
  EXPECT_EQ(hits[2] + hits[3], 10);  // two of four healthy: the backups serve
}

TEST(BalancerTest, BackupsOnlyWhenNoPrimaryCanServe) {
  auto servers = Servers(2, 2);
  auto pool = BuildServerPool(servers, BalanceMode::kRoundRobin, "");
  auto hits = Count(*pool, 100);
  EXPECT_EQ(hits[2] + hits[3], 0);  // active-passive: backups idle
  servers[0]->health_up = false;
  hits = Count(*pool, 100);
  EXPECT_EQ(hits[1], 100);  // one primary left takes everything
  servers[1]->health_up = false;
  hits = Count(*pool, 100);
  EXPECT_EQ(hits[2], 50);
  EXPECT_EQ(hits[3], 50);
  servers[2]->health_up = false;
  servers[3]->health_up = false;
  pool->panic_threshold = 0;  // no fail-open (EveryServerDownFailsOpen has it)
  hits = Count(*pool, 10);
  EXPECT_EQ(hits[-1], 10);  // nothing left: the proxy answers 503
}

TEST(BalancerTest, RetryAvoidsTriedServersAndFallsBackToBackup) {
  auto pool = BuildServerPool(Servers(2, 1), BalanceMode::kRoundRobin, "");
  PickState state;
  int tried[2] = {0, 1};
  PickRequest r;
  r.tried = tried;
  r.tried_count = 1;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(PickServer(*pool, r, &state), 1);
  r.tried_count = 2;
  EXPECT_EQ(PickServer(*pool, r, &state), 2);
}

TEST(BalancerTest, ConsistentHashMovesOnlyTheLeavingServersKeys) {
  auto servers = Servers(5, 0);
  auto pool = BuildServerPool(servers, BalanceMode::kHashHeader, "X-User");
  PickState state;
  std::vector<int> before;
  for (int k = 0; k < 5000; ++k) {
    PickRequest r;
    r.key_hash = HashBytes("user-" + std::to_string(k));
    before.push_back(PickServer(*pool, r, &state));
  }
  std::map<int, int> share;
  for (int id : before) share[id]++;
  for (int i = 0; i < 5; ++i) {
    EXPECT_GT(share[i], 600) << "server " << i;  // about 1000 each
    EXPECT_LT(share[i], 1400) << "server " << i;
  }
  servers[2]->health_up = false;
  int moved = 0;
  for (int k = 0; k < 5000; ++k) {
    PickRequest r;
    r.key_hash = HashBytes("user-" + std::to_string(k));
    int now = PickServer(*pool, r, &state);
    EXPECT_NE(now, 2);
    if (before[k] != 2) {
      EXPECT_EQ(now, before[k]) << "key " << k << " moved without need";
    } else {
      ++moved;
    }
  }
  EXPECT_EQ(moved, share[2]);
}

}  // namespace
}  // namespace nines::lb
