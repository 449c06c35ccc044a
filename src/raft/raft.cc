// Roles, elections, replication and commit: the Raft state machine proper.
#include "raft/raft.h"

#include <algorithm>

#include "raft/codec.h"

namespace nines::raft {
namespace {

constexpr const char* kTransferContext = "transfer";

MessageType VoteRespType(MessageType t) {
  return t == MessageType::kVote ? MessageType::kVoteResp : MessageType::kPreVoteResp;
}

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResp:
      return "AppendResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResp:
      return "VoteResp";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResp:
      return "PreVoteResp";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResp:
      return "HeartbeatResp";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

const char* ProposeErrorName(ProposeError error) {
  switch (error) {
    case ProposeError::kNone:
      return "ok";
    case ProposeError::kNotLeader:
      return "not leader";
    case ProposeError::kTransferring:
      return "leadership transfer in progress";
    case ProposeError::kBacklog:
      return "too many uncommitted entries";
    case ProposeError::kConfigPending:
      return "configuration change pending";
    case ProposeError::kInvalidConfig:
      return "invalid configuration change";
    case ProposeError::kEmptyEntry:
      return "empty entry";
  }
  return "?";
}

bool MaySendBeforePersist(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
    case MessageType::kTimeoutNow:
      return true;
    default:
      return false;
  }
}

Raft::Raft(const Config& config, const Storage* storage)
    : cfg_(config), id_(config.id), storage_(storage), log_(storage, config.applied) {
  NINES_RAFT_ASSERT(id_ != kNoNode);
  NINES_RAFT_ASSERT(cfg_.heartbeat_ticks > 0 && cfg_.election_ticks > cfg_.heartbeat_ticks);
  NINES_RAFT_ASSERT(cfg_.max_inflight > 0 && cfg_.max_msg_entries > 0);
  NINES_RAFT_ASSERT(!cfg_.lease_reads || cfg_.check_quorum);
  prng_state_ = cfg_.seed * 0x9e3779b97f4a7c15ULL + id_;
  InitialState st = storage_->GetInitialState();
  config_history_.Reset(storage_->FirstIndex() - 1, st.membership);
  Index first = storage_->FirstIndex(), last = storage_->LastIndex();
  if (last >= first) {
    for (const Entry& e : storage_->Entries(first, last + 1, UINT64_MAX)) {
      if (e.type == EntryType::kConfig) {
        Membership m;
        NINES_RAFT_ASSERT(DecodeMembership(e.data, &m).ok());
        config_history_.Append(e.index, std::move(m));
      }
    }
  }
  const HardState& hs = st.hard_state;
  NINES_RAFT_ASSERT(hs.commit <= last);
  log_.CommitTo(hs.commit);
  NINES_RAFT_ASSERT(config.applied <= log_.committed());
  term_ = hs.term;
  vote_ = hs.vote;
  prev_hard_ = hard_state();
  BecomeFollower(term_, kNoNode);
  prev_soft_ = SoftState{role_, lead_};
}

bool Raft::Promotable() const {
  return IsVoter(membership(), id_);
}

const ReplicationProgress* Raft::progress(NodeId id) const {
  auto it = prs_.find(id);
  return it == prs_.end() ? nullptr : &it->second;
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      cfg_.election_ticks + static_cast<int>(SplitMix(&prng_state_) % cfg_.election_ticks);
}

void Raft::Reset(Term term) {
  if (term_ != term) {
    NINES_RAFT_ASSERT(term > term_);
    term_ = term;
    vote_ = kNoNode;
    lease_revoked_ = false;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  votes_.clear();
  read_only_.Clear();
  pending_conf_index_ = 0;
  pending_broadcast_ = false;
  pending_read_heartbeat_ = false;
  ack_ticks_.clear();
  stall_ticks_.clear();
  prs_.clear();
  SyncProgressWithMembership();
}

void Raft::SyncProgressWithMembership() {
  const Membership& m = membership();
  for (auto it = prs_.begin(); it != prs_.end();) {
    it = IsMember(m, it->first) ? std::next(it) : prs_.erase(it);
  }
  auto add = [&](NodeId id) {
    if (prs_.count(id)) return;
    ReplicationProgress pr(cfg_.max_inflight);
    pr.next = log_.LastIndex() + 1;
    pr.recent_active = true;
    if (id == id_) {
      pr.match = log_.StableLastIndex();
      pr.BecomeReplicate();
      pr.next = log_.LastIndex() + 1;
    }
    prs_.emplace(id, std::move(pr));
  };
  for (NodeId id : m.voters) add(id);
  for (NodeId id : m.learners) add(id);
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  role_ = Role::kFollower;
  lead_ = lead;
}

void Raft::BecomePreCandidate() {
  NINES_RAFT_ASSERT(role_ != Role::kLeader);
  // Term and vote stay: a pre-vote changes nothing durable.
  role_ = Role::kPreCandidate;
  votes_.clear();
  lead_ = kNoNode;
  election_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
}

void Raft::BecomeCandidate() {
  NINES_RAFT_ASSERT(role_ != Role::kLeader);
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  NINES_RAFT_ASSERT(role_ == Role::kCandidate);
  Reset(term_);
  role_ = Role::kLeader;
  lead_ = id_;
  // The no-op entry commits the previous terms' entries (§5.4.2); no config
  // change until it has committed (the single-server change fix).
  AppendAsLeader(EntryType::kNormal, {});
  pending_conf_index_ = log_.LastIndex();
  BcastAppend();
}

void Raft::Campaign() {
  CampaignInternal(cfg_.pre_vote, false);
}

void Raft::CampaignInternal(bool pre_vote, bool transfer) {
  if (!Promotable()) return;
  Term vote_term;
  MessageType type;
  if (pre_vote) {
    BecomePreCandidate();
    vote_term = term_ + 1;
    type = MessageType::kPreVote;
  } else {
    BecomeCandidate();
    vote_term = term_;
    type = MessageType::kVote;
  }
  votes_[id_] = true;
  if (TallyVotes() > 0) {  // a single voter wins at once
    if (pre_vote) {
      CampaignInternal(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId voter : membership().voters) {
    if (voter == id_) continue;
    Message m;
    m.type = type;
    m.to = voter;
    m.term = vote_term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    if (transfer) m.context = kTransferContext;
    Send(std::move(m));
  }
}

int Raft::TallyVotes() const {
  size_t granted = 0, rejected = 0;
  const Membership& m = membership();
  for (NodeId voter : m.voters) {
    auto it = votes_.find(voter);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  size_t quorum = QuorumSize(m);
  if (granted >= quorum) return 1;
  if (rejected > m.voters.size() - quorum) return -1;
  return 0;
}

void Raft::Tick() {
  ++now_ticks_;
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  // The campaign delay only with pre-vote (raft.h, set_campaign_delay_ticks).
  const int delay = cfg_.pre_vote ? campaign_delay_ticks_ : 0;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_ + delay) {
    election_elapsed_ = 0;
    CampaignInternal(cfg_.pre_vote, false);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_ticks) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum && !QuorumActive()) {
      BecomeFollower(term_, kNoNode);  // cannot reach a majority: step down
      return;
    }
    if (lead_transferee_ != kNoNode) AbortLeaderTransfer();
  }
  Index last = log_.LastIndex();
  for (auto& [id, pr] : prs_) {
    if (id == id_) continue;
    if (pr.state == ProgressState::kSnapshot) {
      // A snapshot (or its answer) may be lost: retry by probing again.
      if (++pr.snapshot_ticks >= cfg_.election_ticks) pr.BecomeProbe();
    } else if (pr.state == ProgressState::kReplicate && pr.match < last) {
      // Appends in the window may be lost: after two heartbeat intervals
      // without progress, fall back to probing from the known match.
      if (++stall_ticks_[id] >= 2 * cfg_.heartbeat_ticks + 1) {
        stall_ticks_[id] = 0;
        pr.BecomeProbe();
        MaybeSendAppend(id, true);
      }
    } else {
      stall_ticks_[id] = 0;
    }
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

bool Raft::QuorumActive() {
  const Membership& m = membership();
  size_t active = 0;
  for (NodeId voter : m.voters) {
    if (voter == id_) {
      ++active;
      continue;
    }
    auto it = prs_.find(voter);
    if (it != prs_.end() && it->second.recent_active) ++active;
  }
  for (auto& [id, pr] : prs_) {
    if (id != id_) pr.recent_active = false;
  }
  return active >= QuorumSize(m);
}

void Raft::Step(const Message& m) {
  if (m.to != id_ || m.from == kNoNode || m.from == id_) return;  // misrouted
  // Term checks first (§5.1), then per-role handling.
  if (m.term > term_) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      bool force = m.context == kTransferContext;
      // With lease reads, a node that just (re)started may have acknowledged
      // a leader before crashing: it too waits out one election timeout.
      bool just_started =
          cfg_.lease_reads && now_ticks_ < static_cast<uint64_t>(cfg_.election_ticks);
      bool in_lease = cfg_.check_quorum && (lead_ != kNoNode || just_started) &&
                      election_elapsed_ < cfg_.election_ticks;
      if (!force && in_lease) return;  // a live leader exists: ignore the disruption
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResp && !m.reject)) {
      // Never change term on a pre-vote, nor on a grant of our own pre-vote
      // (its future term): the real campaign bumps it.
    } else if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnapshot) {
      BecomeFollower(m.term, m.from);
    } else {
      BecomeFollower(m.term, kNoNode);
    }
  } else if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == MessageType::kHeartbeat || m.type == MessageType::kAppend)) {
      // Tell a stale leader about the newer term so it steps down.
      Message resp;
      resp.type = MessageType::kAppendResp;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResp;
      resp.to = m.from;
      resp.reject = true;
      Send(std::move(resp));
    }
    return;
  }

  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
