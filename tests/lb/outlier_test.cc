// Passive ejection and the retry budget.
#include "lb/outlier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "lb/retry_budget.h"

namespace nines::lb {
namespace {

std::vector<std::shared_ptr<ServerState>> Pool(int n) {
  std::vector<std::shared_ptr<ServerState>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        std::make_shared<ServerState>("s" + std::to_string(i), Endpoint{"127.0.0.1", 9000}));
  }
  return out;
}

TEST(OutlierTest, EjectsAfterConsecutiveFailuresWithGrowingBackoff) {
  auto pool = Pool(4);
  OutlierConfig config;
  config.consecutive_failures = 3;
  config.base_ejection_ms = 1000;
  config.max_ejection_ms = 2500;
  ServerState& s = *pool[0];
  EXPECT_FALSE(RecordFailure(s, 0, config, pool));
  EXPECT_FALSE(RecordFailure(s, 0, config, pool));
  RecordSuccess(s, 0, config);  // a success resets the run
  EXPECT_FALSE(RecordFailure(s, 0, config, pool));
  EXPECT_FALSE(RecordFailure(s, 0, config, pool));
  EXPECT_TRUE(RecordFailure(s, 0, config, pool));
  EXPECT_TRUE(s.Ejected(999));
  EXPECT_FALSE(s.Ejected(1000));
  for (int i = 0; i < 3; ++i) RecordFailure(s, 1000, config, pool);
  EXPECT_TRUE(s.Ejected(2999));  // second ejection: 2x base
  EXPECT_FALSE(s.Ejected(3000));
  for (int i = 0; i < 3; ++i) RecordFailure(s, 3000, config, pool);
  EXPECT_TRUE(s.Ejected(5499));  // capped at max_ejection_ms
  EXPECT_FALSE(s.Ejected(5500));
}

TEST(OutlierTest, GuardKeepsMostOfThePoolInRotation) {
  auto pool = Pool(4);
  OutlierConfig config;
  config.consecutive_failures = 1;
  config.max_ejection_percent = 50;
  EXPECT_TRUE(RecordFailure(*pool[0], 0, config, pool));
  EXPECT_TRUE(RecordFailure(*pool[1], 0, config, pool));
  EXPECT_FALSE(RecordFailure(*pool[2], 0, config, pool));  // would be 75%
  EXPECT_FALSE(pool[2]->Ejected(0));
}

// An overloaded lb sees every one of its region's apps fail at
// once. With the other regions' apps as backups in the same pool, a guard
// over the whole pool let it eject all of its own apps and send the
// region's load across the world. The guard holds for the primaries alone.
TEST(OutlierTest, GuardKeepsMostOfThePrimariesInRotation) {
  auto pool = Pool(9);
  for (int i = 3; i < 9; ++i) pool[i]->backup.store(true);
  OutlierConfig config;
  config.consecutive_failures = 1;
  config.max_ejection_percent = 50;
  EXPECT_TRUE(RecordFailure(*pool[0], 0, config, pool));
  EXPECT_FALSE(RecordFailure(*pool[1], 0, config, pool));  // 2 of 3 primaries: 67%
  EXPECT_FALSE(RecordFailure(*pool[2], 0, config, pool));
  EXPECT_FALSE(pool[1]->Ejected(0));
  EXPECT_FALSE(pool[2]->Ejected(0));
  // Backups are guarded among themselves: 3 of 6 may go.
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(RecordFailure(*pool[i], 0, config, pool)) << i;
  EXPECT_FALSE(RecordFailure(*pool[6], 0, config, pool));
}

TEST(OutlierTest, OneServerIsAlwaysEjectable) {
  auto pool = Pool(2);
  OutlierConfig config;
  config.consecutive_failures = 1;
  config.max_ejection_percent = 10;
  EXPECT_TRUE(RecordFailure(*pool[0], 0, config, pool));
  EXPECT_FALSE(RecordFailure(*pool[1], 0, config, pool));
}

TEST(OutlierTest, ZeroDisablesEjection) {
  auto pool = Pool(2);
  OutlierConfig config;
  config.consecutive_failures = 0;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(RecordFailure(*pool[0], 0, config, pool));
}

