// The Raft loop of one store member, apart from its sockets, threads and
// clocks (as etcd's raftNode stands apart from EtcdServer): recovery, ticks,
// peer messages, the Ready drain (WAL group commit, send, apply, replies,
// batched reads), snapshots, expiry purges, timeouts and membership changes.
// Everything outside comes in through StoreNodeEnv (file system, clocks,
// message sink, "drain soon" callback, seed), so one thread can run whole
// members in a seeded simulation. StoreServer drives it from an io_context.
// Single-threaded: every call comes from the thread that drives the node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "raft/raft.h"
#include "raft/storage.h"
#include "store/blocking_waits.h"
#include "store/commands.h"
#include "store/file.h"
#include "store/kv_state.h"
#include "store/log_clock.h"
#include "store/member_directory.h"
#include "store/request_dedup.h"
#include "store/request_id.h"
#include "store/slow_fsync.h"
#include "store/snapshot_file.h"
#include "store/snapshot_runner.h"
#include "store/store_config.h"
#include "store/wal.h"

namespace nines::store {

struct StoreCounters {
  uint64_t fsyncs = 0;
  uint64_t wal_batches = 0;
  uint64_t proposals = 0;
  uint64_t writes_acked = 0;
  uint64_t reads_served = 0;
  uint64_t read_rounds = 0;  // ReadIndex requests (heartbeat rounds) for read batches
  uint64_t forwarded = 0;
  uint64_t tryagain = 0;
  uint64_t unknown_outcome = 0;
  uint64_t forward_failures = 0;
  uint64_t snapshots = 0;          // snapshots taken, written and marked in the WAL
  uint64_t snapshots_started = 0;  // background snapshot jobs started
  uint64_t snapshot_failures = 0;  // jobs that failed (retried later)
  uint64_t snapshots_installed = 0;
  uint64_t no_space_alarms = 0;              // times the NOSPACE alarm was raised
  uint64_t no_space_refusals = 0;            // writes refused with -NOSPACE
  uint64_t slow_disk_transfers = 0;          // leadership hand-offs started for a slow disk
  uint64_t slow_disk_refused_transfers = 0;  // TimeoutNow dropped while the disk was slow
  uint64_t client_connections = 0;
  uint64_t oom_refused = 0;            // writes refused over maxmemory
  uint64_t element_limit_refused = 0;  // writes refused at a collection's element bound
};

// What a StoreNode needs from the world. A simulation passes its own.
struct StoreNodeEnv {
  FileSystem* fs = nullptr;
  const Clock* clock = nullptr;  // monotonic: ticks of deadlines and timeouts
  const Clock* wall = nullptr;   // since the Unix epoch: stamps writes (TTLs), request ids
  // Sends one Raft message to its `to` member (may drop it: Raft retries).
  std::function<void(const raft::Message&)> send;
  // Asks for Drain() to be called soon, from the driving thread (not from inside this call).
  std::function<void()> schedule_drain;
  uint64_t seed = 0;  // randomizes Raft's election timeouts
  // Where this boot's request ids start: random per boot (BootNonce()), so
  // ids never repeat across restarts whatever the clocks do; a simulation
  // derives it from its seed.
  uint64_t request_id_nonce = 0;
  int64_t process_id = 0;  // reported by INFO
  // Called on a disk error before the member stops (crash-stop); may throw
  // to unwind a simulated member. Default: none (log, then _Exit(1)).
  std::function<void(const Status& status, const char* what)> fatal;
  // Where periodic snapshots are serialized and written (snapshot_runner.h):
  // StoreServer forks (ForkSnapshotRunner). Null: written inline, in the
  // loop, by an InlineSnapshotRunner (a file system in this process's memory
  // cannot be written from a forked child).
  std::shared_ptr<SnapshotRunner> snapshot_runner;
  // Snapshots are sent from their files: a kSnapshot message handed to send
  // carries the meta only, and the sender streams the content of
  // snap/SnapshotFileName(meta) (PeerTransport does). False: the node reads
  // the file into the message before handing it over (in-memory networks).
  bool snapshots_sent_from_files = false;
};

// The outcome of a membership change: HTTP-like status, and body (the
// members JSON on 200, else the error message); location is set on 307.
struct MemberChangeResult {
  int status = 200;
  std::string body;
  std::string location;
};

class StoreNode {
 public:
  // Completion of a write: result null when it failed or timed out (error says why).
  using WriteDone = std::function<void(const KvResult* result, uint64_t index, std::string error)>;
  using ReadDone = std::function<void(bool ok, std::string error)>;
  using MemberChangeDone = std::function<void(MemberChangeResult result)>;

