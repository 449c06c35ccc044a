// Cluster configuration: who votes, who only learns, and the single-server
// changes that move from one configuration to the next. A configuration takes
// effect as soon as its entry is appended to a log (Raft thesis §4.1); one
// change at a time, so two consecutive configurations always share a majority.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "raft/types.h"

namespace nines::raft {

inline constexpr size_t kMaxMembers = 64;

enum class ConfChangeType : uint8_t {
  kAddVoter = 0,
  kAddLearner = 1,
  kRemove = 2,
  kPromoteLearner = 3,
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;
};

bool IsVoter(const Membership& m, NodeId id);
bool IsLearner(const Membership& m, NodeId id);
bool IsMember(const Membership& m, NodeId id);
// Votes (or acknowledgements) needed among the voters.
size_t QuorumSize(const Membership& m);

// Applies one single-server change to `m` into *out. InvalidArgument (and *out
// untouched) when the change is not valid from `m` (adding an existing voter,
// removing a stranger, leaving no voters, ...).
Status ApplyConfChange(const Membership& m, const ConfChange& change, Membership* out);

// The configurations present in a log: the one from the snapshot, then one per
// config entry after it. The last one is in effect.
class ConfigHistory {
 public:
  void Reset(Index snapshot_index, Membership base);
  // Records a config entry appended at `index` (must be above all recorded ones).
  void Append(Index index, Membership m);
  // Forgets config entries at or above `index` (log truncation).
  void TruncateFrom(Index index);
  const Membership& Current() const;
  // Index of the entry that introduced the current configuration (0 = base).
  Index CurrentIndex() const;

 private:
  Index base_index_ = 0;
  Membership base_;
  std::vector<std::pair<Index, Membership>> entries_;
};

}  // namespace nines::raft
