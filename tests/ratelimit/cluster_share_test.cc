// Two balancers share one global limit: the arithmetic of the share exchange
// on a manual clock. Two RateLimitClusters exchange real reports over UDP on
// loopback; time, the ticks and the requests are driven by hand, so seconds
// of load take milliseconds and the counts are exact, not statistical.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <string>

#include "base/clock.h"
#include "ratelimit/cluster.h"
#include "support/wait.h"

namespace nines::ratelimit {
namespace {

constexpr const char* kHost = "127.0.213.1";
constexpr uint16_t kPortA = 17621;
constexpr uint16_t kPortB = 17622;
constexpr int kIntervalMs = 100;      // the defaults of [cluster]
constexpr int kPeerTimeoutMs = 1000;  //
constexpr int kOfferedPerMs = 1;      // each balancer sees 1,000 requests/s

ClusterConfig Config(std::string id, uint16_t port) {
  ClusterConfig c;
  c.id = std::move(id);
  c.bind = Endpoint{kHost, port};
  c.peers = {Endpoint{kHost, kPortA}, Endpoint{kHost, kPortB}};
  c.interval_ms = kIntervalMs;
  c.peer_timeout_ms = kPeerTimeoutMs;
  c.key = "rate-limit-cluster-key";
  return c;
}

struct Balancer {
  Balancer(asio::io_context& io, const Clock& clock, std::string id, uint16_t port)
      : cluster(io, Config(std::move(id), port), &limiter, clock) {}
  // 200/s with a burst of 20, as `global = "200/s"`, `global_burst = 20`.
  GlobalRateLimiter limiter{200, 1, 20};
  RateLimitCluster cluster;
  bool alive = true;
  int admitted = 0;
};

struct TwoBalancers : ::testing::Test {
  asio::io_context io;
  ManualClock clock;
  Balancer a{io, clock, "a", kPortA};
  Balancer b{io, clock, "b", kPortB};

  void SetUp() override {
    a.cluster.Start(RateLimitCluster::Ticks::kByHand);
    b.cluster.Start(RateLimitCluster::Ticks::kByHand);
    a.cluster.Tick();  // a's first report went out before b was listening
    b.cluster.Tick();
    ASSERT_TRUE(Exchange());
  }
  void TearDown() override {
    a.cluster.Stop();
    b.cluster.Stop();
  }

  // Runs io until every live balancer has taken the other live one's report
  // sent at this instant (age 0 on the manual clock). Loopback UDP is not
  // lossy in practice; the real-time deadline only bounds a broken run.
  bool Exchange() {
    auto heard_now = [](Balancer& x) { return x.cluster.peers().at(0).last_seen_age_ms == 0; };
    return test::WaitUntil(
        [&] {
          io.poll();
          io.restart();
          return (!a.alive || !b.alive) || (heard_now(a) && heard_now(b));
        },
        10000, 1);
  }

  // `ms` of manual time: each live balancer is offered kOfferedPerMs
  // requests every millisecond, and ticks every kIntervalMs.
  void Run(int ms) {
    for (int t = 0; t < ms; ++t) {
      clock.AdvanceMillis(1);
      for (Balancer* x : {&a, &b}) {
        if (!x->alive) continue;
        for (int i = 0; i < kOfferedPerMs; ++i) {
          x->admitted += x->limiter.Take(clock.NowNanos()).allowed ? 1 : 0;
        }
      }
      if (clock.NowMillis() % kIntervalMs == 0) {
        for (Balancer* x : {&a, &b}) {
          if (x->alive) x->cluster.Tick();
        }
        ASSERT_TRUE(Exchange()) << "a report was not delivered";
      }
    }
  }
};

TEST_F(TwoBalancers, ShareOneGlobalLimit) {
  // The first second: each sees the other's demand one report late while
  // the demand windows fill, so both take a little more than half.
  Run(1000);
  int first_a = a.admitted, first_b = b.admitted;
  EXPECT_GE(first_a + first_b, 200);
  EXPECT_LE(first_a + first_b, 200 + 20 + 40) << first_a << " + " << first_b;
  // From then on, exactly half each: 100/s, as each asks for 1,000/s.
  Run(4000);
  EXPECT_NEAR(a.admitted - first_a, 400, 1);
  EXPECT_NEAR(b.admitted - first_b, 400, 1);
  // Over 5 s: 200/s and the burst of 20, within 5%.
  int total = a.admitted + b.admitted;
  EXPECT_GE(total, 1000) << a.admitted << " + " << b.admitted;
  EXPECT_LE(total, 1020 + 50) << a.admitted << " + " << b.admitted;
  EXPECT_DOUBLE_EQ(a.limiter.share(), 0.5);
  EXPECT_DOUBLE_EQ(b.limiter.share(), 0.5);
  EXPECT_NEAR(a.cluster.my_demand(), 1000, 1);
  EXPECT_NEAR(a.cluster.peers().at(0).demand, 1000, 1);
}

TEST_F(TwoBalancers, SurvivorTakesTheWholeRateAfterThePeerTimeout) {
  Run(5000);
  // b dies: a keeps its half until b's reports are peer_timeout_ms old.
  b.cluster.Stop();
  b.alive = false;
  Run(kPeerTimeoutMs);
  EXPECT_DOUBLE_EQ(a.limiter.share(), 0.5) << "dropped the peer before its timeout";
  Run(kIntervalMs);
  EXPECT_DOUBLE_EQ(a.limiter.share(), 1.0) << "still shares with a dead peer";
  EXPECT_FALSE(a.cluster.peers().at(0).alive);
  // From then on, all of the global rate: 200/s over 3 s.
  a.admitted = 0;
  Run(3000);
  EXPECT_GE(a.admitted, 3 * 200 - 1);
  EXPECT_LE(a.admitted, 3 * 200 + 20);
}

}  // namespace
}  // namespace nines::ratelimit
