// The per-client table stores keys in fixed space: long keys by a keyed
// digest that keeps distinct keys apart, short keys as they are.
#include "ratelimit/keyed_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace nines::ratelimit {
namespace {

TEST(KeyDigestTest, SipHashMatchesTheReferenceVectors) {
  // From the SipHash paper's reference implementation: key 00 01 .. 0f,
  // messages 00, 00 01, ...
  const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
  EXPECT_EQ(SipHash24(k0, k1, ""), 0x726fdb47dd0e0e31ull);
  std::string m;
  for (int i = 0; i < 15; ++i) m.push_back(static_cast<char>(i));
  EXPECT_EQ(SipHash24(k0, k1, m), 0xa129ca6149be45e5ull);
}

TEST(KeyDigestTest, ShortKeysStayAndLongKeysShrink) {
  KeyDigester d(1, 2, 3, 4);
  std::array<char, KeyDigester::kDigestSize> scratch;
  EXPECT_EQ(d.Form("10.0.0.1", &scratch), "10.0.0.1");
  EXPECT_EQ(d.Form(std::string(14, 'x'), &scratch), std::string(14, 'x'));
  EXPECT_EQ(d.Form(std::string(15, 'x'), &scratch).size(), KeyDigester::kDigestSize);
  EXPECT_EQ(d.Form(std::string(60000, 'x'), &scratch).size(), KeyDigester::kDigestSize);
}

TEST(KeyedLimiterTest, LongKeysSharingAPrefixAreDistinctBuckets) {
  KeyedRateLimiter limiter(MakeGcraParams(1, 3600, 1), 1000, 4);
  std::string a(60000, 'k'), b = a;
  b.back() = 'z';
  EXPECT_TRUE(limiter.Take(a, 0).allowed);
  EXPECT_FALSE(limiter.Take(a, 0).allowed);
  EXPECT_TRUE(limiter.Take(b, 0).allowed);
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(KeyedLimiterTest, MemoryIsBoundedInBytes) {
  // A past bug: 3,000 keys of 60 KB took 178 MB.
  KeyedRateLimiter limiter(MakeGcraParams(5, 60, 5), 100000);
  std::string key(60000, 'k');
  for (int i = 0; i < 3000; ++i) {
    std::string id = std::to_string(i);
    key.replace(0, id.size(), id);
    limiter.Take(key, 0);
  }
  EXPECT_EQ(limiter.size(), 3000u);
  EXPECT_LT(limiter.memory_bytes(), 3000u * 200 + 64 * 1024 * sizeof(void*));
  EXPECT_GT(limiter.memory_bytes(), 3000u * 64);
}

}  // namespace
}  // namespace nines::ratelimit
