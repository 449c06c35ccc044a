// A bounded latency histogram with logarithmic buckets (HdrHistogram's
// layout: 32 linear sub-buckets per power of two, so every value is kept
// within ~3%): fixed memory whatever the number of samples.
#pragma once

#include <array>
#include <cstdint>

namespace nines::drill {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;  // 32
  static constexpr int kMaxMagnitude = 40;                 // values up to 2^41 us (~25 days)
  static constexpr int kBucketCount =
      kSubBuckets + (kMaxMagnitude - kSubBucketBits + 1) * kSubBuckets;

  // Records one value in microseconds (negative counts as 0; huge values
  // land in the top bucket).
  void Record(int64_t micros);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The value at percentile p (0..100]: the highest value of the bucket that
  // holds the ceil(p% * count)-th sample, capped at the largest value seen.
  // 0 when empty.
  int64_t Percentile(double p) const;

  // Bucket arithmetic, exposed for tests.
  static int BucketOf(int64_t micros);
  static int64_t BucketHighest(int bucket);

 private:
  std::array<uint32_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace nines::drill
