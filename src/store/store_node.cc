// The Raft loop of one store member; see store_node.h.
#include "store/store_node.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "base/coding.h"
#include "base/log.h"
#include "raft/codec.h"
#include "raft/membership.h"
#include "store/outcome.h"
#include "store/snapshot_file.h"
#include "store/sorted_set.h"
#include "store/store_plant.h"
#include "store/string_list.h"
#include "store/wal_format.h"

namespace nines::store {

namespace {

constexpr size_t kEntryHeader = 16;    // [u64 origin member][u64 request id]
constexpr char kDirectoryEntry = 'D';  // entry payload: 'D' + directory (KvCommands start with 1)
// The largest entry payload: its WAL record ('E' + the encoded entry) must
// fit in one record (WalOptions::max_record_bytes); the headroom covers the
// entry's encoding. Peer frames (PeerTransport, 512 MiB) carry more.
constexpr uint64_t kMaxEntryBytes = kDefaultMaxRecordBytes - 4096;

}  // namespace

uint64_t StoreNode::MaxProposalBytes() {
  return kMaxEntryBytes - kEntryHeader;
}

StoreNode::StoreNode(StoreConfig config, StoreNodeEnv env)
    : config_(std::move(config)),
      env_(std::move(env)),
      self_(config_.Self()),
      fs_(env_.fs),
      storage_(raft::Membership{}),
      log_clock_([this] { return WallMs(); }, [this] { return NowMs(); },
                 config_.max_clock_skew_ms),
      slow_fsync_(SlowFsyncOptions{config_.slow_fsync_ms, config_.slow_fsync_count,
                                   config_.slow_fsync_cooldown_ms}),
      wal_fsync_seconds_(FsyncBuckets()),
      request_ids_(env_.request_id_nonce) {
  wal_dir_ = JoinPath(config_.data_dir, "wal");
  snap_dir_ = JoinPath(config_.data_dir, "snap");
  command_config_.requirepass = config_.requirepass;
  command_config_.max_memory_bytes = config_.maxmemory;
  command_config_.max_hash_fields = config_.max_hash_fields;
  command_config_.max_list_elements = config_.max_list_elements;
  command_config_.max_set_members = config_.max_set_members;
  command_config_.max_zset_members = config_.max_zset_members;
  start_ms_ = NowMs();
  for (const StoreMember& m : config_.members) directory_.Upsert(m);
  snapshot_runner_ = env_.snapshot_runner;
  if (!snapshot_runner_) snapshot_runner_ = std::make_shared<InlineSnapshotRunner>();
  state_.set_key_listener([this](std::string_view key) { blocking_.KeyTouched(key); });
}

StoreNode::~StoreNode() {
  // A snapshot still being written never gets its marker: recovery ignores
  // its file, and the next snapshot's cleanup removes it.
  snapshot_runner_->Abandon();
}

raft::Membership StoreNode::Bootstrap() const {
  raft::Membership m;
  if (config_.join) return m;  // a joining member learns its configuration from the leader
  for (const StoreMember& member : config_.members) m.voters.push_back(member.raft_id);
  std::sort(m.voters.begin(), m.voters.end());
  return m;
}

std::string StoreNode::SnapshotContent() const {
  return EncodeSnapshotContent(applied_membership_, directory_, state_.Serialize());
}

Status StoreNode::InstallSnapshotContent(std::string_view content,
                                         const raft::Membership& membership) {
  bool wrapped = false;
  raft::Membership m = membership;
  MemberDirectory directory;
  std::string_view kv;
  if (Status s = DecodeSnapshotContent(content, &wrapped, &m, &directory, &kv); !s.ok()) return s;
  if (wrapped) directory_ = std::move(directory);
  applied_membership_ = m;
  Status s = state_.Deserialize(kv);
  if (s.ok()) log_clock_.Observe(state_.clock_ms());
  return s;
}

void StoreNode::CampaignIfAlone() {
  if (raft_->membership().voters == std::vector<raft::NodeId>{self_->raft_id} &&
      raft_->membership().learners.empty()) {
    raft_->Campaign();
    RequestDrain();
  }
}

Status StoreNode::Close() {
  snapshot_runner_->Abandon();
  snapshot_in_progress_.reset();
  return wal_ ? wal_->Close() : Status::Ok();
}

void StoreNode::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = NowMs() + 1000;
  if (IsLeader() && raft_->membership().voters.size() > 1) {
    raft::NodeId best = raft::kNoNode;
    raft::Index best_match = 0;
    for (raft::NodeId voter : raft_->membership().voters) {
      if (voter == self_->raft_id) continue;
      const raft::ReplicationProgress* pr = raft_->progress(voter);
      if (pr && (best == raft::kNoNode || pr->match > best_match)) {
        best = voter;
        best_match = pr->match;
      }
    }
    if (best != raft::kNoNode && raft_->TransferLeadership(best)) {
      LogInfo("store", "transferring leadership to member {}", best);
      RequestDrain();
      return;
    }
  }
  shutdown_deadline_ = 0;
}

