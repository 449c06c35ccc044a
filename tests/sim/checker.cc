// SafetyChecker: the invariants of Raft (§5.2-5.4 of the paper) checked on
// the simulated cluster.
#include "checker.h"

#include <cstdio>

namespace nines::sim {

uint64_t HashBytes(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void SafetyChecker::Violation(int64_t now, const std::string& what) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "t=%.3fs ", now / 1e6);
  violations_.push_back(buf + what);
}

void SafetyChecker::LeaderElected(int64_t now, raft::NodeId node, raft::Term term,
                                  const raft::RaftLog& log) {
  auto [it, inserted] = leaders_.emplace(term, node);
  if (!inserted && it->second != node) {
    Violation(now, "election safety: term " + std::to_string(term) + " has leaders " +
                       std::to_string(it->second) + " and " + std::to_string(node));
  }
  // Leader completeness: every entry committed in an earlier term is here.
  for (raft::Index i = log.FirstIndex(); i < committed_.size(); ++i) {
    const CommitRecord& c = committed_[i];
    if (c.entry_term == 0 || c.observed_term >= term) continue;
    auto t = log.TermAt(i);
    if (!t || *t != c.entry_term) {
      Violation(now, "leader completeness: leader " + std::to_string(node) + " of term " +
                         std::to_string(term) + " lacks committed entry " + std::to_string(i) +
                         " (term " + std::to_string(c.entry_term) + ")");
      return;
    }
  }
}

void SafetyChecker::Committed(int64_t now, raft::NodeId node, raft::Index index,
                              raft::Term entry_term, raft::Term node_term) {
  if (committed_.size() <= index) committed_.resize(index + 1);
  auto& c = committed_[index];
  if (c.entry_term == 0) {
    c.entry_term = entry_term;
    c.observed_term = node_term;
    return;
  }
  if (c.entry_term != entry_term) {
    Violation(now, "commit safety: index " + std::to_string(index) + " committed with term " +
                       std::to_string(c.entry_term) + " and with term " +
                       std::to_string(entry_term) + " (node " + std::to_string(node) + ")");
  }
  c.observed_term = std::min(c.observed_term, node_term);
}

void SafetyChecker::Applied(int64_t now, raft::NodeId node, const raft::Entry& entry) {
  if (applied_.size() <= entry.index) applied_.resize(entry.index + 1);
  auto& a = applied_[entry.index];
  uint64_t h = HashBytes(entry.data) ^ static_cast<uint64_t>(entry.type);
  if (!a.set) {
    a = ApplyRecord{entry.term, h, true};
    return;
  }
  if (a.term != entry.term || a.hash != h) {
    Violation(now, "state machine safety: node " + std::to_string(node) +
                       " applied a different entry at index " + std::to_string(entry.index) +
                       " (term " + std::to_string(entry.term) + " vs " + std::to_string(a.term) +
                       ")");
  }
}

void SafetyChecker::Acknowledged(raft::Index index, raft::Term term, const std::string& data) {
  acks_.push_back(Ack{index, term, HashBytes(data)});
}

void SafetyChecker::CompareLogs(int64_t now, raft::NodeId a, const raft::RaftLog& la,
                                raft::NodeId b, const raft::RaftLog& lb) {
  raft::Index lo = std::max(la.FirstIndex(), lb.FirstIndex());
  raft::Index hi = std::min(la.LastIndex(), lb.LastIndex());
  if (lo > hi) return;
  // Highest index where the terms agree; everything from lo up to it must be identical.
  raft::Index top = 0;
  for (raft::Index i = hi; i >= lo; --i) {
    if (la.TermAt(i) == lb.TermAt(i)) {
      top = i;
      break;
    }
    if (i == lo) break;
  }
  if (top == 0) return;
  auto ea = la.Slice(lo, top + 1, UINT64_MAX);
  auto eb = lb.Slice(lo, top + 1, UINT64_MAX);
  if (!ea || !eb || ea->size() != eb->size()) return;
  for (size_t k = 0; k < ea->size(); ++k) {
    if (!((*ea)[k] == (*eb)[k])) {
      Violation(now, "log matching: nodes " + std::to_string(a) + " and " + std::to_string(b) +
                         " agree on term at index " + std::to_string(top) +
                         " but differ at index " + std::to_string((*ea)[k].index));
      return;
    }
  }
}

void SafetyChecker::CheckAcknowledged(int64_t now) {
  for (const Ack& ack : acks_) {
    bool ok = ack.index < applied_.size() && applied_[ack.index].set &&
              applied_[ack.index].term == ack.term && applied_[ack.index].hash == ack.hash;
    if (!ok) {
      Violation(now, "acknowledged write lost at index " + std::to_string(ack.index));
      return;
    }
  }
}

}  // namespace nines::sim
