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

TEST(Timeline, RequestsRefusedByTheClientFailWithoutALatency) {
  // The drill's own in-flight limit refused them: they were never sent, so
  // they have no latency; a 0 would pull the percentiles down.
  Timeline t(2);
  t.Record(10, Outcome::kOk, 100'000);
  t.Record(20, Outcome::kRefusedByClient, 0);
  t.Record(30, Outcome::kRefusedByClient, 0);
  Totals tot = t.totals();
  EXPECT_EQ(tot.refused_by_client, 2u);
  EXPECT_EQ(tot.regular(), 3u);  // they count against availability
  EXPECT_EQ(t.FailuresBetween(0, 1000), 2u);
  EXPECT_EQ(t.RequestsBetween(0, 1000), 3u);
  EXPECT_EQ(t.TotalLatency().count(), 1u);
  EXPECT_EQ(t.TotalLatency().Percentile(50), t.TotalLatency().max());
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

// Failures while the fault is held and after its undo (a region rejoining)
// are both the fault's; failures_held counts the first kind only.
TEST(FaultFigures, FailuresHeldAreThoseBeforeTheUndo) {
  Timeline t(20);
  for (int ms = 0; ms < 20000; ms += 10) {
    bool failing = (ms >= 5000 && ms < 5100) || (ms >= 9000 && ms < 9500);
    t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, 1000);
  }
  FaultResult f;
  f.kind = FaultKind::kRegion;
  f.start_ms = 5000;
  f.end_ms = 8000;
  f.window_end_ms = 12000;
  ComputeFaultFigures(t, &f);
  EXPECT_EQ(f.failures, 60u);
  EXPECT_EQ(f.failures_held, 10u);
}

// Every 10 ms a request, failing in the given [from, to) ranges. Faults: A
// (leader) held 2000-4000, B skipped at 6000, C (app) at 9000.
struct ThreeFaults {
  Timeline t{20};
  std::vector<FaultResult> faults;
  explicit ThreeFaults(std::vector<std::pair<int, int>> failing_ranges) {
    for (int ms = 0; ms < 20000; ms += 10) {
      bool failing = false;
      for (auto [from, to] : failing_ranges) failing = failing || (ms >= from && ms < to);
      t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, 1000);
    }
    FaultResult a;
    a.kind = FaultKind::kLeader;
    a.start_ms = 2000;
    a.end_ms = 4000;
    a.window_end_ms = 6000;  // as planned: B's start
    FaultResult b;
    b.kind = FaultKind::kFreeze;
    b.skipped = true;
    b.start_ms = 6000;
    b.end_ms = 6000;
    b.window_end_ms = 9000;
    FaultResult c;
    c.kind = FaultKind::kApp;
    c.start_ms = 9000;
    c.end_ms = 10000;
    c.window_end_ms = 20000;
    faults = {a, b, c};
    ComputeFaultFigures(t, &faults, 20000);
  }
};

// A's outage never ended: failures from its injection on, past C's.
ThreeFaults LongOutage() {
  return ThreeFaults({{2000, 9600}, {12000, 12200}});
}

TEST(FaultFigures, ASkippedFaultGetsNoWindow) {
  ThreeFaults run = LongOutage();
  const FaultResult& b = run.faults[1];
  EXPECT_EQ(b.requests, 0u);
  EXPECT_EQ(b.failures, 0u);
  EXPECT_EQ(b.full_service_after_ms, 0);
  // A's window runs to the next fault that was really injected.
  EXPECT_EQ(run.faults[0].window_end_ms, 9000);
}

TEST(FaultFigures, FullServiceAfterIsNotCappedAtTheWindow) {
  ThreeFaults run = LongOutage();
  const FaultResult& a = run.faults[0];
  // Failures ran on past C's injection until 9600: A's, not C's.
  EXPECT_EQ(a.full_service_after_ms, 7600);
  EXPECT_TRUE(a.full_service_beyond_window);
  EXPECT_EQ(a.charged_until_ms, 9600);
  EXPECT_EQ(a.failures, 760u);
  EXPECT_EQ(a.requests, 760u);
}

TEST(FaultFigures, FailuresAfterTheWindowAreNotBlamedOnTheNextFault) {
  ThreeFaults run = LongOutage();
  const FaultResult& c = run.faults[2];
  EXPECT_EQ(c.failures, 20u);  // only [12000, 12200)
  EXPECT_EQ(c.requests, 1040u);
  EXPECT_EQ(c.full_service_after_ms, 3200);
  EXPECT_FALSE(c.full_service_beyond_window);
  // ... and C says its count starts late: its own cost before 9600 cannot be
  // told apart from A's (never a clean "0 failures" for an overlapped fault).
  EXPECT_EQ(c.counted_from_ms, 9600);
  EXPECT_EQ(run.faults[0].counted_from_ms, 2000);
  // Every regular request is charged to at most one fault.
  EXPECT_EQ(run.faults[0].requests + run.faults[2].requests, 1800u);
}

// A recovered (clean from 2500), then failures began shortly before C's
// injection (requests in flight when C struck): they are not A's outage
// going on, so A's window is not stretched over C's failures.
TEST(FaultFigures, FailuresThatBeganAfterARecoveryAreNotAnOutageGoingOn) {
  ThreeFaults run({{2000, 2500}, {8500, 9600}, {12000, 12200}});
  const FaultResult& a = run.faults[0];
  EXPECT_FALSE(a.full_service_beyond_window);
  EXPECT_EQ(a.charged_until_ms, 9000);
  EXPECT_EQ(a.failures, 100u);  // [2000, 2500) and [8500, 9000): in its window
  const FaultResult& c = run.faults[2];
  EXPECT_EQ(c.counted_from_ms, 9000);
  EXPECT_EQ(c.failures, 80u);  // [9000, 9600) and [12000, 12200)
  EXPECT_EQ(c.requests, 1100u);
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