#if NINES_RAFT_PLANT == 2
  // Planted bug: a vote already given in this term is forgotten.
  bool can_vote =
      vote_ == m.from || lead_ == kNoNode || (m.type == MessageType::kPreVote && m.term > term_);
#else
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (m.type == MessageType::kPreVote && m.term > term_);
#endif
  Message resp;
  resp.type = VoteRespType(m.type);
  resp.to = m.from;
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    resp.term = m.term;  // a pre-vote answer carries the term it was asked for
    if (m.type == MessageType::kVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
  }
  Send(std::move(resp));
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      break;
    case MessageType::kTimeoutNow:
      CampaignInternal(false, true);  // leadership transfer: skip the pre-vote
      break;
    default:
      break;  // stale responses
  }
}

void Raft::StepCandidate(const Message& m) {
  MessageType my_resp =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  switch (m.type) {
    case MessageType::kAppend:
      BecomeFollower(m.term, m.from);
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      BecomeFollower(m.term, m.from);
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      BecomeFollower(m.term, m.from);
      HandleSnapshot(m);
      return;
    default:
      break;
  }
  if (m.type != my_resp) return;
  votes_.emplace(m.from, !m.reject);
  int result = TallyVotes();
  if (result > 0) {
    if (role_ == Role::kPreCandidate) {
      CampaignInternal(false, false);
    } else {
      BecomeLeader();
    }
  } else if (result < 0) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::HandleAppend(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    resp.index = log_.committed();
    Send(std::move(resp));
    return;
  }
  Index first_changed = 0;
  if (auto last_new = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries, &first_changed)) {
    if (first_changed != 0) {
      std::vector<Entry> tail(m.entries.begin() + (first_changed - (m.index + 1)), m.entries.end());
      NoteAppended(tail);
    }
    resp.index = *last_new;
  } else {
    // Fast back-off: suggest the last index whose term is <= the leader's
    // term at m.index, so the leader skips a whole conflicting term at once.
    Index hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
    resp.index = m.index;
    resp.reject = true;
    resp.reject_hint = hint;
    resp.log_term = log_.TermAt(hint).value_or(0);
  }
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Message resp;
  resp.type = MessageType::kHeartbeatResp;
  resp.to = m.from;
  resp.index = m.index;  // echo the send tick (leader lease)
  resp.context = m.context;
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  const SnapshotMeta& meta = m.snapshot.meta;
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  if (meta.index <= log_.committed()) {
    resp.index = log_.committed();
  } else if (log_.MatchTerm(meta.index, meta.term)) {
    log_.CommitTo(meta.index);  // we already have it: just fast-forward
    resp.index = log_.committed();
  } else {
    log_.Restore(m.snapshot);
    config_history_.Reset(meta.index, meta.membership);
    SyncProgressWithMembership();
    resp.index = log_.LastIndex();
  }
  Send(std::move(resp));
}