bool StoreNode::ShutdownDone() const {
  return shutting_down_ && (!IsLeader() || NowMs() >= shutdown_deadline_);
}

void StoreNode::Tick() {
  CheckDiskSpace();
  CheckSlowDisk();
  raft_->Tick();
  RequestDrain();
  StepMemberJob();
  SweepTimeouts();
  ReleaseWaiters();
  MaybePurgeExpired();
  MaybeSnapshot();  // notices a background snapshot that finished
  if (blocking_.size() > 0) blocking_.ExpireDue(NowMs());
  if (blocking_.HasTouched()) ServeBlocked();
  info_.blocked_clients = blocking_.size();  // INFO is not only refreshed by a Ready
}

void StoreNode::Step(const raft::Message& m) {
  if (m.to != self_->raft_id) return;
  // Under the NOSPACE alarm nothing that would grow the log is taken (the
  // leader sends it again): a member never fails a write for want of room.
  if (no_space_ && NeedsDiskSpace(m)) return;
  // A member with a slow disk takes no slow-disk hand-off (it would be no
  // better a leader): that leader tries another voter once this one's
  // transfer times out. Any other transfer (a leader shutting down, out of
  // space, removing itself, an operator's) is taken: a slow leader beats
  // none.
  // A member shutting down takes no transfer at all (it is about to go).
  if (m.type == raft::MessageType::kTimeoutNow && shutting_down_) return;
  if (m.type == raft::MessageType::kTimeoutNow && m.context == kSlowDiskTransfer &&
      slow_fsync_.Slow(NowMs())) {
    ++counters_.slow_disk_refused_transfers;
    LogInfo("store", "slow disk: not taking leadership from {}",
            directory_.ByRaftId(m.from) ? directory_.ByRaftId(m.from)->id : "?");
    return;
  }
  if (m.type == raft::MessageType::kAppendResp) {  // its disk as it reports it
    if (m.context == kSlowDiskTransfer) {
      slow_peers_.insert(m.from);
    } else {
      slow_peers_.erase(m.from);
    }
  }
  raft_->Step(m);
  RequestDrain();
}

void StoreNode::RequestDrain() {
  if (drain_requested_) return;
  drain_requested_ = true;
  env_.schedule_drain();
}

bool StoreNode::Drain() {
  drain_requested_ = false;
  bool any = false;
  while (raft_->HasReady()) {
    // The heartbeat round goes out with this Ready: reads arriving from now on
    // need a round sent after them (a new batch).
    open_read_batch_ = nullptr;
    raft::Ready rd = raft_->GetReady();
    HandleReady(rd);
    raft_->Advance(rd);
    FailCutWrites();
    // The disk was just flagged slow: hand over now rather than at the next
    // tick, which a leader blocked in slow fsyncs reaches one fsync later.
    // (Between Advance and GetReady, where a tick could run too.)
    if (slow_disk_raised_) {
      slow_disk_raised_ = false;
      CheckSlowDisk();
    }
    any = true;
  }
  if (any) {
    UpdateInfo();
    ServeReads();
    ReleaseWaiters();
    ServeBlocked();
    MaybeSnapshot();
  }
  return any;
}

