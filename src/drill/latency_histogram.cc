// LatencyHistogram: bucket index = magnitude (power of two) and the top
// kSubBucketBits bits below it.
#include "drill/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nines::drill {

int LatencyHistogram::BucketOf(int64_t micros) {
  if (micros < kSubBuckets) return micros < 0 ? 0 : static_cast<int>(micros);
  uint64_t v = static_cast<uint64_t>(micros);
  int magnitude = std::bit_width(v) - 1;  // >= kSubBucketBits
  if (magnitude > kMaxMagnitude) return kBucketCount - 1;
  int shift = magnitude - kSubBucketBits;
  int sub = static_cast<int>(v >> shift);  // in [32, 64)
  return kSubBuckets + shift * kSubBuckets + (sub - kSubBuckets);
}

int64_t LatencyHistogram::BucketHighest(int bucket) {
  if (bucket < kSubBuckets) return bucket;
  int shift = (bucket - kSubBuckets) / kSubBuckets;
  int sub = (bucket - kSubBuckets) % kSubBuckets + kSubBuckets;
  return ((static_cast<int64_t>(sub) + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  if (micros < 0) micros = 0;
  ++counts_[BucketOf(micros)];
  ++count_;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketHighest(i), max_);
  }
  return max_;
}

}  // namespace nines::drill