void Raft::StepLeader(const Message& m) {
  auto it = prs_.find(m.from);
  if (it == prs_.end()) return;  // not a member (anymore)
  ReplicationProgress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppendResp:
      pr.recent_active = true;
      HandleAppendResp(m, pr);
      break;
    case MessageType::kHeartbeatResp:
      pr.recent_active = true;
      HandleHeartbeatResp(m, pr);
      break;
    default:
      break;
  }
}

void Raft::HandleAppendResp(const Message& m, ReplicationProgress& pr) {
  if (m.reject) {
    Index next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.FindConflictByTerm(m.reject_hint, m.log_term);
    if (pr.MaybeDecreaseTo(m.index, next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(m.from, true);
    }
    return;
  }
  bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index)) return;
  stall_ticks_[m.from] = 0;
  if (pr.state == ProgressState::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kSnapshot && pr.match >= pr.pending_snapshot) {
    pr.BecomeProbe();
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kReplicate) {
    pr.inflights.FreeLE(m.index);
  }
  NodeId from = m.from;
  if (MaybeCommit()) {
    if (role_ != Role::kLeader) return;  // stepped down after its own removal
    BcastAppend();
  } else if (was_paused) {
    MaybeSendAppend(from, false);
  }
  auto it = prs_.find(from);
  if (it == prs_.end()) return;
  while (MaybeSendAppend(from, false)) {
  }
  if (from == lead_transferee_ && it->second.match == log_.LastIndex()) SendTimeoutNow(from);
}

