// ReadOnlyQueue: pending ReadIndex requests in arrival order.
#include "raft/read_only.h"

namespace nines::raft {

bool ReadOnlyQueue::Add(Index commit_index, std::string context, NodeId self) {
  if (pending_.size() >= kMaxPendingReads) return false;
  for (const Pending& p : pending_) {
    if (p.context == context) return false;
  }
  pending_.push_back(Pending{commit_index, std::move(context), {self}});
  return true;
}

size_t ReadOnlyQueue::RecvAck(NodeId from, const std::string& context) {
  for (Pending& p : pending_) {
    if (p.context == context) {
      p.acks.insert(from);
      return p.acks.size();
    }
  }
  return 0;
}

std::vector<ReadState> ReadOnlyQueue::Advance(const std::string& context) {
  std::vector<ReadState> out;
  size_t n = 0;
  bool found = false;
  for (const Pending& p : pending_) {
    ++n;
    if (p.context == context) {
      found = true;
      break;
    }
  }
  if (!found) return out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(ReadState{pending_.front().index, std::move(pending_.front().context)});
    pending_.pop_front();
  }
  return out;
}

const std::string* ReadOnlyQueue::LastContext() const {
  return pending_.empty() ? nullptr : &pending_.back().context;
}

}  // namespace nines::raft