void StoreNode::HandleReady(raft::Ready& rd) {
  for (const raft::Message& m : rd.messages) {
    if (raft::MaySendBeforePersist(m)) Send(m);
  }
  // Committed entries this member already has on disk (from earlier Readies)
  // need not wait for this Ready's fsync: applying them first answers their
  // writes one fsync sooner. Entries of this Ready are applied after it.
  size_t applied_early = 0;
  if (!rd.snapshot) {
    uint64_t durable = storage_.LastIndex();  // not past an entry this Ready replaces
    if (!rd.entries.empty()) durable = std::min<uint64_t>(durable, rd.entries.front().index - 1);
    while (applied_early < rd.committed_entries.size() &&
           rd.committed_entries[applied_early].index <= durable) {
      ApplyEntry(rd.committed_entries[applied_early++]);
    }
  }
  Persist(rd);
  const bool slow = slow_fsync_.Slow(NowMs());
  for (raft::Message& m : rd.messages) {
    if (raft::MaySendBeforePersist(m)) continue;
    // The leader's slow-disk hand-off skips a member that reports a slow disk.
    if (slow && m.type == raft::MessageType::kAppendResp) m.context = kSlowDiskTransfer;
    Send(m);
  }
  if (rd.snapshot) {
    Status s = InstallSnapshotContent(rd.snapshot->data, rd.snapshot->meta.membership);
    if (!s.ok()) Fatal(s, "installing a snapshot from the leader");
    applied_ = rd.snapshot->meta.index;
    last_snapshot_index_ = applied_;
    last_snapshot_bytes_ = rd.snapshot->data.size();
    ++counters_.snapshots_installed;
  }
  for (size_t i = applied_early; i < rd.committed_entries.size(); ++i) {
    ApplyEntry(rd.committed_entries[i]);
  }
  for (const raft::ReadState& rs : rd.read_states) {
    if (rs.context.size() != 8) continue;
    auto it = read_batches_.find(DecodeFixed64(rs.context.data()));
    if (it == read_batches_.end()) continue;
    it->second.read_index = rs.index;
    it->second.ready = true;
  }
}

void StoreNode::CollectCutWrites(uint64_t first) {
  if (first > storage_.LastIndex()) return;  // nothing in the log is replaced
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.index >= first) {
      cut_writes_.push_back(std::move(it->second.done));
      it = pending_writes_.erase(it);
    } else {
      ++it;
    }
  }
}

void StoreNode::FailCutWrites() {
  if (cut_writes_.empty()) return;
  std::vector<WriteDone> cut;
  cut.swap(cut_writes_);
  for (WriteDone& done : cut) {
    ++counters_.unknown_outcome;
    done(nullptr, 0,
         UnknownOutcomeError("a later leader replaced the write's entry in this "
                             "member's log before it committed"));
  }
}

