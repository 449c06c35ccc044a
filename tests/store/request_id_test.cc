// Request ids (store/request_id.h): ids of different boots of one member must
// not collide, whatever the wall clock did between the boots.
#include "store/request_id.h"

#include <gtest/gtest.h>

#include <set>

namespace nines::store {
namespace {

TEST(RequestId, CountsUpFromTheNonce) {
  RequestIdGenerator ids(41);
  EXPECT_EQ(ids.Next(), 42u);
  EXPECT_EQ(ids.Next(), 43u);
}

// Boots in the same wall-clock millisecond (or after the clock stepped back
// to it) must still get disjoint id ranges: the nonce may not come from the
// wall clock.
TEST(RequestId, BootsAtTheSameWallClockTimeGetDifferentNonces) {
  std::set<uint64_t> nonces;
  for (int i = 0; i < 100; ++i) nonces.insert(BootNonce());
  EXPECT_EQ(nonces.size(), 100u) << "two boots drew the same nonce";
}

TEST(RequestId, TwoBootsDrawDisjointIds) {
  RequestIdGenerator first(BootNonce());
  RequestIdGenerator second(BootNonce());
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(first.Next());
  int collisions = 0;
  for (int i = 0; i < 10000; ++i) collisions += seen.count(second.Next()) ? 1 : 0;
  EXPECT_EQ(collisions, 0);
}

}  // namespace
}  // namespace nines::store
