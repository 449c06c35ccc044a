// Timeline: per-second buckets, spike traffic kept apart, fault windows and
// the end of the last failure.
#include "drill/timeline.h"

#include <gtest/gtest.h>

#include "drill/fault_figures.h"

namespace nines::drill {
namespace {

TEST(Timeline, BucketsBySecondOfIntendedTime) {
  Timeline t(5);
  t.Record(0, Outcome::kOk, 1000);
  t.Record(999, Outcome::kOk, 2000);
  t.Record(1000, Outcome::kFailed, 3'000'000);
  t.Record(1500, Outcome::kRateLimited, 500);
  EXPECT_EQ(t.second(0).ok, 2u);
  EXPECT_EQ(t.second(1).failed, 1u);
  EXPECT_EQ(t.second(1).rate_limited, 1u);
  EXPECT_EQ(t.second(1).latency.count(), 2u);
  EXPECT_EQ(t.second(1).latency.max(), 3'000'000);
  Totals tot = t.totals();
  EXPECT_EQ(tot.regular(), 4u);
  EXPECT_EQ(tot.ok, 2u);
}

TEST(Timeline, SpikeTrafficIsCountedApart) {
  Timeline t(2);
  t.Record(10, Outcome::kSpikeRateLimited, 100);
  t.Record(20, Outcome::kSpikeOk, 100);
  t.Record(30, Outcome::kOk, 100);
  Totals tot = t.totals();
  EXPECT_EQ(tot.regular(), 1u);
  EXPECT_EQ(tot.spike(), 2u);
  EXPECT_EQ(t.second(0).latency.count(), 1u);  // spike latencies not mixed in
  EXPECT_EQ(t.RequestsBetween(0, 1000), 1u);
  EXPECT_EQ(t.FailuresBetween(0, 1000), 0u);
}

TEST(Timeline, OutOfRangeTimesAreClamped) {
  Timeline t(2);
  t.Record(-50, Outcome::kOk, 1);
  t.Record(99'000, Outcome::kFailed, 1);
  EXPECT_EQ(t.second(0).ok, 1u);
  EXPECT_EQ(t.second(1).failed, 1u);
  EXPECT_EQ(Timeline(0).seconds(), 1);
  EXPECT_EQ(Timeline(1'000'000).seconds(), Timeline::kMaxSeconds);
}

TEST(Timeline, LastFailureEnd) {
  Timeline t(10);
  for (int ms = 0; ms < 10000; ms += 20) {
    bool failing = ms >= 3000 && ms < 4250;
    t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, 1000);
  }
  EXPECT_EQ(t.LastFailureEndBetween(2000, 8000), 4300);
  EXPECT_EQ(t.LastFailureEndBetween(5000, 8000), -1);
  EXPECT_EQ(t.FailuresBetween(2000, 8000), 63u);  // 3000..4240 every 20 ms
  EXPECT_EQ(t.RequestsBetween(2000, 8000), 300u);
  // Adjacent windows share no slot, even at a boundary inside one.
  EXPECT_EQ(t.FailuresBetween(2000, 3650) + t.FailuresBetween(3650, 8000), 63u);
  EXPECT_EQ(t.RequestsBetween(0, 3650) + t.RequestsBetween(3650, 10000), 500u);
}

TEST(FaultFigures, FromTheWindow) {
  Timeline t(20);
  for (int ms = 0; ms < 20000; ms += 10) {
    bool failing = ms >= 5000 && ms < 5800;
    t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, 1000);
  }
  FaultResult f;
  f.kind = FaultKind::kLeader;
  f.start_ms = 5000;
  f.end_ms = 8000;
  f.window_end_ms = 12000;
  ComputeFaultFigures(t, &f);
  EXPECT_EQ(f.requests, 700u);
  EXPECT_EQ(f.failures, 80u);
  EXPECT_EQ(f.full_service_after_ms, 800);

  FaultResult clean = f;
  clean.start_ms = 12000;
  clean.window_end_ms = 20000;
  ComputeFaultFigures(t, &clean);
  EXPECT_EQ(clean.failures, 0u);
  EXPECT_EQ(clean.full_service_after_ms, 0);
}

TEST(FaultFigures, SpikeCountsTheSpikingClient) {
  Timeline t(10);
  for (int ms = 2000; ms < 4000; ms += 2) {
    t.Record(ms, ms % 10 == 0 ? Outcome::kSpikeOk : Outcome::kSpikeRateLimited, 100);
  }
  FaultResult f;
  f.kind = FaultKind::kSpike;
  f.start_ms = 2000;
  f.end_ms = 4000;
  f.window_end_ms = 6000;
  ComputeFaultFigures(t, &f);
  EXPECT_EQ(f.spike_sent, 1000u);
  EXPECT_EQ(f.spike_rate_limited, 800u);
  EXPECT_EQ(f.failures, 0u);
}

}  // namespace
}  // namespace nines::drill
