// Single-server membership changes and the history of configurations in a log.
#include "raft/membership.h"

#include <algorithm>

namespace nines::raft {
namespace {

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

void Insert(std::vector<NodeId>* ids, NodeId id) {
  ids->insert(std::lower_bound(ids->begin(), ids->end(), id), id);
}

void Erase(std::vector<NodeId>* ids, NodeId id) {
  ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end());
}

}  // namespace

bool IsVoter(const Membership& m, NodeId id) {
  return Contains(m.voters, id);
}
bool IsLearner(const Membership& m, NodeId id) {
  return Contains(m.learners, id);
}
bool IsMember(const Membership& m, NodeId id) {
  return IsVoter(m, id) || IsLearner(m, id);
}
size_t QuorumSize(const Membership& m) {
  return m.voters.size() / 2 + 1;
}

Status ApplyConfChange(const Membership& m, const ConfChange& change, Membership* out) {
  Membership next = m;
  NodeId id = change.node;
  if (id == kNoNode) {
    return Status::InvalidArgument("node id 0 is reserved");
  }
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      if (IsMember(m, id)) {
        return Status::InvalidArgument("node is already a member (promote a learner instead)");
      }
      Insert(&next.voters, id);
      break;
    case ConfChangeType::kAddLearner:
      if (IsMember(m, id)) {
        return Status::InvalidArgument("node is already a member");
      }
      Insert(&next.learners, id);
      break;
    case ConfChangeType::kRemove:
      if (!IsMember(m, id)) {
        return Status::InvalidArgument("node is not a member");
      }
      Erase(&next.voters, id);
      Erase(&next.learners, id);
      if (next.voters.empty()) {
        return Status::InvalidArgument("cannot remove the last voter");
      }
      break;
    case ConfChangeType::kPromoteLearner:
      if (!IsLearner(m, id)) {
        return Status::InvalidArgument("node is not a learner");
      }
      Erase(&next.learners, id);
      Insert(&next.voters, id);
      break;
  }
  if (next.voters.size() + next.learners.size() > kMaxMembers) {
    return Status::InvalidArgument("too many members");
  }
  *out = std::move(next);
  return Status::Ok();
}

void ConfigHistory::Reset(Index snapshot_index, Membership base) {
  base_index_ = snapshot_index;
  base_ = std::move(base);
  entries_.clear();
}

void ConfigHistory::Append(Index index, Membership m) {
  NINES_RAFT_ASSERT(index > base_index_);
  NINES_RAFT_ASSERT(entries_.empty() || entries_.back().first < index);
  entries_.emplace_back(index, std::move(m));
}

void ConfigHistory::TruncateFrom(Index index) {
  while (!entries_.empty() && entries_.back().first >= index) entries_.pop_back();
}

const Membership& ConfigHistory::Current() const {
  return entries_.empty() ? base_ : entries_.back().second;
}

Index ConfigHistory::CurrentIndex() const {
  return entries_.empty() ? base_index_ : entries_.back().first;
}

}  // namespace nines::raft
