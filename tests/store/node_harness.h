// Drives one StoreNode by hand for tests, the way a simulation would: a
// manual steady and wall clock, a message sink, Drain whenever the node asks
// for it, and any FileSystem. No io_context, sockets or threads.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "store/kv_command.h"
#include "store/store_node.h"

namespace nines::store::testing {

constexpr int64_t kWallStartNanos = 1'800'000'000'000LL * 1'000'000;  // 2027, Unix ns

class NodeHarness {
 public:
  explicit NodeHarness(const std::string& dir, FileSystem* fs = PosixFileSystem())
      : fs_(fs), wall_(kWallStartNanos) {
    config_.id = "solo";
    config_.data_dir = dir;
    StoreMember self;
    self.id = "solo";
    self.raft_id = StableRaftId(self.id);
    self.peer = Endpoint{"127.0.0.1", 1};  // never dialled: the node only hands out messages
    self.client = Endpoint{"127.0.0.1", 2};
    config_.members = {self};
  }

  std::unique_ptr<StoreNode> Make() {
    StoreNodeEnv env;
    env.fs = fs_;
    env.clock = &clock_;
    env.wall = &wall_;
    env.send = [this](const raft::Message& m) { sent_.push_back(m); };
    env.schedule_drain = [this] { ++drains_asked_; };
    env.seed = 42;
    env.snapshot_runner = snapshot_runner_;  // null: snapshots are written inline
    // A crash-stop unwinds the test instead of ending the process.
    env.fatal = [](const Status& status, const char* what) {
      throw std::runtime_error(std::string(what) + ": " + status.ToString());
    };
    return std::make_unique<StoreNode>(config_, std::move(env));
  }

  // Runs the node's loop until it asks for nothing more (bounded).
  void Settle(StoreNode& node) {
    for (int i = 0; i < 100 && drains_asked_ > 0; ++i) {
      drains_asked_ = 0;
      node.Drain();
    }
  }

  void Tick(StoreNode& node) {
    clock_.AdvanceMillis(config_.tick_ms);
    wall_.AdvanceMillis(config_.tick_ms);
    node.Tick();
    Settle(node);
  }

  // Recovers, elects itself (alone) and settles; false if it did not lead.
  bool StartAlone(StoreNode& node) {
    if (!node.Recover().ok()) return false;
    node.CampaignIfAlone();
    Settle(node);
    return node.IsLeader();
  }

  // Proposes and drains one write; true once it was acknowledged.
  bool Write(StoreNode& node, const std::string& command) {
    bool acked = false;
    if (!node.ProposeWrite(command, nullptr, [&](const KvResult* result, uint64_t, std::string) {
          acked = result != nullptr;
        })) {
      return false;
    }
    Settle(node);
    return acked;
  }

  FileSystem* fs_;
  ManualClock clock_;
  ManualClock wall_;
  StoreConfig config_;
  std::vector<raft::Message> sent_;
  int drains_asked_ = 0;
  std::shared_ptr<SnapshotRunner> snapshot_runner_;
};

inline std::string SetCommand(std::string_view key, std::string_view value, int64_t ttl_ms = 0) {
  KvCommand c;
  c.op = KvOp::kSet;
  c.args = {key, value};
  if (ttl_ms > 0) {
    c.expire_kind = ExpireKind::kRelativeMs;
    c.integer = ttl_ms;
  }
  std::string encoded;
  EncodeKvCommand(c, &encoded);
  return encoded;
}

}  // namespace nines::store::testing
