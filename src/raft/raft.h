// The Raft state machine (after etcd-io/raft's RawNode): no sockets, disk,
// threads or clock. The caller feeds it ticks, received messages and requests,
// and drains Readies: what to persist, what to send, what to apply.
//
// Persistence contract for a Ready `rd` (see docs/raft.md):
//   1. Write rd.snapshot (if any), then rd.entries (replacing any conflicting
//      suffix), then rd.hard_state (if any) to stable storage and fsync.
//   2. Messages for which MaySendBeforePersist() is true (a leader's kAppend,
//      kHeartbeat, kSnapshot and kTimeoutNow) may be sent before step 1 ends:
//      they promise nothing about the sender's disk. Every other message
//      (votes, vote and append acknowledgements) may be sent only after it.
//   3. Install rd.snapshot in the state machine, then apply
//      rd.committed_entries in order (only after step 1), then serve
//      rd.read_states once the applied index reaches each one's index.
//   4. Call Advance(rd). Call GetReady() again only after Advance.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/log.h"
#include "raft/membership.h"
#include "raft/progress.h"
#include "raft/read_only.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace nines::raft {

struct Config {
  NodeId id = kNoNode;
  // Timers count calls to Tick(); the caller picks the tick length.
  int heartbeat_ticks = 1;
  int election_ticks = 10;                 // randomized in [election_ticks, 2 * election_ticks)
  uint64_t seed = 1;                       // PRNG seed for the randomized election timeout
  Index applied = 0;                       // last index the restored state machine reflects
  uint64_t max_msg_bytes = 1 << 20;        // batching: bytes of entries per kAppend
  size_t max_msg_entries = 256;            // batching: entries per kAppend
  size_t max_inflight = 64;                // pipelining window per follower
  uint64_t max_apply_bytes = 4 << 20;      // committed entries per Ready
  size_t max_uncommitted_entries = 10000;  // Propose fails beyond this backlog
  bool pre_vote = true;
  bool check_quorum = true;
  // Serve ReadIndex from the leader lease without a quorum round. Safe only if
  // clocks advance at the same rate (bounded drift covered by the margin).
  // Requires check_quorum.
  bool lease_reads = false;
  int lease_margin_ticks = 2;
};

struct Ready {
  std::optional<SoftState> soft_state;   // set when changed
  std::optional<HardState> hard_state;   // set when changed: persist
  std::vector<Entry> entries;            // persist (append, truncating a conflicting suffix)
  std::optional<Snapshot> snapshot;      // persist and install
  std::vector<Entry> committed_entries;  // apply after persisting
  std::vector<Message> messages;
  std::vector<ReadState> read_states;

  bool MustSync() const { return hard_state.has_value() || !entries.empty() || snapshot; }
};

enum class ProposeError : uint8_t {
  kNone = 0,
  kNotLeader,
  kTransferring,   // a leadership transfer is in progress
  kBacklog,        // too many uncommitted entries
  kConfigPending,  // a configuration change is not committed yet (or no commit in this term)
  kInvalidConfig,
  kEmptyEntry,  // empty data: only a new leader's own entry is empty (IsLeaderNoOp)
};
const char* ProposeErrorName(ProposeError error);

// See the persistence contract above.
bool MaySendBeforePersist(const Message& m);

class Raft {
 public:
  Raft(const Config& config, const Storage* storage);

  void Tick();
  void Step(const Message& m);
  ProposeError Propose(std::string data);
  ProposeError ProposeConfChange(const ConfChange& change, std::string* error);
  // Linearizable read: a ReadState with `context` appears in a later Ready.
  // False when not leader or not yet able to serve (no commit in this term).
  // `context` must be unique per request (e.g. a request id): a delayed
  // acknowledgement of an old heartbeat round must not confirm a new read.
  bool ReadIndex(std::string context);
  bool TransferLeadership(NodeId to);
  // Starts an election now (tests and bootstrapping a single node).
  void Campaign();
  // Extra ticks this member waits, past its randomized election timeout,
  // before it campaigns on its own (0: none). The caller sets it while this
  // member should not lead (a slow disk): a healthy voter's timeout comes
  // first and wins, and a member with no healthy peer still campaigns later.
  // Votes are granted as before; a TimeoutNow still starts a campaign (the
  // caller drops it if it must not).
  void set_campaign_delay_ticks(int ticks) { campaign_delay_ticks_ = ticks < 0 ? 0 : ticks; }
  int campaign_delay_ticks() const { return campaign_delay_ticks_; }

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& rd);

  NodeId id() const { return id_; }
  Term term() const { return term_; }
  Role role() const { return role_; }
  NodeId leader() const { return lead_; }
  NodeId vote() const { return vote_; }
  const RaftLog& log() const { return log_; }
  const Membership& membership() const { return config_history_.Current(); }
  const ReplicationProgress* progress(NodeId id) const;
  NodeId lead_transferee() const { return lead_transferee_; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }

 private:
  bool Promotable() const;
  void ResetRandomizedElectionTimeout();
  void Reset(Term term);
  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void CampaignInternal(bool pre_vote, bool transfer);
  // Counts votes among voters: +1 won, -1 lost, 0 pending.
  int TallyVotes() const;

  void TickElection();
  void TickHeartbeat();
  bool QuorumActive();

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResp(const Message& m, ReplicationProgress& pr);
  void HandleHeartbeatResp(const Message& m, ReplicationProgress& pr);

  void Send(Message m);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, ReplicationProgress& pr);
  void SendTimeoutNow(NodeId to);
  void BcastAppend();
  void BcastHeartbeat();
  bool MaybeCommit();
  void AppendAsLeader(EntryType type, std::string data);
  // Tracks configuration entries in `appended` (first index = first changed).
  void NoteAppended(const std::vector<Entry>& appended);
  void SyncProgressWithMembership();
  bool LeaseValid() const;
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }

  Config cfg_;
  NodeId id_;
  const Storage* storage_;
  RaftLog log_;
  ConfigHistory config_history_;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  Role role_ = Role::kFollower;
  NodeId lead_ = kNoNode;
  std::map<NodeId, ReplicationProgress> prs_;
  std::map<NodeId, bool> votes_;
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  ReadOnlyQueue read_only_;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  int campaign_delay_ticks_ = 0;
  uint64_t now_ticks_ = 0;
  uint64_t prng_state_;
  NodeId lead_transferee_ = kNoNode;
  bool lease_revoked_ = false;  // a TimeoutNow went out this term: no more lease reads
  Index pending_conf_index_ = 0;
  bool pending_broadcast_ = false;       // proposals waiting to be sent as one batch
  bool pending_read_heartbeat_ = false;  // ReadIndex requests waiting for one heartbeat round
  bool ready_outstanding_ = false;
  SoftState prev_soft_;
  HardState prev_hard_;
  // lease: per voter, the send tick of the latest heartbeat it acknowledged
  std::map<NodeId, uint64_t> ack_ticks_;
  // replicate state: ticks without progress while behind (lost appends)
  std::map<NodeId, int> stall_ticks_;
};

}  // namespace nines::raft
