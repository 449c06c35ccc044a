// One Ready can hold more than a WAL segment (many writes, or one large value
// with its neighbours): the member must write it, not crash-stop on it, and
// every acknowledged write must come back after a restart (found by
// nines_sim_store: "WAL batch of N bytes exceeds the segment size").
#include <gtest/gtest.h>

#include <string>

#include "node_harness.h"
#include "store/store_node.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeHarness;
using testing::SetCommand;

TEST(StoreNodeWalBatch, AReadyLargerThanASegmentIsWrittenAndRecovered) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.wal_segment_bytes = 4096;
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(h.StartAlone(*node));
    int acked = 0;
    for (int i = 0; i < 6; ++i) {
      // Proposed together: one Ready, about 9 KB of entries.
      ASSERT_TRUE(
          node->ProposeWrite(SetCommand("k" + std::to_string(i), std::string(1500, 'a' + i)),
                             nullptr, [&](const KvResult* result, uint64_t, const std::string&) {
                               acked += result != nullptr;
                             }));
    }
    ASSERT_NO_THROW(h.Settle(*node));
    EXPECT_EQ(acked, 6);
    ASSERT_TRUE(node->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  for (int i = 0; i < 6; ++i) {
    const KvEntry* entry = node->state().Find("k" + std::to_string(i), 0);
    if (entry == nullptr) {
      // Applied again from the log once the member leads.
      node->CampaignIfAlone();
      h.Settle(*node);
      entry = node->state().Find("k" + std::to_string(i), 0);
    }
    ASSERT_NE(entry, nullptr) << i;
    EXPECT_EQ(entry->value, std::string(1500, 'a' + i));
  }
}

}  // namespace
}  // namespace nines::store
