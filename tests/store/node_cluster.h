// Several StoreNodes in one thread, for membership and ordering tests: one
// manual clock for all, a queue of Raft messages between them that a test
// can hold back per member, and Drain whenever a node asks for it. No
// sockets or threads (the StoreServer layer is not involved).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/clock.h"
#include "node_harness.h"
#include "store/store_node.h"

namespace nines::store::testing {

class NodeCluster {
 public:
  // A member of the cluster: its directory entry (peer/client addresses are
  // never dialled) and its config (data_dir under `root`).
  static StoreMember Member(const std::string& id) {
    StoreMember m;
    m.id = id;
    m.raft_id = StableRaftId(id);
    m.peer = Endpoint{"127.0.0.1", 1};
    m.client = Endpoint{"127.0.0.1", 2};
    return m;
  }

  explicit NodeCluster(std::string root) : root_(std::move(root)), wall_(kWallStartNanos) {}

  // Creates and recovers a member; `members` is its [[member]] list (it
  // must contain `id`); join for a member added later with AddMember.
  StoreNode* Start(const std::string& id, const std::vector<std::string>& members,
                   bool join = false) {
    StoreConfig config;
    config.id = id;
    config.data_dir = root_ + "/" + id;
    config.join = join;
    for (const std::string& m : members) config.members.push_back(Member(m));
    if (configure_) configure_(id, &config);
    StoreNodeEnv env;
    auto fs = fs_.find(id);
    env.fs = fs == fs_.end() ? PosixFileSystem() : fs->second;
    env.clock = &clock_;
    env.wall = &wall_;
    env.send = [this](const raft::Message& m) { queue_.push_back(m); };
    env.schedule_drain = [this, id] { drain_.insert(id); };
    env.seed = StableRaftId(id);
    env.request_id_nonce = StableRaftId(id) << 8;
    env.fatal = [](const Status& status, const char* what) {
      throw std::runtime_error(std::string(what) + ": " + status.ToString());
    };
    auto node = std::make_unique<StoreNode>(config, std::move(env));
    Status s = node->Recover();
    if (!s.ok()) throw std::runtime_error("recover " + id + ": " + s.ToString());
    StoreNode* raw = node.get();
    nodes_[id] = std::move(node);
    by_raft_id_[StableRaftId(id)] = raw;
    raw->CampaignIfAlone();
    Settle();
    return raw;
  }

  StoreNode* Node(const std::string& id) { return nodes_.at(id).get(); }
  // The members' one monotonic clock (Tick advances it 10 ms).
  ManualClock& clock() { return clock_; }
  // Adjusts each member's config before it starts.
  void Configure(std::function<void(const std::string& id, StoreConfig* config)> configure) {
    configure_ = std::move(configure);
  }
  // The file system member `id` is started on (default: the real one).
  void UseFileSystem(const std::string& id, FileSystem* fs) { fs_[id] = fs; }
  // The member that leads in the highest term, or "" when none does.
  std::string Leader() const {
    std::string leader;
    for (const auto& [id, node] : nodes_) {
      if (node->IsLeader() && (leader.empty() || node->term() > nodes_.at(leader)->term())) {
        leader = id;
      }
    }
    return leader;
  }

  // Messages to a held member stay queued until released (one at a time
  // with DeliverOneTo, or all with Release).
  void Hold(const std::string& id) { held_.insert(StableRaftId(id)); }
  void Release(const std::string& id) { held_.erase(StableRaftId(id)); }
  // An isolated member's messages, to it and from it, are lost (those
  // queued for it too) until it is no longer isolated.
  void Isolate(const std::string& id, bool isolated) {
    const uint64_t raft_id = StableRaftId(id);
    if (!isolated) {
      isolated_.erase(raft_id);
      return;
    }
    isolated_.insert(raft_id);
    std::erase_if(queue_, [raft_id](const raft::Message& m) { return m.to == raft_id; });
  }
  bool DeliverOneTo(const std::string& id) {
    const uint64_t to = StableRaftId(id);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->to != to) continue;
      raft::Message m = *it;
      queue_.erase(it);
      Deliver(m);
      Settle();
      return true;
    }
    return false;
  }

  // Queued (held) messages that match.
  size_t CountQueued(const std::function<bool(const raft::Message&)>& match) const {
    size_t n = 0;
    for (const raft::Message& m : queue_) n += match(m) ? 1 : 0;
    return n;
  }

  // Drains and delivers (except to held members) until nothing moves.
  void Settle() {
    for (int round = 0; round < 10000; ++round) {
      bool moved = false;
      std::set<std::string> drain;
      drain.swap(drain_);
      for (const std::string& id : drain) {
        nodes_.at(id)->Drain();
        moved = true;
      }
      std::deque<raft::Message> queue;
      queue.swap(queue_);
      for (raft::Message& m : queue) {
        if (isolated_.count(m.to) > 0 || isolated_.count(m.from) > 0) {
          moved = true;
        } else if (held_.count(m.to) > 0) {
          queue_.push_back(std::move(m));
        } else {
          Deliver(m);
          moved = true;
        }
      }
      if (!moved) return;
    }
    throw std::runtime_error("cluster did not settle");
  }

  void Tick() {
    clock_.AdvanceMillis(10);
    wall_.AdvanceMillis(10);
    for (auto& [id, node] : nodes_) node->Tick();
    Settle();
  }

  // Proposes a write on `id` and settles; true once it was acknowledged.
  bool Write(const std::string& id, const std::string& command) {
    bool acked = false;
    if (!Node(id)->ProposeWrite(
            command, nullptr,
            [&](const KvResult* result, uint64_t, std::string) { acked = result != nullptr; })) {
      return false;
    }
    Settle();
    return acked;
  }

 private:
  void Deliver(const raft::Message& m) {
    auto it = by_raft_id_.find(m.to);
    if (it != by_raft_id_.end()) it->second->Step(m);
  }

  std::string root_;
  ManualClock clock_;
  ManualClock wall_;
  std::map<std::string, std::unique_ptr<StoreNode>> nodes_;
  std::map<std::string, FileSystem*> fs_;
  std::function<void(const std::string&, StoreConfig*)> configure_;
  std::map<uint64_t, StoreNode*> by_raft_id_;
  std::deque<raft::Message> queue_;
  std::set<uint64_t> held_;
  std::set<uint64_t> isolated_;
  std::set<std::string> drain_;
};

}  // namespace nines::store::testing
