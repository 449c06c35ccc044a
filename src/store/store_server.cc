// The raft loop of one store member: recovery, ticks, the Ready drain (WAL
// group commit, messages, apply, replies, reads), snapshots, expiry purges,
// timeouts and the leadership hand-over at shutdown. See store_server.h.
#include "store/store_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "base/log.h"
#include "net/tcp.h"
#include "raft/codec.h"
#include "raft/membership.h"
#include "store/coding.h"
#include "store/outcome.h"
#include "store/snapshot_file.h"

namespace nines::store {

namespace {

constexpr size_t kEntryHeader = 16;  // [u64 origin member][u64 request id]
constexpr uint64_t kMaxSnapshotBytes = 8ull << 30;
constexpr uint64_t kRetainedEntries = 1000;  // kept after a snapshot for slow followers
constexpr char kDirectoryEntry = 'D';  // entry payload: 'D' + directory (KvCommands start with 1)

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

}  // namespace

StoreServer::StoreServer(StoreConfig config)
    : config_(std::move(config)),
      self_(config_.Self()),
      fs_(PosixFileSystem()),
      storage_(Bootstrap()),
      client_acceptor_(io_),
      tick_timer_(io_),
      signals_(io_, SIGTERM, SIGINT) {
  wal_dir_ = JoinPath(config_.data_dir, "wal");
  snap_dir_ = JoinPath(config_.data_dir, "snap");
  command_config_.requirepass = config_.requirepass;
  start_ms_ = NowMs();
  for (const StoreMember& m : config_.members) directory_.Upsert(m);
  applied_membership_ = Bootstrap();
}

StoreServer::~StoreServer() = default;

raft::Membership StoreServer::Bootstrap() const {
  raft::Membership m;
  if (config_.join) return m;  // a joining member learns its configuration from the leader
  for (const StoreMember& member : config_.members) m.voters.push_back(member.raft_id);
  std::sort(m.voters.begin(), m.voters.end());
  return m;
}

std::string StoreServer::SnapshotContent() const {
  return EncodeSnapshotContent(applied_membership_, directory_, state_.Serialize());
}

Status StoreServer::InstallSnapshotContent(std::string_view content,
                                           const raft::Membership& membership) {
  bool wrapped = false;
  raft::Membership m = membership;
  MemberDirectory directory;
  std::string_view kv;
  std::string error;
  if (!DecodeSnapshotContent(content, &wrapped, &m, &directory, &kv, &error)) {
    return Status::Corruption(error);
  }
  if (wrapped) directory_ = std::move(directory);
  applied_membership_ = m;
  return state_.Deserialize(kv);
}

int64_t StoreServer::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t StoreServer::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status StoreServer::Recover() {
  Status s = fs_->CreateDirs(wal_dir_);
  if (s.ok()) s = fs_->CreateDirs(snap_dir_);
  if (!s.ok()) return s;
  store::SnapshotMeta meta;
  std::string content;
  bool found = false;
  s = LoadLatestSnapshot(fs_, snap_dir_, kMaxSnapshotBytes, &meta, &content, &found);
  if (!s.ok()) return s;
  raft::Snapshot snapshot;
  if (found) {
    s = InstallSnapshotContent(content, Bootstrap());
    snapshot.meta = raft::SnapshotMeta{meta.index, meta.term, applied_membership_};
    snapshot.data = content;
    storage_.ApplySnapshot(snapshot);
    if (!s.ok())
      return Status::Corruption("snapshot index " + std::to_string(meta.index) + ": " +
                                s.message());
    applied_ = meta.index;
    last_snapshot_index_ = meta.index;
  }
  raft::HardState hs;
  WalOptions options;
  options.segment_preamble = [this](WalBatch* preamble) {
    preamble->Add(0, "H" + raft::EncodeHardState(hard_state_));
  };
  WalRecoveryReport report;
  auto on_record = [&](uint64_t, std::string_view payload) -> Status {
    if (payload.empty()) return Status::Corruption("empty WAL record");
    std::string error;
    switch (payload[0]) {
      case 'E': {
        raft::Entry e;
        if (!raft::DecodeEntry(payload.substr(1), &e, &error)) {
          return Status::Corruption("bad WAL entry: " + error);
        }
        if (e.index < storage_.FirstIndex()) return Status::Ok();
        if (e.index > storage_.LastIndex() + 1) {
          return Status::Corruption("WAL entry " + std::to_string(e.index) +
                                    " leaves a gap after " + std::to_string(storage_.LastIndex()));
        }
        storage_.Append({e});
        return Status::Ok();
      }
      case 'H':
        if (!raft::DecodeHardState(payload.substr(1), &hs, &error)) {
          return Status::Corruption("bad WAL hard state: " + error);
        }
        return Status::Ok();
      case 'S': {
        if (payload.size() != 17) return Status::Corruption("bad WAL snapshot marker");
        uint64_t index = GetU64(payload.substr(1));
        if (found && index == snapshot.meta.index) storage_.ApplySnapshot(snapshot);
        return Status::Ok();
      }
      default:
        return Status::Corruption("unknown WAL record type");
    }
  };
  s = Wal::Open(fs_, wal_dir_, options, on_record, &wal_, &report);
  if (!s.ok()) return s;
  if (report.dropped_bytes > 0) {
    LogWarn("store", "WAL torn tail truncated: {} at offset {} ({}), {} bytes dropped",
            report.torn_file, report.torn_offset, report.torn_reason, report.dropped_bytes);
  }
  if (hs.commit < applied_) hs.commit = applied_;
  if (hs.commit > storage_.LastIndex()) hs.commit = storage_.LastIndex();
  storage_.SetHardState(hs);
  hard_state_ = hs;
  LogInfo("store", "recovered: snapshot {} entries {}..{} term {} commit {} ({} WAL records)",
          applied_, storage_.FirstIndex(), storage_.LastIndex(), hs.term, hs.commit,
          report.records);

  raft::Config rc;
  rc.id = self_->raft_id;
  rc.heartbeat_ticks = std::max(1, config_.heartbeat_ms / config_.tick_ms);
  rc.election_ticks = std::max(2, config_.election_ms / config_.tick_ms);
  rc.seed = self_->raft_id * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(WallMs());
  rc.applied = applied_;
  raft_ = std::make_unique<raft::Raft>(rc, &storage_);
  UpdateInfo();
  return Status::Ok();
}

void StoreServer::Start() {
  transport_ = std::make_unique<PeerTransport>(io_, config_.peer, [this](raft::Message m) {
    if (m.to != self_->raft_id) return;
    raft_->Step(m);
    ScheduleDrain();
  });
  transport_->Start();
  SyncPeers();
  OpenListener(client_acceptor_, config_.client, false);
  AcceptClients();
  http::ServerOptions options;
  options.max_body_bytes = std::min<uint64_t>(config_.max_request_bytes, 64u << 20);
  http_ = std::make_unique<http::SimpleServer>(
      io_, config_.http,
      [this](const http::Request& r, http::Responder respond) {
        HandleHttp(r, std::move(respond));
      },
      options);
  http_->Start();
  if (raft_->membership().voters == std::vector<raft::NodeId>{self_->raft_id} &&
      raft_->membership().learners.empty()) {
    raft_->Campaign();
  }
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    LogInfo("store", "signal {}: handing over leadership, then stopping", sig);
    BeginShutdown();
  });
  OnTick();
  ScheduleDrain();
}

