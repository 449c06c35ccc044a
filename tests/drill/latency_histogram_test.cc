// LatencyHistogram: bucket bounds, relative error, percentiles, merging.
#include "drill/latency_histogram.h"

#include <gtest/gtest.h>

namespace nines::drill {
namespace {

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(99), 0);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  for (int64_t v = 0; v < 32; ++v) {
    EXPECT_EQ(LatencyHistogram::BucketOf(v), v);
    EXPECT_EQ(LatencyHistogram::BucketHighest(static_cast<int>(v)), v);
  }
}

TEST(LatencyHistogram, BucketsKeepValuesWithinThreePercent) {
  for (int64_t v = 1; v < 5'000'000'000LL; v = v * 13 / 10 + 1) {
    int b = LatencyHistogram::BucketOf(v);
    int64_t hi = LatencyHistogram::BucketHighest(b);
    ASSERT_GE(hi, v) << v;
    ASSERT_LE(static_cast<double>(hi - v), 0.032 * static_cast<double>(v) + 1) << v;
    if (b > 0) {
      ASSERT_LT(LatencyHistogram::BucketHighest(b - 1), v) << v;
    }
  }
}

TEST(LatencyHistogram, HugeAndNegativeValuesAreClamped) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(INT64_MAX);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.Percentile(1), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(INT64_MAX), LatencyHistogram::kBucketCount - 1);
}

TEST(LatencyHistogram, Percentiles) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.Record(i * 1000);  // 1..1000 ms
  EXPECT_NEAR(static_cast<double>(h.Percentile(50)), 500'000, 500'000 * 0.032);
  EXPECT_NEAR(static_cast<double>(h.Percentile(99)), 990'000, 990'000 * 0.032);
  EXPECT_EQ(h.Percentile(100), 1'000'000);  // capped at the max seen
  EXPECT_EQ(h.max(), 1'000'000);
}

TEST(LatencyHistogram, OneSlowRequestShowsInP99) {
  LatencyHistogram h;
  for (int i = 0; i < 99; ++i) h.Record(1000);
  h.Record(3'000'000);
  EXPECT_LE(h.Percentile(99), 1032);  // the 1 ms bucket, within 3%
  EXPECT_EQ(h.Percentile(99.5), 3'000'000);
}

TEST(LatencyHistogram, Merge) {
  LatencyHistogram a, b;
  a.Record(100);
  b.Record(200);
  b.Record(300);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), 300);
  EXPECT_NEAR(static_cast<double>(a.Percentile(50)), 200, 8);
}

}  // namespace
}  // namespace nines::drill