void Raft::HandleHeartbeatResp(const Message& m, ReplicationProgress& pr) {
  pr.probe_sent = false;
  if (IsVoter(membership(), m.from)) {
    uint64_t& t = ack_ticks_[m.from];
    t = std::max<uint64_t>(t, m.index);
  }
  if (pr.state == ProgressState::kProbe && pr.match < log_.LastIndex()) {
    MaybeSendAppend(m.from, true);
  }
  if (m.context.empty() || !IsVoter(membership(), m.from)) return;
  size_t acks = read_only_.RecvAck(m.from, m.context);
  if (acks >= QuorumSize(membership())) {
    for (ReadState& rs : read_only_.Advance(m.context)) read_states_.push_back(std::move(rs));
  }
}

void Raft::Send(Message m) {
  m.from = id_;
  // Responses to pre-votes carry their own term; everything else ours.
  if (m.term == 0 && m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResp) {
    m.term = term_;
  }
  if (m.type == MessageType::kPreVoteResp && m.term == 0) m.term = term_;
  msgs_.push_back(std::move(m));
}

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  auto it = prs_.find(to);
  if (it == prs_.end() || to == id_) return false;
  ReplicationProgress& pr = it->second;
  if (pr.IsPaused()) return false;
  auto prev_term = log_.TermAt(pr.next - 1);
  std::optional<std::vector<Entry>> ents;
  if (prev_term) {
    Index hi = std::min<Index>(log_.LastIndex() + 1, pr.next + cfg_.max_msg_entries);
    ents = log_.Slice(pr.next, hi, cfg_.max_msg_bytes);
  }
  if (!prev_term || !ents) return SendSnapshot(to, pr);
  if (ents->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = pr.next - 1;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  if (!ents->empty()) {
    Index last = ents->back().index;
    if (pr.state == ProgressState::kReplicate) {
      pr.OptimisticUpdate(last);
      pr.inflights.Add(last);
    }
  }
  if (pr.state == ProgressState::kProbe) pr.probe_sent = true;
  m.entries = std::move(*ents);
  Send(std::move(m));
  return true;
}

bool Raft::SendSnapshot(NodeId to, ReplicationProgress& pr) {
  if (!pr.recent_active) return false;
  Snapshot snap = storage_->GetSnapshot();
  NINES_RAFT_ASSERT(!snap.empty());
  pr.BecomeSnapshot(snap.meta.index);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = std::move(snap);
  Send(std::move(m));
  return true;
}

void Raft::SendTimeoutNow(NodeId to) {
  lease_revoked_ = true;  // the transferee may win without waiting out our lease
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  m.context = lead_transfer_reason_;
  Send(std::move(m));
}

void Raft::BcastAppend() {
  for (auto& [id, pr] : prs_) {
    if (id != id_) MaybeSendAppend(id, true);
  }
}

void Raft::BcastHeartbeat() {
  const std::string* ctx = read_only_.LastContext();
  for (auto& [id, pr] : prs_) {
    if (id == id_) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    m.commit = std::min(pr.match, log_.committed());
    m.index = now_ticks_;
    if (ctx) m.context = *ctx;
    Send(std::move(m));
  }
}

