// GCRA arithmetic, the bounded per-client table, the global share.
#include "ratelimit/gcra.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "ratelimit/cluster.h"
#include "ratelimit/global_limiter.h"
#include "ratelimit/keyed_limiter.h"

namespace nines::ratelimit {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(GcraTest, FivePerMinute) {
  GcraParams p = MakeGcraParams(5, 60, 5);
  int64_t tat = 0;
  int64_t now = 100 * kSecond;
  for (int i = 0; i < 5; ++i) {
    GcraDecision d = GcraTake(p, &tat, now);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
  }
  GcraDecision d = GcraTake(p, &tat, now);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after_s, 12);  // one request every 12 s
  EXPECT_EQ(d.reset_s, 12);
  // 12 s later exactly one more is allowed.
  EXPECT_FALSE(GcraTake(p, &tat, now + 11 * kSecond).allowed);
  EXPECT_TRUE(GcraTake(p, &tat, now + 12 * kSecond).allowed);
  EXPECT_FALSE(GcraTake(p, &tat, now + 12 * kSecond).allowed);
}

TEST(GcraTest, RetryAfterIsAtLeastOneSecond) {
  GcraParams p = MakeGcraParams(1000, 1, 1);
  int64_t tat = 0;
  EXPECT_TRUE(GcraTake(p, &tat, kSecond).allowed);
  GcraDecision d = GcraTake(p, &tat, kSecond);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1);
}

TEST(GcraTest, SustainedRateMatchesConfiguration) {
  GcraParams p = MakeGcraParams(200, 1, 200);
  int64_t tat = 0;
  int allowed = 0;
  // Offered 10x the rate for 5 s in 1 ms steps.
  for (int64_t t = 0; t < 5 * kSecond; t += kSecond / 1000) {
    for (int k = 0; k < 2; ++k) allowed += GcraTake(p, &tat, kSecond + t).allowed ? 1 : 0;
  }
  EXPECT_NEAR(allowed, 200 + 1000, 2);  // the burst, then 200/s
}

TEST(GcraTest, AtomicIsExactAcrossThreads) {
  GcraParams p = MakeGcraParams(1000, 1, 1000);
  AtomicGcra gcra;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) allowed += gcra.Take(p, kSecond).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);  // exactly the burst, never more
}

TEST(KeyedLimiterTest, KeysAreIndependent) {
  KeyedRateLimiter limiter(MakeGcraParams(2, 60, 2), 100);
  EXPECT_TRUE(limiter.Take("a", kSecond).allowed);
  EXPECT_TRUE(limiter.Take("a", kSecond).allowed);
  EXPECT_FALSE(limiter.Take("a", kSecond).allowed);
  EXPECT_TRUE(limiter.Take("b", kSecond).allowed);
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(KeyedLimiterTest, TableIsBoundedAndEvictsLeastRecentlySeen) {
  KeyedRateLimiter limiter(MakeGcraParams(1, 60, 1), 64, 1);
  EXPECT_TRUE(limiter.Take("hot", kSecond).allowed);
  for (int i = 0; i < 10000; ++i) {
    limiter.Take("flood-" + std::to_string(i), kSecond);
    if (i % 10 == 0) {
      EXPECT_FALSE(limiter.Take("hot", kSecond).allowed);  // stays recent
    }
    EXPECT_LE(limiter.size(), 64u);
  }
  EXPECT_GE(limiter.evictions(), 10000u - 64u);
  // "hot" was seen often, so it was never evicted and is still limited.
  EXPECT_FALSE(limiter.Take("hot", kSecond).allowed);
}

TEST(KeyedLimiterTest, ExactUnderConcurrency) {
  KeyedRateLimiter limiter(MakeGcraParams(100, 60, 100), 1000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed += limiter.Take("one", kSecond).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(GlobalLimiterTest, ShareScalesRateAndBurst) {
  GlobalRateLimiter g(200, 1, 200);
  g.SetShare(0.5);
  GcraParams p = g.current();
  EXPECT_EQ(p.emission_ns, 10'000'000);  // 100/s
  EXPECT_EQ(p.burst, 100);
  EXPECT_EQ(g.policy().quota, 200);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += g.Take(kSecond).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 100);
  EXPECT_EQ(g.attempts(), 1000u);
}

TEST(GlobalLimiterTest, ComputeShare) {
  double none[1] = {0};
  EXPECT_DOUBLE_EQ(ComputeShare(200, 0, none, 0), 1.0);  // alone
  double even[1] = {1000};
  EXPECT_DOUBLE_EQ(ComputeShare(200, 1000, even, 1), 0.5);  // saturated, equal demand
  double heavy[1] = {900};
  EXPECT_NEAR(ComputeShare(200, 100, heavy, 1), 0.1, 1e-9);  // proportional to demand
  double light[1] = {50};
  // Below the limit: own demand plus half of what is left.
  EXPECT_NEAR(ComputeShare(200, 50, light, 1), (50 + 50) / 200.0, 1e-9);
  double idle[2] = {0, 0};
  EXPECT_NEAR(ComputeShare(300, 0, idle, 2), 1.0 / 3, 1e-9);
  double busy[1] = {1e6};
  EXPECT_GT(ComputeShare(200, 0, busy, 1), 0);  // never starved completely
}

TEST(ClusterTest, ParsesReportsStrictly) {
  std::string id;
  uint64_t seq;
  double demand;
  EXPECT_TRUE(ParseShareReport("NRL1 lb-1 42 123.500\n", &id, &seq, &demand));
  EXPECT_EQ(id, "lb-1");
  EXPECT_EQ(seq, 42u);
  EXPECT_DOUBLE_EQ(demand, 123.5);
  for (const char* bad : {"", "NRL1 lb-1 42 1", "NRL2 a 1 1\n", "NRL1 a x 1\n", "NRL1 a 1 -5\n",
                          "NRL1  1 1\n", "NRL1 a 1 1 extra\n", "NRL1 a\x01 1 1\n"}) {
    EXPECT_FALSE(ParseShareReport(bad, &id, &seq, &demand)) << bad;
  }
}

}  // namespace
}  // namespace nines::ratelimit