void StoreNode::Persist(const raft::Ready& rd) {
  // A snapshot replaces the whole log (a write at or below its index is in
  // it only if it committed, and is never acknowledged from it: it gets
  // -UNKNOWN at its deadline); entries replace the log from their first.
  if (rd.snapshot) CollectCutWrites(rd.snapshot->meta.index + 1);
  if (!rd.entries.empty()) CollectCutWrites(rd.entries.front().index);
  WalBatch batch;
  if (rd.snapshot) {
    const raft::Snapshot& snap = *rd.snapshot;
    Status s = WriteSnapshot(fs_, snap_dir_, store::SnapshotMeta{snap.meta.index, snap.meta.term},
                             snap.data);
    if (!s.ok()) Fatal(s, "writing a received snapshot");
    std::string marker = "S";
    PutFixed64(&marker, snap.meta.index);
    PutFixed64(&marker, snap.meta.term);
    batch.Add(snap.meta.index, marker);
  }
  // A Ready may hold more than a segment: it is written in pieces of at most
  // half a segment (half leaves room for a new segment's preamble, so no
  // segment holds a preamble alone). One fsync covers them all; the hard
  // state comes last, so a crash keeps a prefix without it.
  const uint64_t piece_bytes = wal_segment_bytes_ / 2;
  uint64_t synced_bytes = 0;  // what the fsync covers (the slow-disk guard judges per MiB)
  auto add = [&](uint64_t index, const std::string& payload) {
    if (!batch.empty() &&
        batch.ByteSize() + payload.size() + wal::kRecordHeaderSize > piece_bytes) {
      synced_bytes += batch.ByteSize();
      Status s = wal_->Write(batch);
      if (!s.ok()) Fatal(s, "writing the WAL");
      batch.Clear();
    }
    batch.Add(index, payload);
  };
  for (const raft::Entry& e : rd.entries) add(e.index, "E" + raft::EncodeEntry(e));
  if (rd.hard_state) add(0, "H" + raft::EncodeHardState(*rd.hard_state));
  if (!batch.empty()) {
    synced_bytes += batch.ByteSize();
    Status s = wal_->Write(batch);
    if (!s.ok()) Fatal(s, "writing the WAL");
    ++counters_.wal_batches;
    // PLANTED BUG 3 (off unless NINES_STORE_PLANT=3): acknowledged without fsync.
    if (config_.fsync && StorePlant() != 3) {
      s = SyncWal(synced_bytes);
      if (!s.ok()) Fatal(s, "syncing the WAL");
      ++counters_.fsyncs;
    }
    // Only now may a new segment's preamble repeat it.
    if (rd.hard_state) synced_hard_state_ = *rd.hard_state;
  }
  // The storage keeps the snapshot's meta only: the content is in its file
  // (Send streams it from there), and in the state once installed.
  if (rd.snapshot) storage_.ApplySnapshot(raft::Snapshot{rd.snapshot->meta, {}});
  if (!rd.entries.empty()) storage_.Append(rd.entries);
  if (rd.hard_state) storage_.SetHardState(*rd.hard_state);
  if (rd.snapshot) {
    DropReplacedBy(store::SnapshotMeta{rd.snapshot->meta.index, rd.snapshot->meta.term});
  }
}

void StoreNode::ApplyEntry(const raft::Entry& e) {
  if (e.index <= applied_) return;
  applied_ = e.index;
  // An entry this member cannot decode stops it: skipping it would let its
  // state diverge silently from the other members'.
  auto undecodable = [&](const std::string& why) {
    Fatal(Status::Corruption(fmt::format("entry {} (term {}): {}", e.index, e.term, why)),
          "applying the log");
  };
  if (e.type == raft::EntryType::kConfig) {
    raft::Membership m;
    if (Status s = raft::DecodeMembership(e.data, &m); !s.ok()) {
      undecodable("bad configuration: " + s.message());
    }
    applied_membership_ = std::move(m);
    LogInfo("store", "configuration at index {}: {} voters, {} learners{}", e.index,
            applied_membership_.voters.size(), applied_membership_.learners.size(),
            raft::IsMember(applied_membership_, self_->raft_id)
                ? ""
                : "; this member is no longer part of it");
    return;
  }
  if (e.type != raft::EntryType::kNormal) {
    undecodable(fmt::format("unknown entry type {}", static_cast<int>(e.type)));
  }
  if (raft::IsLeaderNoOp(e)) return;  // it commits the leader's term; nothing to apply
  if (e.data.size() <= kEntryHeader) {
    undecodable(fmt::format("{} bytes, too short for the {}-byte header and a command",
                            e.data.size(), kEntryHeader));
  }
  std::string_view data(e.data);
  uint64_t origin = DecodeFixed64(data.data());
  uint64_t request = DecodeFixed64(data.data() + 8);
  std::string_view payload = data.substr(kEntryHeader);
  KvResult result;
  if (!payload.empty() && payload[0] == kDirectoryEntry) {
    MemberDirectory directory;
    if (Status s = DecodeDirectory(payload.substr(1), &directory); !s.ok()) {
      undecodable("bad member directory: " + s.message());
    }
    directory_ = std::move(directory);
  } else {
    // A write a follower forwarded comes wrapped with its request key and is
    // applied at most once per key (store/request_dedup.h).
    RequestKey dedup_key;
    std::string_view command = payload;
    bool deduplicated = UnwrapDeduplicated(payload, &dedup_key, &command);
    Status s = DecodeKvCommand(command, &apply_scratch_);
    if (!s.ok()) undecodable("bad command: " + s.message());
    result = deduplicated ? state_.ApplyDeduplicated(e.index, dedup_key, apply_scratch_)
                          : state_.ApplyCommand(e.index, apply_scratch_);
    log_clock_.Observe(state_.clock_ms());
  }
  if (origin != self_->raft_id) return;
  auto it = pending_writes_.find(request);
  if (it == pending_writes_.end()) return;
  WriteDone done = std::move(it->second.done);
  pending_writes_.erase(it);
  ++counters_.writes_acked;
  done(&result, e.index, "");
}

