// SlowFsyncDetector (src/store/slow_fsync.h): consecutive slow fsyncs raise
// the flag, a single hiccup does not, the flag holds for the cooldown after
// the last slow fsync, and a clock that steps back cannot hold it longer.
#include "store/slow_fsync.h"

#include <gtest/gtest.h>

namespace nines::store {
namespace {

SlowFsyncOptions Options() {
  SlowFsyncOptions o;
  o.slow_ms = 100;
  o.count = 3;
  o.cooldown_ms = 10000;
  return o;
}

TEST(SlowFsyncDetector, ThreeConsecutiveSlowFsyncsRaiseTheFlag) {
  SlowFsyncDetector d(Options());
  EXPECT_FALSE(d.Observe(200, 1000));
  EXPECT_FALSE(d.Observe(200, 1200));
  EXPECT_FALSE(d.Slow(1200));
  EXPECT_TRUE(d.Observe(100, 1400));  // at the threshold counts as slow
  EXPECT_TRUE(d.Slow(1400));
  EXPECT_EQ(d.raised(), 1u);
  EXPECT_FALSE(d.Observe(300, 1700));  // already up: raised once
  EXPECT_EQ(d.raised(), 1u);
  EXPECT_EQ(d.slow_fsyncs(), 4u);
}

TEST(SlowFsyncDetector, AHiccupBetweenFastFsyncsDoesNotRaiseTheFlag) {
  SlowFsyncDetector d(Options());
  int64_t now = 0;
  for (int round = 0; round < 100; ++round) {
    // Two slow fsyncs, then a fast one: never three in a row.
    EXPECT_FALSE(d.Observe(5000, now += 5000));
    EXPECT_FALSE(d.Observe(150, now += 150));
    EXPECT_FALSE(d.Observe(99, now += 99));
    EXPECT_FALSE(d.Slow(now));
  }
  EXPECT_EQ(d.raised(), 0u);
  EXPECT_EQ(d.slow_fsyncs(), 200u);
}

TEST(SlowFsyncDetector, TheFlagHoldsForTheCooldownAfterTheLastSlowFsync) {
  SlowFsyncDetector d(Options());
  for (int64_t t : {1000, 1200, 1400}) d.Observe(200, t);
  ASSERT_TRUE(d.Slow(1400));
  // Fast fsyncs do not drop it early: the member must not take leadership
  // back at the first fast fsync.
  EXPECT_FALSE(d.Observe(1, 2000));
  EXPECT_TRUE(d.Slow(11399));
  EXPECT_FALSE(d.Slow(11400));
  EXPECT_FALSE(d.Slow(11401));
  // Raised again only by count consecutive slow fsyncs again.
  EXPECT_FALSE(d.Observe(200, 12000));
  EXPECT_FALSE(d.Slow(12000));
  EXPECT_FALSE(d.Observe(200, 12200));
  EXPECT_TRUE(d.Observe(200, 12400));
  EXPECT_EQ(d.raised(), 2u);
}

TEST(SlowFsyncDetector, SlowFsyncsKeepTheFlagUp) {
  SlowFsyncDetector d(Options());
  int64_t now = 0;
  for (int i = 0; i < 3; ++i) d.Observe(200, now += 200);
  for (int i = 0; i < 200; ++i) {
    d.Observe(200, now += 200);  // 40 s of slow fsyncs: longer than the cooldown
    EXPECT_TRUE(d.Slow(now));
  }
  EXPECT_TRUE(d.Slow(now + 9999));
  EXPECT_FALSE(d.Slow(now + 10000));
}

TEST(SlowFsyncDetector, AClockStepBackHoldsTheFlagNoLongerThanACooldown) {
  SlowFsyncDetector d(Options());
  const int64_t hour = 3600 * 1000;
  for (int64_t t : {hour, hour + 200, hour + 400}) d.Observe(200, t);
  ASSERT_TRUE(d.Slow(hour + 400));
  // The clock steps back an hour: the flag holds a cooldown from then, not
  // an hour and a cooldown.
  EXPECT_TRUE(d.Slow(0));
  EXPECT_TRUE(d.Slow(9999));
  EXPECT_FALSE(d.Slow(10000));
  // A step back during an fsync measures a negative duration: fast.
  EXPECT_FALSE(d.Observe(-hour, 20000));
  EXPECT_EQ(d.consecutive_slow(), 0);
}

TEST(SlowFsyncDetector, ClockStepForwardDuringOneFsyncIsOneHiccup) {
  SlowFsyncDetector d(Options());
  EXPECT_FALSE(d.Observe(3600 * 1000, 3600 * 1000));  // one huge measurement: not three
  EXPECT_FALSE(d.Observe(2, 3600 * 1000 + 2));
  EXPECT_FALSE(d.Slow(3600 * 1000 + 2));
}

TEST(SlowFsyncDetector, ZeroSlowMsTurnsItOff) {
  SlowFsyncOptions o = Options();
  o.slow_ms = 0;
  SlowFsyncDetector d(o);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.Observe(10000, i * 10000));
  EXPECT_FALSE(d.Slow(100000));
  EXPECT_EQ(d.slow_fsyncs(), 0u);
}

}  // namespace
}  // namespace nines::store
