// Safety checkers fed by the simulator as it runs: election safety, leader
// completeness, log matching, state machine safety, and that acknowledged
// writes stay in the applied history.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "raft/log.h"
#include "raft/types.h"

namespace nines::sim {

class SafetyChecker {
 public:
  // Every violation is recorded with the simulated time (µs).
  void Violation(int64_t now, const std::string& what);
  const std::vector<std::string>& violations() const { return violations_; }

  // A node observed as leader of `term`; `log` is its log at that moment.
  void LeaderElected(int64_t now, raft::NodeId node, raft::Term term, const raft::RaftLog& log);
  // A node observed with commit covering `index` (entry of `entry_term`)
  // while its current term was `node_term`.
  void Committed(int64_t now, raft::NodeId node, raft::Index index, raft::Term entry_term,
                 raft::Term node_term);
  // A node applied an entry.
  void Applied(int64_t now, raft::NodeId node, const raft::Entry& entry);
  // A client got a success answer for the write at `index`.
  void Acknowledged(raft::Index index, raft::Term term, const std::string& data);
  // Log matching between two logs (entries with equal index and term are
  // identical, and so are all entries before them).
  void CompareLogs(int64_t now, raft::NodeId a, const raft::RaftLog& la, raft::NodeId b,
                   const raft::RaftLog& lb);
  // At the end: every acknowledged write is in the applied history.
  void CheckAcknowledged(int64_t now);

  size_t leader_terms() const { return leaders_.size(); }
  const std::map<raft::Term, raft::NodeId>& leaders() const { return leaders_; }

 private:
  struct CommitRecord {
    raft::Term entry_term = 0;
    raft::Term observed_term = 0;  // lowest node term at which it was seen committed
  };
  struct ApplyRecord {
    raft::Term term = 0;
    uint64_t hash = 0;
    bool set = false;
  };
  std::vector<std::string> violations_;
  std::map<raft::Term, raft::NodeId> leaders_;
  std::vector<CommitRecord> committed_;  // by index
  std::vector<ApplyRecord> applied_;     // by index
  struct Ack {
    raft::Index index;
    raft::Term term;
    uint64_t hash;
  };
  std::vector<Ack> acks_;
};

uint64_t HashBytes(const std::string& s);

}  // namespace nines::sim