void StoreNode::ServeReads() {
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    ReadBatch& b = it->second;
    if (!b.ready || applied_ < b.read_index) {
      ++it;
      continue;
    }
    // Serve every read of the batch whose connection's writes are applied;
    // keep the others (their callbacks may start new reads: take them out first).
    // A write whose index is past the end of the log was cut off it (its
    // leader was deposed before it committed; CollectCutWrites answered it
    // -UNKNOWN): the read must not wait for other entries to fill the gap.
    std::vector<PendingRead> reads;
    reads.swap(b.reads);
    std::vector<PendingRead> waiting;
    const uint64_t last_index = raft_->log().LastIndex();
    for (PendingRead& r : reads) {
      if (applied_ >= r.min_index || r.min_index > last_index) {
        --pending_read_count_;
        ++counters_.reads_served;
        r.done(true, "");
      } else {
        waiting.push_back(std::move(r));
      }
    }
    b.reads = std::move(waiting);
    if (b.reads.empty() && open_read_batch_ != &b) {
      it = read_batches_.erase(it);
    } else {
      ++it;
    }
  }
}

void StoreNode::SweepTimeouts() {
  int64_t now = NowMs();
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.deadline <= now) {
      WriteDone done = std::move(it->second.done);
      it = pending_writes_.erase(it);
      ++counters_.unknown_outcome;
      done(nullptr, 0, UnknownOutcomeError("write not committed in time"));
    } else {
      ++it;
    }
  }
  bool leader = IsLeader();
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    if (it->second.deadline <= now || (!leader && !it->second.ready)) {
      std::vector<PendingRead> reads = std::move(it->second.reads);
      if (open_read_batch_ == &it->second) open_read_batch_ = nullptr;
      it = read_batches_.erase(it);
      for (PendingRead& r : reads) {
        --pending_read_count_;
        ++counters_.tryagain;
        r.done(false, "TRYAGAIN read barrier not confirmed (leadership changed or timed out)");
      }
    } else {
      ++it;
    }
  }
}

void StoreNode::WhenLeaderKnown(int64_t deadline_ms, std::function<void(bool)> fn) {
  waiters_.push_back(Waiter{deadline_ms, std::move(fn)});
}

void StoreNode::ReleaseWaiters() {
  if (waiters_.empty()) return;
  bool usable = raft_->leader() != raft::kNoNode && raft_->lead_transferee() == raft::kNoNode;
  int64_t now = NowMs();
  std::vector<Waiter> waiting;
  waiting.swap(waiters_);
  for (Waiter& w : waiting) {
    if (usable) {
      w.fn(false);
    } else if (w.deadline <= now) {
      ++counters_.tryagain;
      w.fn(true);
    } else {
      waiters_.push_back(std::move(w));
    }
  }
}