TEST(RetryBudgetTest, RetriesNeverExceedRequests) {
  RetryBudget budget(1.0);
  int retries = 0;
  for (int i = 0; i < 1000; ++i) {
    budget.OnRequestAt(0);
    // Every request fails and wants three retries.
    for (int k = 0; k < 3; ++k) retries += budget.TryRetryAt(0) ? 1 : 0;
  }
  EXPECT_EQ(retries, 1000);
}

TEST(RetryBudgetTest, RatioLimitsShare) {
  RetryBudget budget(0.2);
  int retries = 0;
  for (int i = 0; i < 1000; ++i) {
    budget.OnRequestAt(0);
    retries += budget.TryRetryAt(0) ? 1 : 0;
  }
  EXPECT_EQ(retries, 200);
}

TEST(RetryBudgetTest, BankedCreditIsCapped) {
  // A past bug: healthy traffic banked up to 1,000 retries, so a
  // following outage got three attempts per request instead of two.
  RetryBudget budget(1.0);
  for (int i = 0; i < 10000; ++i) budget.OnRequest();
  int retries = 0;
  for (int i = 0; i < 100; ++i) {
    budget.OnRequest();
    for (int k = 0; k < 2; ++k) retries += budget.TryRetry() ? 1 : 0;
  }
  EXPECT_GT(retries, 0);
  EXPECT_LE(retries, 100 + 10);  // the ratio, plus a bank of at most 10
}

TEST(RetryBudgetTest, BankDecays) {
  RetryBudget budget(1.0);
  for (int i = 0; i < 10; ++i) budget.OnRequestAt(1000);
  EXPECT_DOUBLE_EQ(budget.credits(), 10);
  EXPECT_TRUE(budget.TryRetryAt(1999));  // no decay within a second
  EXPECT_DOUBLE_EQ(budget.credits(), 9);
  EXPECT_TRUE(budget.TryRetryAt(11000));  // ten seconds: half left (4.5), one spent
  EXPECT_DOUBLE_EQ(budget.credits(), 3.5);
  // An hour later nothing is left.
  EXPECT_FALSE(budget.TryRetryAt(3'601'000));
}

TEST(RetryBudgetTest, BankGrowsWithRequestsInFlight) {
  // 40 requests in flight: all of them may need a retry at once.
  RetryBudget budget(1.0);
  for (int i = 0; i < 100; ++i) budget.OnRequestAt(0, 40);
  EXPECT_DOUBLE_EQ(budget.credits(), 40);
  // Fewer in flight: no new credit above the smaller cap, none taken away.
  budget.OnRequestAt(0, 1);
  EXPECT_DOUBLE_EQ(budget.credits(), 40);
  RetryBudget small(0.2);
  for (int i = 0; i < 1000; ++i) small.OnRequestAt(0, 40);
  EXPECT_DOUBLE_EQ(small.credits(), 10);  // 0.2 x 40 = 8 < 10
}

TEST(RetryBudgetTest, ThreadsTogetherNeverExceedTheBudget) {
  // Every worker thread deposits and spends without a lock: the retries of
  // all of them together still never exceed what was deposited, and the
  // bank stays within its cap.
  RetryBudget budget(1.0);
  std::atomic<int> retries{0};
  std::vector<std::thread> threads;
  constexpr int kThreads = 4;
  constexpr int kRequests = 20000;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRequests; ++i) {
        budget.OnRequestAt(i / 10);  // 0 to 2 s: decay steps race too
        for (int k = 0; k < 2; ++k) retries += budget.TryRetryAt(i / 10) ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(retries.load(), 0);
  EXPECT_LE(retries.load(), kThreads * kRequests);
  EXPECT_GE(budget.credits(), 0);
  EXPECT_LE(budget.credits(), RetryBudget::kMaxBanked);
}

TEST(OutlierTest, OnlyGatewayFailuresCount) {
  auto pool = Pool(4);
  OutlierConfig config;
  config.consecutive_failures = 2;
  ServerState& s = *pool[0];
  for (int status : {500, 501, 505, 500, 404, 200}) {
    EXPECT_FALSE(RecordResponse(s, status, 0, config, pool)) << status;
  }
  EXPECT_FALSE(RecordResponse(s, 502, 0, config, pool));
  EXPECT_FALSE(RecordResponse(s, 500, 0, config, pool));  // the application answered: run reset
  EXPECT_FALSE(RecordResponse(s, 503, 0, config, pool));
  EXPECT_TRUE(RecordResponse(s, 504, 0, config, pool));
  EXPECT_TRUE(IsGatewayFailure(502));
  EXPECT_FALSE(IsGatewayFailure(500));
}