bool Raft::MaybeCommit() {
  const Membership& m = membership();
  std::vector<Index> matches;
  for (NodeId voter : m.voters) {
    auto it = prs_.find(voter);
    matches.push_back(it == prs_.end() ? 0 : it->second.match);
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<Index>());
#if NINES_RAFT_PLANT == 1
  // Planted bug: a minority of voters is enough to commit.
  size_t quorum = std::max<size_t>(1, m.voters.size() / 2);
#else
  size_t quorum = QuorumSize(m);
#endif
#if NINES_RAFT_PLANT == 4
  // Planted bug (§5.4.2): an entry of an earlier term commits by counting
  // replicas, without an entry of the current term above it.
  std::optional<Term> quorum_term = log_.TermAt(matches[quorum - 1]);
  bool committed = quorum_term && log_.MaybeCommit(matches[quorum - 1], *quorum_term);
#else
  bool committed = log_.MaybeCommit(matches[quorum - 1], term_);
#endif
  if (committed && !IsMember(m, id_) && config_history_.CurrentIndex() <= log_.committed()) {
    // Our own removal has committed: hand over by stepping down.
    BecomeFollower(term_, kNoNode);
  }
  return committed;
}

void Raft::AppendAsLeader(EntryType type, std::string data) {
  Entry e;
  e.term = term_;
  e.index = log_.LastIndex() + 1;
  e.type = type;
  e.data = std::move(data);
  std::vector<Entry> ents{std::move(e)};
  log_.Append(ents);
  NoteAppended(ents);
}

void Raft::NoteAppended(const std::vector<Entry>& appended) {
  if (appended.empty()) return;
  Index before = config_history_.CurrentIndex();
  config_history_.TruncateFrom(appended.front().index);
  bool changed = config_history_.CurrentIndex() != before;
  for (const Entry& e : appended) {
    if (e.type != EntryType::kConfig) continue;
    Membership m;
    NINES_RAFT_ASSERT(DecodeMembership(e.data, &m).ok());
    config_history_.Append(e.index, std::move(m));
    changed = true;
  }
  if (changed) SyncProgressWithMembership();
}

ProposeError Raft::Propose(std::string data) {
  if (data.empty()) return ProposeError::kEmptyEntry;  // IsLeaderNoOp's guarantee
  if (role_ != Role::kLeader) return ProposeError::kNotLeader;
  if (lead_transferee_ != kNoNode) return ProposeError::kTransferring;
  if (log_.LastIndex() - log_.committed() >= cfg_.max_uncommitted_entries) {
    return ProposeError::kBacklog;
  }
  AppendAsLeader(EntryType::kNormal, std::move(data));
  pending_broadcast_ = true;  // sent as one batch when the caller takes a Ready
  return ProposeError::kNone;
}

ProposeError Raft::ProposeConfChange(const ConfChange& change, std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  if (role_ != Role::kLeader) return ProposeError::kNotLeader;
  if (lead_transferee_ != kNoNode) return ProposeError::kTransferring;
  if (pending_conf_index_ > log_.committed() || log_.TermAt(log_.committed()) != term_) {
    *error = "the previous change (or this term's first entry) is not committed yet";
    return ProposeError::kConfigPending;
  }
  Membership next;
  if (Status s = ApplyConfChange(membership(), change, &next); !s.ok()) {
    *error = s.message();
    return ProposeError::kInvalidConfig;
  }
  AppendAsLeader(EntryType::kConfig, EncodeMembership(next));
  pending_conf_index_ = log_.LastIndex();
  pending_broadcast_ = true;
  return ProposeError::kNone;
}

bool Raft::LeaseValid() const {
  if (!cfg_.lease_reads || role_ != Role::kLeader || lease_revoked_) return false;
  if (lead_transferee_ != kNoNode) return false;
  const Membership& m = membership();
  std::vector<uint64_t> ticks;
  for (NodeId voter : m.voters) {
    if (voter == id_) {
      ticks.push_back(now_ticks_);
    } else {
      auto it = ack_ticks_.find(voter);
      ticks.push_back(it == ack_ticks_.end() ? 0 : it->second);
    }
  }
  std::sort(ticks.begin(), ticks.end(), std::greater<uint64_t>());
  uint64_t confirmed = ticks[QuorumSize(m) - 1];
  if (confirmed == 0) return false;
  // Voters that acknowledged a heartbeat sent at `confirmed` refuse to vote
  // for election_ticks after receiving it.
  return confirmed + cfg_.election_ticks > now_ticks_ + cfg_.lease_margin_ticks;
}

