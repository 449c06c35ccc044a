// StoreNode driven by hand, with no io_context, sockets, threads or real
// clocks: a manual clock, a temporary directory and a message sink. Proves
// the Raft loop stands apart from StoreServer, as a simulation needs.
#include "store/store_node.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "node_harness.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeHarness;
using testing::SetCommand;

TEST(StoreNodeTest, SingleMemberAppliesAndAcknowledgesAWriteWithoutAnIoContext) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  node->CampaignIfAlone();
  h.Settle(*node);
  ASSERT_TRUE(node->IsLeader());

  bool acked = false;
  uint64_t acked_index = 0;
  uint64_t last_index = 0;
  ASSERT_TRUE(node->ProposeWrite(SetCommand("k", "v", 0), &last_index,
                                 [&](const KvResult* result, uint64_t index, std::string error) {
                                   ASSERT_NE(result, nullptr) << error;
                                   EXPECT_EQ(result->type, KvResult::Type::kOk);
                                   acked = true;
                                   acked_index = index;
                                 }));
  EXPECT_FALSE(acked);  // not before the drain (WAL write + fsync)
  h.Settle(*node);
  ASSERT_TRUE(acked);
  EXPECT_EQ(acked_index, last_index);
  EXPECT_EQ(node->applied_index(), acked_index);
  const KvEntry* e = node->state().Find("k", node->WallMs());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, "v");
  EXPECT_EQ(node->counters().writes_acked, 1u);
  EXPECT_TRUE(h.sent_.empty());  // alone: nothing to send

  // A linearizable read barrier on the same loop.
  bool read_ok = false;
  ASSERT_TRUE(node->StartRead(acked_index, [&](bool ok, std::string) { read_ok = ok; }));
  h.Settle(*node);
  EXPECT_TRUE(read_ok);
}

TEST(StoreNodeTest, ExpiryFollowsTheInjectedWallClockAndWritesSurviveARestart) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(node->Recover().ok());
    node->CampaignIfAlone();
    h.Settle(*node);
    ASSERT_TRUE(node->IsLeader());
    int acked = 0;
    auto done = [&](const KvResult* result, uint64_t, std::string) { acked += result != nullptr; };
    ASSERT_TRUE(node->ProposeWrite(SetCommand("short", "1", 1000), nullptr, done));
    ASSERT_TRUE(node->ProposeWrite(SetCommand("long", "2", 0), nullptr, done));
    h.Settle(*node);
    ASSERT_EQ(acked, 2);
    EXPECT_NE(node->state().Find("short", node->WallMs()), nullptr);
    for (int i = 0; i < 150; ++i) h.Tick(*node);  // 1.5 s of manual time
    EXPECT_EQ(node->state().Find("short", node->WallMs()), nullptr);
    ASSERT_TRUE(node->Close().ok());
  }
  std::unique_ptr<StoreNode> again = h.Make();
  ASSERT_TRUE(again->Recover().ok());
  again->CampaignIfAlone();
  h.Settle(*again);
  const KvEntry* e = again->state().Find("long", again->WallMs());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, "2");
}

// A write whose log entry the WAL (one record holds at most 64 MiB) or the
// peer frames could not carry is refused with a clear error when proposed.
// Proposed anyway, it would stop the leader when persisting it, and every
// follower that received it, at every restart.
TEST(StoreNodeTest, OversizedWriteIsRefusedAndTheMemberGoesOn) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  const std::string huge((64u << 20) - 16, 'x');  // under max_request_bytes, over one WAL record
  bool done = false;
  std::string error;
  try {
    ASSERT_TRUE(node->ProposeWrite(SetCommand("big", huge), nullptr,
                                   [&](const KvResult* result, uint64_t, std::string e) {
                                     done = true;
                                     EXPECT_EQ(result, nullptr);
                                     error = std::move(e);
                                   }));
    h.Settle(*node);
  } catch (const std::runtime_error& e) {
    FAIL() << "the member stopped: " << e.what();
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(error.rfind("ERR command too large", 0), 0u) << error;
  EXPECT_TRUE(h.Write(*node, SetCommand("small", "v")));
  EXPECT_EQ(node->state().Find("big", node->WallMs()), nullptr);
}

}  // namespace
}  // namespace nines::store