// Latency: a server whose time to the response head stays far above both the
// absolute threshold and the tier's median is ejected, then re-admitted.
OutlierConfig LatencyConfig() {
  OutlierConfig config;
  config.latency_ms = 250;
  config.latency_factor = 3;
  config.latency_min_samples = 10;
  config.base_ejection_ms = 1000;
  return config;
}

TEST(OutlierLatencyTest, EjectsASlowServerAndReadmitsIt) {
  auto pool = Pool(3);
  OutlierConfig config = LatencyConfig();
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(RecordLatency(*pool[0], 10, 0, config, pool));
    EXPECT_FALSE(RecordLatency(*pool[1], 12, 0, config, pool));
  }
  bool ejected = false;
  for (int i = 0; i < 10 && !ejected; ++i) ejected = RecordLatency(*pool[2], 500, 0, config, pool);
  EXPECT_TRUE(ejected);
  EXPECT_TRUE(pool[2]->Ejected(999));
  EXPECT_FALSE(pool[2]->Ejected(1000));  // base_ejection_ms x 1
  EXPECT_EQ(pool[2]->latency_ejections.load(), 1);
  // Re-admitted with a fresh average: it needs min_samples again.
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(RecordLatency(*pool[2], 500, 1000, config, pool));
  EXPECT_TRUE(RecordLatency(*pool[2], 500, 1000, config, pool));
  EXPECT_TRUE(pool[2]->Ejected(2999));  // second ejection: 2x base
}

TEST(OutlierLatencyTest, NeedsMinSamples) {
  auto pool = Pool(3);
  OutlierConfig config = LatencyConfig();
  for (int i = 0; i < 10; ++i) {
    RecordLatency(*pool[0], 10, 0, config, pool);
    RecordLatency(*pool[1], 10, 0, config, pool);
  }
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(RecordLatency(*pool[2], 900, 0, config, pool));
  EXPECT_FALSE(pool[2]->Ejected(0));
}

TEST(OutlierLatencyTest, SlowButBelowTheAbsoluteThresholdStays) {
  auto pool = Pool(3);
  OutlierConfig config = LatencyConfig();
  for (int i = 0; i < 20; ++i) {
    RecordLatency(*pool[0], 10, 0, config, pool);
    RecordLatency(*pool[1], 10, 0, config, pool);
    EXPECT_FALSE(RecordLatency(*pool[2], 200, 0, config, pool));  // 20x median, < 250 ms
  }
}

// The lb itself overloaded: every server is slow, none is slow relative to
// the others, so none is ejected.
TEST(OutlierLatencyTest, AllSlowEjectsNone) {
  auto pool = Pool(3);
  OutlierConfig config = LatencyConfig();
  for (int i = 0; i < 20; ++i) {
    for (int s = 0; s < 3; ++s) {
      EXPECT_FALSE(RecordLatency(*pool[s], 400 + 100 * s, 0, config, pool));
    }
  }
}

TEST(OutlierLatencyTest, GuardHoldsForLatencyToo) {
  auto pool = Pool(4);
  OutlierConfig config = LatencyConfig();
  config.max_ejection_percent = 25;
  for (int i = 0; i < 10; ++i) {
    RecordLatency(*pool[0], 10, 0, config, pool);
    RecordLatency(*pool[1], 10, 0, config, pool);
  }
  bool ejected = false;
  for (int i = 0; i < 20; ++i) ejected = RecordLatency(*pool[2], 900, 0, config, pool) || ejected;
  EXPECT_TRUE(ejected);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(RecordLatency(*pool[3], 900, 0, config, pool));
  EXPECT_FALSE(pool[3]->Ejected(0));  // would be 50%
}

TEST(OutlierLatencyTest, ZeroIsOff) {
  auto pool = Pool(3);
  OutlierConfig config = LatencyConfig();
  config.latency_ms = 0;
  for (int i = 0; i < 20; ++i) {
    RecordLatency(*pool[0], 10, 0, config, pool);
    RecordLatency(*pool[1], 10, 0, config, pool);
    EXPECT_FALSE(RecordLatency(*pool[2], 5000, 0, config, pool));
  }
}

}  // namespace
}  // namespace nines::lb
