// LoadSchedule: intended times do not drift, DueBy never runs ahead, and
// latency counts from the intended time (a stall is not hidden).
#include "drill/load_schedule.h"

#include <gtest/gtest.h>

namespace nines::drill {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(LoadSchedule, TotalIsRateTimesDuration) {
  EXPECT_EQ(LoadSchedule(50, 0, 30 * kSec).total(), 1500u);
  EXPECT_EQ(LoadSchedule(3, 0, kSec / 2).total(), 1u);
  EXPECT_EQ(LoadSchedule(0, 0, kSec).total(), 0u);
}

TEST(LoadSchedule, IntendedTimesAreEvenlySpaced) {
  LoadSchedule s(3, 100, 10 * kSec);
  EXPECT_EQ(s.IntendedNanos(0), 100);
  EXPECT_EQ(s.IntendedNanos(3), 100 + kSec);
  EXPECT_EQ(s.IntendedNanos(1), 100 + 333'333'333);
  // No drift after many requests.
  LoadSchedule fast(7, 0, 10000 * kSec);
  EXPECT_EQ(fast.IntendedNanos(70000), 10000 * kSec);
}

TEST(LoadSchedule, DueByCountsRequestsWhoseTimeHasCome) {
  LoadSchedule s(10, kSec, 2 * kSec);
  EXPECT_EQ(s.DueBy(0), 0u);
  EXPECT_EQ(s.DueBy(kSec), 1u);  // request 0 is due at the start
  EXPECT_EQ(s.DueBy(kSec + 99'999'999), 1u);
  EXPECT_EQ(s.DueBy(kSec + 100'000'000), 2u);
  EXPECT_EQ(s.DueBy(100 * kSec), 20u);  // capped at the total
  for (int64_t t = kSec; t < 3 * kSec; t += 7'777'777) {
    uint64_t due = s.DueBy(t);
    if (due > 0) {
      EXPECT_LE(s.IntendedNanos(due - 1), t);
    }
    if (due < s.total()) {
      EXPECT_GT(s.IntendedNanos(due), t);
    }
  }
}

TEST(LoadSchedule, StallCountsAsLatencyFromIntendedTime) {
  // The sender stalls for a second; requests sent late carry the stall.
  LoadSchedule s(100, 0, 10 * kSec);
  uint64_t i = 50;  // intended at 0.5 s
  int64_t sent_late_at = kSec + 500'000'000;
  int64_t done = sent_late_at + 2'000'000;  // the server took 2 ms
  EXPECT_EQ(s.LatencyNanos(i, done), kSec + 2'000'000);
}

}  // namespace
}  // namespace nines::drill