bool StoreNode::ProposeWrite(std::string proposal, uint64_t* last_index, WriteDone done,
                             const RequestKey* dedup) {
  if (!IsLeader() || shutting_down_) return false;
  if (no_space_) {
    ++counters_.no_space_refusals;
    done(nullptr, 0,
         NoSpaceError("the leader's disk is full; writes are refused until space returns"));
    return true;
  }
  StampTime(&proposal, log_clock_.Stamp());
  if (dedup) proposal = WrapDeduplicated(*dedup, proposal);
  return ProposeEntry(proposal, last_index, std::move(done));
}

bool StoreNode::ProposeEntry(const std::string& proposal, uint64_t* last_index, WriteDone done) {
  if (!IsLeader() || shutting_down_) return false;
  if (kEntryHeader + proposal.size() > kMaxEntryBytes) {
    // Refused before it reaches the log: an entry the WAL cannot hold would
    // stop every member that tried to persist it.
    done(nullptr, 0, TooLargeError(kEntryHeader + proposal.size(), kMaxEntryBytes));
    return true;
  }
  uint64_t id = request_ids_.Next();
  std::string data;
  data.reserve(kEntryHeader + proposal.size());
  PutFixed64(&data, self_->raft_id);
  PutFixed64(&data, id);
  data += proposal;
  raft::ProposeError err = raft_->Propose(std::move(data));
  if (err == raft::ProposeError::kBacklog) {
    ++counters_.tryagain;
    done(nullptr, 0, "TRYAGAIN too many uncommitted writes");
    return true;
  }
  if (err != raft::ProposeError::kNone) return false;
  ++counters_.proposals;
  uint64_t index = raft_->log().LastIndex();
  if (last_index) *last_index = std::max(*last_index, index);
  pending_writes_[id] = PendingWrite{RequestDeadline(), index, std::move(done)};
  RequestDrain();
  return true;
}

bool StoreNode::StartRead(uint64_t min_index, ReadDone done) {
  if (!IsLeader()) return false;
  if (open_read_batch_ == nullptr) {
    uint64_t id = ++next_read_id_;
    std::string context;
    PutFixed64(&context, id);
    if (!raft_->ReadIndex(context)) return false;
    ++counters_.read_rounds;
    ReadBatch& batch = read_batches_[id];
    batch.id = id;
    batch.deadline = RequestDeadline();
    open_read_batch_ = &batch;
    RequestDrain();
  }
  open_read_batch_->reads.push_back(PendingRead{min_index, std::move(done)});
  ++pending_read_count_;
  return true;
}

void StoreNode::MaybePurgeExpired() {
  if (!IsLeader() || purge_in_flight_ || state_.keys_with_expiry() == 0) return;
  int64_t now = NowMs();
  if (now - last_purge_ms_ < 100) return;
  last_purge_ms_ = now;
  KvCommand c;
  c.op = KvOp::kPurgeExpired;
  c.number = 1000;
  std::string encoded;
  EncodeKvCommand(c, &encoded);
  purge_in_flight_ = true;
  if (!ProposeWrite(
          std::move(encoded), nullptr,
          [this](const KvResult*, uint64_t, const std::string&) { purge_in_flight_ = false; })) {
    purge_in_flight_ = false;
  }
}

void StoreNode::ServeBlocked() {
  if (blocking_.size() == 0) return;
  if (!IsLeader()) {
    blocking_.FailAll();
    return;
  }
  const int64_t now = ReadTimeMs();
  blocking_.ServeReady([this, now](std::string_view key, ValueType type) -> size_t {
    const KvEntry* e = state_.Find(key, now);
    if (e == nullptr || e->type != type) return 0;
    return type == ValueType::kList ? e->list->size() : e->zset->size();
  });
}