  StoreNode(StoreConfig config, StoreNodeEnv env);
  ~StoreNode();
  StoreNode(const StoreNode&) = delete;
  StoreNode& operator=(const StoreNode&) = delete;

  // Recovers from disk; an error names the file and offset.
  Status Recover();
  // After Recover: a member that is the only voter elects itself at once.
  void CampaignIfAlone();
  // One tick (config().tick_ms of the clock): Raft timers, timeouts, jobs.
  void Tick();
  // A message from a peer (ignored unless addressed to this member).
  void Step(const raft::Message& m);
  // Handles every pending Ready; true if there was any.
  bool Drain();
  void RequestDrain();
  // Shutdown: hands leadership over first; ShutdownDone once that is done
  // (or after a second). Close flushes the WAL.
  void BeginShutdown();
  bool shutting_down() const { return shutting_down_; }
  bool ShutdownDone() const;
  Status Close();

  // --- the front ends' interface ---
  bool IsLeader() const { return raft_->role() == raft::Role::kLeader; }
  raft::NodeId leader() const { return raft_->leader(); }
  const StoreMember* LeaderMember() const { return directory_.ByRaftId(raft_->leader()); }
  const StoreMember* MemberByRaftId(uint64_t id) const { return directory_.ByRaftId(id); }
  // Proposes a write on the leader; false (and done not called) if it cannot
  // now (not leader, transfer in progress): the caller waits or forwards.
  // With dedup (a forwarded write) it is applied at most once per key.
  bool ProposeWrite(std::string proposal, uint64_t* last_index, WriteDone done,
                    const RequestKey* dedup = nullptr);
  // The largest proposal a log entry can carry; a larger one is refused with
  // TooLargeError. A front end may refuse a request over it before reading it.
  static uint64_t MaxProposalBytes();
  uint64_t SelfRaftId() const { return self_->raft_id; }
  // A request id no other boot of any member uses (forwarded writes, entries).
  uint64_t NextRequestId() { return request_ids_.Next(); }
  // Starts a linearizable read barrier on the leader: done(true) once the
  // state reflects every write committed before the call (and min_index).
  bool StartRead(uint64_t min_index, ReadDone done);
  // The id of the read batch a StartRead now would join (0: none is open).
  // Reads started while it stays the same share one heartbeat round, so a
  // front end may let them share one StartRead too (ClientConnection does).
  uint64_t OpenReadBatch() const { return open_read_batch_ ? open_read_batch_->id : 0; }
  // Calls fn(false) when a leader is known (or fn(true) at deadline_ms).
  void WhenLeaderKnown(int64_t deadline_ms, std::function<void(bool timed_out)> fn);
  int64_t NowMs() const { return env_.clock->NowMillis(); }
  int64_t WallMs() const { return env_.wall->NowMillis(); }
  int64_t RequestDeadline() const { return NowMs() + config_.request_timeout_ms; }
  const StoreConfig& config() const { return config_; }
  const KvState& state() const { return state_; }
  // The time reads judge expiry at: the log's clock (see LogClock).
  int64_t ReadTimeMs() const { return log_clock_.ReadTime(state_.clock_ms()); }
  CommandContext Context() const;
  StoreCounters& counters() { return counters_; }
  // The clients blocked by BLPOP & co. on this leader (blocking_waits.h):
  // served after each apply, timed out by the tick, all answered when
  // leadership is lost.
  BlockingWaits& blocking() { return blocking_; }
  const StoreCounters& counters() const { return counters_; }
  uint64_t NextClientId() { return ++next_client_id_; }
  void ConnectionOpened();
  void ConnectionClosed() { --open_connections_; }
  uint64_t open_connections() const { return open_connections_; }