int StoreServer::Run() {
  io_.run();
  if (wal_) (void)wal_->Close();
  LogInfo("store", "stopped");
  return 0;
}

void StoreServer::BeginShutdown() {
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
      ScheduleDrain();
      return;
    }
  }
  shutdown_deadline_ = 0;
}

void StoreServer::OnTick() {
  if (shutting_down_ && (!IsLeader() || NowMs() >= shutdown_deadline_)) {
    Drain();
    asio::error_code ignored;
    client_acceptor_.close(ignored);
    if (http_) http_->Stop();
    if (transport_) transport_->Stop();
    io_.stop();
    return;
  }
  raft_->Tick();
  ScheduleDrain();
  StepMemberJob();
  SweepTimeouts();
  ReleaseWaiters();
  MaybePurgeExpired();
  tick_timer_.expires_after(std::chrono::milliseconds(config_.tick_ms));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) OnTick();
  });
}

void StoreServer::ScheduleDrain() {
  if (drain_scheduled_) return;
  drain_scheduled_ = true;
  asio::post(io_, [this] { Drain(); });
}

void StoreServer::Drain() {
  drain_scheduled_ = false;
  bool any = false;
  while (raft_->HasReady()) {
    // The heartbeat round goes out with this Ready: reads arriving from now on
    // need a round sent after them (a new batch).
    open_read_batch_ = nullptr;
    raft::Ready rd = raft_->GetReady();
    HandleReady(rd);
    raft_->Advance(rd);
    any = true;
  }
  if (any) {
    SyncPeers();
    UpdateInfo();
    ServeReads();
    ReleaseWaiters();
    MaybeSnapshot();
  }
}

