// ReadIndex bookkeeping on the leader: each read request remembers the commit
// index when it arrived and waits until a quorum has acknowledged a heartbeat
// carrying its context, proving the leader was still the leader then.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/types.h"

namespace nines::raft {

inline constexpr size_t kMaxPendingReads = 4096;

class ReadOnlyQueue {
 public:
  // False when the context is already pending or the queue is full.
  bool Add(Index commit_index, std::string context, NodeId self);
  // Records `from`'s acknowledgement of `context`; returns the number of acks
  // (0 if the context is unknown).
  size_t RecvAck(NodeId from, const std::string& context);
  // Pops every request up to and including `context`, oldest first.
  std::vector<ReadState> Advance(const std::string& context);
  const std::string* LastContext() const;
  void Clear() {
    pending_.clear();
    seq_of_.clear();
  }
  size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    Index index;
    std::string context;
    std::set<NodeId> acks;
  };
  std::deque<Pending> pending_;
  // context -> sequence number (pending_[seq - front_seq_]): O(1) lookups, so
  // thousands of batched reads cost no quadratic scans.
  std::unordered_map<std::string, uint64_t> seq_of_;
  uint64_t front_seq_ = 0;
};

}  // namespace nines::raft