  // --- status ---
  const std::string& role_name() const { return info_.role; }
  uint64_t term() const { return raft_->term(); }
  raft::HardState hard_state() const { return raft_->hard_state(); }
  uint64_t commit_index() const { return raft_->log().committed(); }
  uint64_t applied_index() const { return applied_; }
  // The NOSPACE alarm: the disk is (nearly) full; writes are refused.
  bool no_space() const { return no_space_; }
  // The slow-disk guard (store_slow_disk.cc): the flag as last checked,
  // the detector, and the WAL fsync durations (seconds) of the append path.
  bool slow_disk() const { return slow_disk_; }
  const SlowFsyncDetector& slow_fsync() const { return slow_fsync_; }
  const Histogram& wal_fsync_seconds() const { return wal_fsync_seconds_; }
  int64_t last_fsync_ms() const { return last_fsync_ms_; }
  uint64_t last_index() const { return raft_->log().LastIndex(); }
  // The durable log as recovered and persisted (checkers read it).
  const raft::MemoryStorage& storage() const { return storage_; }
  size_t pending_reads() const { return pending_read_count_; }
  size_t read_batches() const { return read_batches_.size(); }
  // The configuration's members as a JSON array (GET /v1/members).
  std::string MembersJson() const;
  // Members to keep a peer connection to: every member in the directory (a
  // joining member must answer the leader before its configuration arrives),
  // removed ones only while they are still in the configuration.
  std::vector<std::pair<raft::NodeId, Endpoint>> Peers() const;

  // --- administration (leader only) ---
  // Hands leadership to the voter with id `to` (the most up-to-date voter if
  // empty). Returns the target's id, or "" when there is none.
  std::string TransferLeadership(const std::string& to);
  // Membership changes, one at a time; done is called exactly once.
  void AddMember(StoreMember member, MemberChangeDone done);
  void RemoveMember(const std::string& id, MemberChangeDone done);

 private:
  struct PendingWrite {
    int64_t deadline = 0;
    uint64_t index = 0;  // its entry's place in the log
    WriteDone done;
  };
  struct PendingRead {
    uint64_t min_index = 0;  // the connection's last proposed write
    ReadDone done;
  };
  // Reads that share one ReadIndex request: every read that arrives before
  // the next GetReady (which sends the heartbeat round) joins the open batch.
  struct ReadBatch {
    uint64_t id = 0;          // its key in read_batches_ (ids are never reused)
    uint64_t read_index = 0;  // 0 until the ReadState arrives
    bool ready = false;
    int64_t deadline = 0;
    std::vector<PendingRead> reads;
  };
  // One membership change at a time (POST/DELETE /v1/members), stepped by
  // the tick: directory entry, configuration change(s), wait for commit.
  struct MemberJob {
    enum class Step {
      kDirectory,
      kWaitDirectory,
      kAddLearner,
      kCatchUp,  // promoted from here once it has caught up
      kRemove,
      kWaitConfig,
      kTransfer
    };
    bool add = true;
    StoreMember member;
    Step step = Step::kDirectory;
    uint64_t wait_index = 0;
    int64_t deadline = 0;
    MemberChangeDone done;
  };
  struct Waiter {
    int64_t deadline = 0;
    std::function<void(bool)> fn;
  };

  // Recovery steps (store_recovery.cc).
  struct WalScan;
  WalOptions RecoveryWalOptions();
  Status ScanWal(WalScan* scan);
  Status LoadMarkedSnapshot(const WalScan& scan, SnapshotMeta* meta, std::string* content,
                            bool* found);
  Status ReplayWal(const raft::Snapshot* snapshot, raft::HardState* hs, std::string* hs_where);
  Status WriteBootstrapEntry(raft::HardState* hs);

  void HandleReady(raft::Ready& rd);
  void Persist(const raft::Ready& rd);
  void ApplyEntry(const raft::Entry& e);
  void ServeReads();
  // Leader: wakes the blocked clients whose keys got values; else answers them all.
  void ServeBlocked();
  // The pending writes whose entries this Ready cuts off the log (a
  // received snapshot, or a later leader's entries from `first` on): they
  // will not be applied from this log, so they are answered -UNKNOWN now
  // (another member may still commit them) instead of at their deadline, and
  // the reads waiting for them (min_index) no longer wait. Called before the
  // log is changed; the answers go out after the Ready (FailCutWrites).
  void CollectCutWrites(uint64_t first);
  void FailCutWrites();
  void SweepTimeouts();
  void ReleaseWaiters();
  // Starts a background snapshot every snapshot_entries applied entries
  // (after a failure, not before the retry delay), and records the one that
  // finished: WAL marker, compaction, old files (store_snapshots.cc).
  void MaybeSnapshot();
  void PollSnapshot();
  void RecordSnapshot(const SnapshotMeta& meta, const raft::Membership& membership);
  // After a snapshot from the leader is durable: the WAL segments and
  // snapshot files it replaces are deleted, as after one of the member's own.
  void DropReplacedBy(const SnapshotMeta& meta);
  // Hands one message to env_.send, with its snapshot content read from the
  // file unless the sender streams it from there.
  void Send(const raft::Message& m);
  void MaybePurgeExpired();
  // The disk-space guard (store_disk_space.cc).
  void SizeWalSegments();
  uint64_t DiskReserveBytes() const;
  void CheckDiskSpace();
  // Starts a leadership transfer to the voter with id `to`, or (empty) to
  // the most up-to-date voter not in `skip`; the target, or kNoNode.
  raft::NodeId HandOff(const std::string& to, const std::set<raft::NodeId>& skip);
  static bool NeedsDiskSpace(const raft::Message& m);
  // The slow-disk guard (store_slow_disk.cc): SyncWal times one WAL fsync.
  static std::vector<double> FsyncBuckets();
  Status SyncWal();
  void CheckSlowDisk();
  void UpdateInfo();
  [[noreturn]] void Fatal(const Status& status, const char* what);
  raft::Membership Bootstrap() const;
  // Entry payload after the [origin][request] header; false when not leader.
  bool ProposeEntry(const std::string& payload, uint64_t* last_index, WriteDone done);
  void StartMemberJob(MemberJob* job);
  void StepMemberJob();
  void FinishMemberJob(int status, const std::string& body);
  std::string SnapshotContent() const;
  Status InstallSnapshotContent(std::string_view content, const raft::Membership& membership);