void StoreNode::UpdateInfo() {
  info_.id = config_.id;
  switch (raft_->role()) {
    case raft::Role::kLeader:
      info_.role = "leader";
      break;
    case raft::Role::kFollower:
      info_.role = "follower";
      break;
    default:
      info_.role = "candidate";
  }
  const StoreMember* leader = LeaderMember();
  if (info_.role != logged_role_ || raft_->term() != logged_term_ ||
      raft_->leader() != logged_leader_) {
    // One line per change of role, term or leader: what an operator reads
    // first after a stall.
    LogInfo("store", "{} in term {}, leader {}", info_.role, raft_->term(),
            leader ? leader->id : "unknown");
    logged_role_ = info_.role;
    logged_term_ = raft_->term();
    logged_leader_ = raft_->leader();
  }
  info_.leader_id = leader ? leader->id : "";
  info_.leader_host = leader ? leader->client.host : "";
  info_.leader_port = leader ? leader->client.port : 0;
  info_.term = raft_->term();
  info_.commit_index = raft_->log().committed();
  info_.applied_index = applied_;
  info_.tcp_port = config_.client.port;
  info_.uptime_seconds = (NowMs() - start_ms_) / 1000;
  info_.connected_clients = open_connections_;
  info_.blocked_clients = blocking_.size();
  info_.process_id = env_.process_id;
  info_.members.clear();
  const raft::Membership& membership = raft_->membership();
  for (const StoreMember& m : directory_.members) {
    if (m.raft_id == self_->raft_id || !raft::IsMember(membership, m.raft_id)) continue;
    MemberInfo mi;
    mi.id = m.id;
    mi.client_host = m.client.host;
    mi.client_port = m.client.port;
    const raft::ReplicationProgress* pr = IsLeader() ? raft_->progress(m.raft_id) : nullptr;
    mi.match_index = pr ? pr->match : 0;
    info_.members.push_back(std::move(mi));
  }
}

void StoreNode::ConnectionOpened() {
  ++open_connections_;
  ++counters_.client_connections;
}

std::vector<std::pair<raft::NodeId, Endpoint>> StoreNode::Peers() const {
  std::vector<std::pair<raft::NodeId, Endpoint>> peers;
  const raft::Membership& m = raft_->membership();
  for (const StoreMember& member : directory_.members) {
    if (member.raft_id == self_->raft_id) continue;
    if (directory_.WasRemoved(member.id) && !raft::IsMember(m, member.raft_id)) continue;
    peers.emplace_back(member.raft_id, member.peer);
  }
  return peers;
}

std::string StoreNode::TransferLeadership(const std::string& to) {
  raft::NodeId target = HandOff(to, {});
  return target == raft::kNoNode ? "" : directory_.ByRaftId(target)->id;
}

raft::NodeId StoreNode::HandOff(const std::string& to, const std::set<raft::NodeId>& skip,
                                const std::string& reason) {
  if (!IsLeader()) return raft::kNoNode;
  raft::NodeId target = raft::kNoNode;
  raft::Index best = 0;
  for (raft::NodeId voter : raft_->membership().voters) {
    const StoreMember* m = directory_.ByRaftId(voter);
    if (voter == self_->raft_id || m == nullptr || skip.count(voter) > 0) continue;
    const raft::ReplicationProgress* pr = raft_->progress(voter);
    if (!to.empty()) {
      if (m->id == to) target = voter;
    } else if (pr && (target == raft::kNoNode || pr->match > best)) {
      target = voter;
      best = pr->match;
    }
  }
  if (target == raft::kNoNode || !raft_->TransferLeadership(target, reason)) return raft::kNoNode;
  RequestDrain();
  return target;
}

CommandContext StoreNode::Context() const {
  CommandContext c;
  c.config = &command_config_;
  c.info = &info_;
  c.now_ms = ReadTimeMs();
  c.used_memory_bytes = state_.memory_bytes();
  return c;
}

void StoreNode::Fatal(const Status& status, const char* what) {
  if (env_.fatal) env_.fatal(status, what);
  LogError("store", "{} failed: {}; stopping without acknowledging anything more (crash-stop)",
           what, status.ToString());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace nines::store