bool Raft::ReadIndex(std::string context) {
  if (role_ != Role::kLeader || !IsVoter(membership(), id_)) return false;
  // Until an entry of this term commits, the commit index may be stale.
  if (log_.TermAt(log_.committed()) != term_) return false;
  if (membership().voters.size() == 1 || LeaseValid()) {
    read_states_.push_back(ReadState{log_.committed(), std::move(context)});
    return true;
  }
  if (!read_only_.Add(log_.committed(), context, id_)) return false;
  // Batched: every read that arrives before the caller takes the next Ready
  // shares one heartbeat round (it carries the newest context; a quorum of
  // acks for it confirms every earlier read too).
  pending_read_heartbeat_ = true;
  return true;
}

bool Raft::TransferLeadership(NodeId to, std::string reason) {
  if (role_ != Role::kLeader || to == id_ || !IsVoter(membership(), to)) return false;
  if (lead_transferee_ == to) {
    lead_transfer_reason_ = std::move(reason);
    return true;
  }
  lead_transferee_ = to;
  lead_transfer_reason_ = std::move(reason);
  election_elapsed_ = 0;  // the transfer must finish within an election timeout
  const ReplicationProgress& pr = prs_.at(to);
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(to);
  } else {
    MaybeSendAppend(to, true);
  }
  return true;
}

bool Raft::HasReady() const {
  if (ready_outstanding_) return false;
  if (SoftState{role_, lead_} != prev_soft_) return true;
  if (hard_state() != prev_hard_) return true;
  if (!log_.UnstableEntries().empty() || log_.UnstableSnapshot()) return true;
  if (!msgs_.empty() || !read_states_.empty() || pending_broadcast_) return true;
  if (pending_read_heartbeat_) return true;
  return log_.HasNextCommittedEntries();
}

Ready Raft::GetReady() {
  NINES_RAFT_ASSERT(!ready_outstanding_);
  if (pending_read_heartbeat_) {
    pending_read_heartbeat_ = false;
    if (role_ == Role::kLeader && read_only_.size() > 0) BcastHeartbeat();
  }
  if (pending_broadcast_) {
    pending_broadcast_ = false;
    if (role_ == Role::kLeader) {
      for (auto& [id, pr] : prs_) {
        if (id == id_) continue;
        while (MaybeSendAppend(id, false)) {
        }
      }
    }
  }
  Ready rd;
  SoftState ss{role_, lead_};
  if (ss != prev_soft_) rd.soft_state = ss;
  HardState hs = hard_state();
  if (hs != prev_hard_) rd.hard_state = hs;
  rd.entries = log_.UnstableEntries();
  if (log_.UnstableSnapshot()) rd.snapshot = *log_.UnstableSnapshot();
  rd.committed_entries = log_.NextCommittedEntries(cfg_.max_apply_bytes);
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  ready_outstanding_ = true;
  return rd;
}

void Raft::Advance(const Ready& rd) {
  NINES_RAFT_ASSERT(ready_outstanding_);
  ready_outstanding_ = false;
  if (rd.soft_state) prev_soft_ = *rd.soft_state;
  if (rd.hard_state) prev_hard_ = *rd.hard_state;
  if (rd.snapshot) {
    log_.StableSnapshotTo(rd.snapshot->meta.index);
    if (rd.snapshot->meta.index > log_.applied()) log_.AppliedTo(rd.snapshot->meta.index);
  }
  if (!rd.entries.empty()) {
    log_.StableTo(rd.entries.back().index, rd.entries.back().term);
    if (role_ == Role::kLeader) {
      auto it = prs_.find(id_);
      if (it != prs_.end() && it->second.MaybeUpdate(log_.StableLastIndex())) {
        if (MaybeCommit() && role_ == Role::kLeader) BcastAppend();
      }
    }
  }
  if (!rd.committed_entries.empty()) {
    Index last = rd.committed_entries.back().index;
    if (last > log_.applied()) log_.AppliedTo(last);
  }
}

}  // namespace nines::raft
