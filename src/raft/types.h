// Plain value types shared by the Raft core: entries, messages, hard/soft state,
// snapshots and read states. No behaviour lives here; see raft.h for the state machine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace nines::raft {

using NodeId = uint64_t;  // 0 means "none"
using Term = uint64_t;
using Index = uint64_t;

inline constexpr NodeId kNoNode = 0;

// A broken invariant in the core aborts: a crash beats silent divergence.
[[noreturn]] inline void AssertFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "raft invariant broken: %s at %s:%d\n", expr, file, line);
  std::abort();
}
#define NINES_RAFT_ASSERT(cond) \
  ((cond) ? (void)0 : ::nines::raft::AssertFailed(#cond, __FILE__, __LINE__))

enum class EntryType : uint8_t {
  kNormal = 0,  // application command (may be empty: the leader's no-op)
  kConfig = 1,  // data is an encoded Membership (the full new configuration)
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// The empty entry a new leader appends to commit its term (§5.4.2). Only it
// is: Propose refuses empty data.
inline bool IsLeaderNoOp(const Entry& e) {
  return e.type == EntryType::kNormal && e.data.empty();
}

// Size used for batching limits: payload plus a fixed header estimate.
inline uint64_t EntrySize(const Entry& e) {
  return e.data.size() + 24;
}

// Voters decide elections and commits; learners only receive the log.
struct Membership {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters

  bool operator==(const Membership&) const = default;
};

struct SnapshotMeta {
  Index index = 0;        // last index covered by the snapshot
  Term term = 0;          // term of that entry
  Membership membership;  // configuration as of `index`

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // opaque state machine image

  bool empty() const { return meta.index == 0; }
  bool operator==(const Snapshot&) const = default;
};

// State that must be durable before any message that depends on it is sent.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
};

enum class Role : uint8_t { kFollower = 0, kPreCandidate = 1, kCandidate = 2, kLeader = 3 };
const char* RoleName(Role role);

// Volatile state, reported for observation only.
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader = kNoNode;

  bool operator==(const SoftState&) const = default;
};

enum class MessageType : uint8_t {
  kAppend = 0,      // leader -> follower: entries after (index, log_term)
  kAppendResp = 1,  // follower -> leader: index acknowledged, or reject with hints
  kVote = 2,        // candidate -> voter
  kVoteResp = 3,
  kPreVote = 4,  // pre-candidate -> voter, term is the term it would campaign in
  kPreVoteResp = 5,
  kHeartbeat = 6,  // leader -> follower: commit and an optional ReadIndex context
  kHeartbeatResp = 7,
  kSnapshot = 8,    // leader -> follower: install `snapshot`
  kTimeoutNow = 9,  // leader -> transferee: campaign now (leadership transfer)
};
inline constexpr uint8_t kMaxMessageType = 9;
const char* MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Term log_term = 0;  // kAppend: term at `index`; votes: last log term; reject: hint term
  Index index = 0;    // kAppend: previous index; votes: last index; resp: acknowledged index
  Index commit = 0;
  bool reject = false;
  Index reject_hint = 0;  // kAppendResp reject: follower's suggested probe index
  std::vector<Entry> entries;
  Snapshot snapshot;    // kSnapshot only
  std::string context;  // ReadIndex context (heartbeats) or "transfer" (forced votes)

  bool operator==(const Message&) const = default;
};

// The result of a ReadIndex request: once the state machine has applied
// `index`, a read that started when ReadIndex was called is linearizable.
struct ReadState {
  Index index = 0;
  std::string context;

  bool operator==(const ReadState&) const = default;
};

}  // namespace nines::raft