  StoreConfig config_;
  StoreNodeEnv env_;
  const StoreMember* self_;
  FileSystem* fs_;
  std::string wal_dir_;
  std::string snap_dir_;
  std::unique_ptr<Wal> wal_;
  raft::MemoryStorage storage_;
  std::unique_ptr<raft::Raft> raft_;
  KvState state_;
  LogClock log_clock_;       // the time writes are stamped with and reads judge expiry at
  KvCommand apply_scratch_;  // views into the entry being applied
  MemberDirectory directory_;
  raft::Membership applied_membership_;  // the last configuration applied (for snapshots)
  std::optional<MemberJob> member_job_;
  // The last hard state known durable: what a new WAL segment's preamble
  // repeats (never one whose entries may not be on disk yet).
  raft::HardState synced_hard_state_;
  uint64_t applied_ = 0;
  uint64_t last_snapshot_index_ = 0;
  // The background snapshot being written: what it covers.
  struct SnapshotInProgress {
    SnapshotMeta meta;
    raft::Membership membership;
  };
  std::shared_ptr<SnapshotRunner> snapshot_runner_;
  std::optional<SnapshotInProgress> snapshot_in_progress_;
  int64_t next_snapshot_attempt_ms_ = 0;   // after a failure: the retry delay
  uint64_t last_snapshot_bytes_ = 0;       // its content's size (part of the disk reserve)
  uint64_t wal_segment_bytes_ = 0;         // config_.wal_segment_bytes, capped for a small disk
  bool no_space_ = false;                  // the NOSPACE alarm (store_disk_space.cc)
  std::set<raft::NodeId> no_space_tried_;  // voters this alarm's hand-offs went to
  int64_t next_disk_check_ms_ = 0;
  SlowFsyncDetector slow_fsync_;
  Histogram wal_fsync_seconds_;
  int64_t last_fsync_ms_ = 0;
  bool slow_disk_ = false;                  // slow_fsync_'s flag as last checked (CheckSlowDisk)
  bool slow_disk_raised_ = false;           // raised by the last fsync: check after the Ready
  std::set<raft::NodeId> slow_disk_tried_;  // voters this slow spell's hand-offs went to
  int64_t slow_disk_pause_until_ = 0;       // after a round in which no voter took over
  bool drain_requested_ = false;
  bool shutting_down_ = false;
  int64_t shutdown_deadline_ = 0;
  RequestIdGenerator request_ids_;
  uint64_t next_read_id_ = 0;
  std::map<uint64_t, PendingWrite> pending_writes_;
  std::vector<WriteDone> cut_writes_;  // CollectCutWrites, answered by FailCutWrites
  std::map<uint64_t, ReadBatch> read_batches_;
  ReadBatch* open_read_batch_ = nullptr;  // closed before every GetReady
  size_t pending_read_count_ = 0;
  std::vector<Waiter> waiters_;
  int64_t last_purge_ms_ = 0;
  bool purge_in_flight_ = false;
  int64_t start_ms_ = 0;
  ServerInfo info_;
  std::string logged_role_;  // what UpdateInfo last logged
  uint64_t logged_term_ = 0;
  uint64_t logged_leader_ = 0;
  CommandConfig command_config_;
  StoreCounters counters_;
  uint64_t open_connections_ = 0;
  uint64_t next_client_id_ = 0;
  BlockingWaits blocking_;
};

}  // namespace nines::store
