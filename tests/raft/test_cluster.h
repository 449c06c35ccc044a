// In-process cluster for the Raft unit tests: every node keeps a
// MemoryStorage, messages are delivered synchronously in order, and a filter
// can drop any message (partitions, losses).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "raft/storage.h"

namespace nines::raft::testing {

struct TestNode {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Raft> raft;
  std::vector<Entry> applied;  // committed entries in apply order (data non-empty only)
  std::vector<ReadState> reads;
  std::vector<Snapshot> installed;
};

class TestCluster {
 public:
  // Nodes 1..n, all voters. `tweak` adjusts each node's Config.
  explicit TestCluster(int n, std::function<void(Config&)> tweak = nullptr) : tweak_(tweak) {
    Membership m;
    for (int i = 1; i <= n; ++i) m.voters.push_back(i);
    for (int i = 1; i <= n; ++i) AddNode(i, m);
  }

  // A node with the given bootstrap membership (empty to join later).
  void AddNode(NodeId id, const Membership& m) {
    TestNode node;
    node.storage = std::make_unique<MemoryStorage>(m);
    Config c;
    c.id = id;
    c.seed = id * 7919;
    if (tweak_) tweak_(c);
    node.raft = std::make_unique<Raft>(c, node.storage.get());
    nodes_[id] = std::move(node);
  }

  Raft& raft(NodeId id) { return *nodes_.at(id).raft; }
  TestNode& node(NodeId id) { return nodes_.at(id); }

  void Isolate(NodeId id) { isolated_.insert(id); }
  void Heal() {
    isolated_.clear();
    drop_ = nullptr;
  }
  void SetDrop(std::function<bool(const Message&)> drop) { drop_ = std::move(drop); }

  // Processes Readies and delivers messages until quiet.
  void Stabilize(int max_rounds = 1000) {
    for (int round = 0; round < max_rounds; ++round) {
      std::vector<Message> outbox;
      for (auto& [id, node] : nodes_) {
        while (node.raft->HasReady()) HandleReady(node, &outbox);
      }
      if (outbox.empty()) return;
      for (Message& m : outbox) {
        if (isolated_.count(m.from) || isolated_.count(m.to)) continue;
        if (drop_ && drop_(m)) continue;
        sent_.push_back(m);
        auto it = nodes_.find(m.to);
        if (it != nodes_.end()) it->second.raft->Step(m);
      }
    }
  }

  void TickAll(int ticks) {
    for (int i = 0; i < ticks; ++i) {
      for (auto& [id, node] : nodes_) node.raft->Tick();
      Stabilize();
    }
  }

  void Elect(NodeId id) {
    raft(id).Campaign();
    Stabilize();
  }

  NodeId Leader() {
    NodeId leader = kNoNode;
    for (auto& [id, node] : nodes_) {
      if (node.raft->role() == Role::kLeader && !isolated_.count(id)) leader = id;
    }
    return leader;
  }

  std::vector<std::string> AppliedData(NodeId id) {
    std::vector<std::string> out;
    for (const Entry& e : node(id).applied) out.push_back(e.data);
    return out;
  }

  std::vector<Message>& sent() { return sent_; }

 private:
  static void HandleReady(TestNode& node, std::vector<Message>* outbox) {
    Ready rd = node.raft->GetReady();
    if (rd.snapshot) {
      node.storage->ApplySnapshot(*rd.snapshot);
      node.installed.push_back(*rd.snapshot);
    }
    node.storage->Append(rd.entries);
    if (rd.hard_state) node.storage->SetHardState(*rd.hard_state);
    for (Message& m : rd.messages) outbox->push_back(std::move(m));
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kNormal && !IsLeaderNoOp(e)) node.applied.push_back(e);
    }
    for (const ReadState& rs : rd.read_states) node.reads.push_back(rs);
    node.raft->Advance(rd);
  }

  std::function<void(Config&)> tweak_;
  std::map<NodeId, TestNode> nodes_;
  std::set<NodeId> isolated_;
  std::function<bool(const Message&)> drop_;
  std::vector<Message> sent_;
};

}  // namespace nines::raft::testing
