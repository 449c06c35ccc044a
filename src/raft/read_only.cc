// ReadOnlyQueue: pending ReadIndex requests in arrival order.
#include "raft/read_only.h"

namespace nines::raft {

bool ReadOnlyQueue::Add(Index commit_index, std::string context, NodeId self) {
  if (pending_.size() >= kMaxPendingReads) return false;
  if (pending_.empty()) front_seq_ = 0;
  uint64_t seq = front_seq_ + pending_.size();
  if (!seq_of_.emplace(context, seq).second) return false;
  pending_.push_back(Pending{commit_index, std::move(context), {self}});
  return true;
}

size_t ReadOnlyQueue::RecvAck(NodeId from, const std::string& context) {
  auto it = seq_of_.find(context);
  if (it == seq_of_.end()) return 0;
  Pending& p = pending_[it->second - front_seq_];
  p.acks.insert(from);
  return p.acks.size();
}

std::vector<ReadState> ReadOnlyQueue::Advance(const std::string& context) {
  std::vector<ReadState> out;
  auto it = seq_of_.find(context);
  if (it == seq_of_.end()) return out;
  size_t n = it->second - front_seq_ + 1;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    seq_of_.erase(pending_.front().context);
    out.push_back(ReadState{pending_.front().index, std::move(pending_.front().context)});
    pending_.pop_front();
    ++front_seq_;
  }
  return out;
}

const std::string* ReadOnlyQueue::LastContext() const {
  return pending_.empty() ? nullptr : &pending_.back().context;
}

}  // namespace nines::raft