void StoreServer::HandleReady(raft::Ready& rd) {
  for (const raft::Message& m : rd.messages) {
    if (raft::MaySendBeforePersist(m)) transport_->Send(m);
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
  for (const raft::Message& m : rd.messages) {
    if (!raft::MaySendBeforePersist(m)) transport_->Send(m);
  }
  if (rd.snapshot) {
    Status s = InstallSnapshotContent(rd.snapshot->data, rd.snapshot->meta.membership);
    if (!s.ok()) Fatal(s, "installing a snapshot from the leader");
    applied_ = rd.snapshot->meta.index;
    last_snapshot_index_ = applied_;
    ++counters_.snapshots_installed;
  }
  for (size_t i = applied_early; i < rd.committed_entries.size(); ++i) {
    ApplyEntry(rd.committed_entries[i]);
  }
  for (const raft::ReadState& rs : rd.read_states) {
    if (rs.context.size() != 8) continue;
    auto it = read_batches_.find(GetU64(rs.context));
    if (it == read_batches_.end()) continue;
    it->second.read_index = rs.index;
    it->second.ready = true;
  }
}

void StoreServer::Persist(const raft::Ready& rd) {
  WalBatch batch;
  if (rd.snapshot) {
    const raft::Snapshot& snap = *rd.snapshot;
    Status s = WriteSnapshot(fs_, snap_dir_, store::SnapshotMeta{snap.meta.index, snap.meta.term},
                             snap.data);
    if (!s.ok()) Fatal(s, "writing a received snapshot");
    std::string marker = "S";
    PutU64(&marker, snap.meta.index);
    PutU64(&marker, snap.meta.term);
    batch.Add(snap.meta.index, marker);
  }
  for (const raft::Entry& e : rd.entries) batch.Add(e.index, "E" + raft::EncodeEntry(e));
  if (rd.hard_state) {
    hard_state_ = *rd.hard_state;
    batch.Add(0, "H" + raft::EncodeHardState(hard_state_));
  }
  if (!batch.empty()) {
    Status s = wal_->Write(batch);
    if (!s.ok()) Fatal(s, "writing the WAL");
    ++counters_.wal_batches;
    if (config_.fsync) {
      s = wal_->Sync();
      if (!s.ok()) Fatal(s, "syncing the WAL");
      ++counters_.fsyncs;
    }
  }
  if (rd.snapshot) storage_.ApplySnapshot(*rd.snapshot);
  if (!rd.entries.empty()) storage_.Append(rd.entries);
  if (rd.hard_state) storage_.SetHardState(*rd.hard_state);
}

void StoreServer::ApplyEntry(const raft::Entry& e) {
  if (e.index <= applied_) return;
  applied_ = e.index;
  if (e.type == raft::EntryType::kConfig) {
    raft::Membership m;
    std::string error;
    if (raft::DecodeMembership(e.data, &m, &error)) {
      applied_membership_ = std::move(m);
      LogInfo("store", "configuration at index {}: {} voters, {} learners{}", e.index,
              applied_membership_.voters.size(), applied_membership_.learners.size(),
              raft::IsMember(applied_membership_, self_->raft_id)
                  ? ""
                  : "; this member is no longer part of it");
    }
    return;
  }
  if (e.type != raft::EntryType::kNormal || e.data.size() < kEntryHeader) return;
  std::string_view data(e.data);
  uint64_t origin = GetU64(data);
  uint64_t request = GetU64(data.substr(8));
  std::string_view payload = data.substr(kEntryHeader);
  KvResult result;
  if (!payload.empty() && payload[0] == kDirectoryEntry) {
    MemberDirectory directory;
    std::string error;
    if (DecodeDirectory(payload.substr(1), &directory, &error)) {
      directory_ = std::move(directory);
    } else {
      LogWarn("store", "entry {}: {}", e.index, error);
    }
  } else {
    result = state_.Apply(e.index, payload);
  }
  if (origin != self_->raft_id) return;
  auto it = pending_writes_.find(request);
  if (it == pending_writes_.end()) return;
  WriteDone done = std::move(it->second.done);
  pending_writes_.erase(it);
  ++counters_.writes_acked;
  done(&result, e.index, "");
}

void StoreServer::ServeReads() {
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    ReadBatch& b = it->second;
    if (!b.ready || applied_ < b.read_index) {
      ++it;
      continue;
    }
    // Serve every read of the batch whose connection's writes are applied;
    // keep the others (their callbacks may start new reads: take them out first).
    std::vector<PendingRead> reads;
    reads.swap(b.reads);
    std::vector<PendingRead> waiting;
    for (PendingRead& r : reads) {
      if (applied_ >= r.min_index) {
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

void StoreServer::SweepTimeouts() {
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

void StoreServer::WhenLeaderKnown(int64_t deadline_ms, std::function<void(bool)> fn) {
  waiters_.push_back(Waiter{deadline_ms, std::move(fn)});
}

void StoreServer::ReleaseWaiters() {
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

bool StoreServer::ProposeWrite(std::string proposal, uint64_t* last_index, WriteDone done,
                               const RequestKey* dedup) {
  if (!IsLeader() || shutting_down_) return false;
  StampTime(&proposal, WallMs());
  if (dedup) proposal = WrapDeduplicated(*dedup, proposal);
  return ProposeEntry(std::move(proposal), last_index, std::move(done));
}

bool StoreServer::ProposeEntry(std::string proposal, uint64_t* last_index, WriteDone done) {
  if (!IsLeader() || shutting_down_) return false;
  uint64_t id = request_ids_.Next();
  std::string data;
  data.reserve(kEntryHeader + proposal.size());
  PutU64(&data, self_->raft_id);
  PutU64(&data, id);
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
  pending_writes_[id] = PendingWrite{RequestDeadline(), std::move(done)};
  ScheduleDrain();
  return true;
}

bool StoreServer::StartRead(uint64_t min_index, ReadDone done) {
  if (!IsLeader()) return false;
  if (open_read_batch_ == nullptr) {
    uint64_t id = ++next_read_id_;
    std::string context;
    PutU64(&context, id);
    if (!raft_->ReadIndex(context)) return false;
    ReadBatch& batch = read_batches_[id];
    batch.deadline = RequestDeadline();
    open_read_batch_ = &batch;
    ScheduleDrain();
  }
  open_read_batch_->reads.push_back(PendingRead{min_index, std::move(done)});
  ++pending_read_count_;
  return true;
}

void StoreServer::MaybeSnapshot() {
  if (applied_ < last_snapshot_index_ + config_.snapshot_entries) return;
  std::optional<raft::Term> term = storage_.TermAt(applied_);
  if (!term || applied_ > storage_.LastIndex()) return;
  std::string data = SnapshotContent();
  Status s = WriteSnapshot(fs_, snap_dir_, store::SnapshotMeta{applied_, *term}, data);
  if (!s.ok()) Fatal(s, "writing a snapshot");
  storage_.CreateSnapshot(applied_, applied_membership_, std::move(data));
  if (applied_ > kRetainedEntries) storage_.Compact(applied_ - kRetainedEntries);
  s = wal_->Compact(applied_);
  if (!s.ok()) LogWarn("store", "WAL compaction failed: {}", s.ToString());
  s = RemoveOldSnapshots(fs_, snap_dir_, 2);
  if (!s.ok()) LogWarn("store", "removing old snapshots failed: {}", s.ToString());
  last_snapshot_index_ = applied_;
  ++counters_.snapshots;
  LogInfo("store", "snapshot at index {} (term {})", applied_, *term);
}

void StoreServer::MaybePurgeExpired() {
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
  if (!ProposeWrite(std::move(encoded), nullptr,
                    [this](const KvResult*, uint64_t, std::string) { purge_in_flight_ = false; })) {
    purge_in_flight_ = false;
  }
}

void StoreServer::UpdateInfo() {
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
  info_.leader_id = leader ? leader->id : "";
  info_.leader_host = leader ? leader->client.host : "";
  info_.leader_port = leader ? leader->client.port : 0;
  info_.term = raft_->term();
  info_.commit_index = raft_->log().committed();
  info_.applied_index = applied_;
  info_.tcp_port = config_.client.port;
  info_.uptime_seconds = (NowMs() - start_ms_) / 1000;
  info_.connected_clients = open_connections_;
  info_.process_id = static_cast<int64_t>(::getpid());
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

CommandContext StoreServer::Context() const {
  CommandContext c;
  c.config = &command_config_;
  c.info = &info_;
  c.now_ms = WallMs();
  c.used_memory_bytes = state_.memory_bytes();
  return c;
}

void StoreServer::Fatal(const Status& status, const char* what) {
  LogError("store", "{} failed: {}; stopping without acknowledging anything more (crash-stop)",
           what, status.ToString());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace nines::store

namespace nines::store {

// Every member in the directory gets a peer connection (a joining member's
// configuration is still empty when the leader first contacts it, and it must
// answer); removed members only while they are still in the configuration.
void StoreServer::SyncPeers() {
  const raft::Membership& m = raft_->membership();
  for (const StoreMember& member : directory_.members) {
    if (member.raft_id == self_->raft_id) continue;
    if (directory_.WasRemoved(member.id) && !raft::IsMember(m, member.raft_id)) continue;
    transport_->AddPeer(member.raft_id, member.peer);
  }
}

}  // namespace nines::store
