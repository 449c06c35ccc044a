// `nines store`: one member of the replicated key-value store. Everything runs
// on one io_context thread that owns the Raft node (the raft loop): ticks,
// peer messages, client requests (RESP2 and HTTP), and the drain of Readies
// (WAL write + one fsync per batch = group commit, send, apply, reply).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/simple_server.h"
#include "raft/raft.h"
#include "raft/storage.h"
#include "store/commands.h"
#include "store/kv_state.h"
#include "store/member_directory.h"
#include "store/peer_transport.h"
#include "store/request_dedup.h"
#include "store/request_id.h"
#include "store/store_config.h"
#include "store/wal.h"

namespace nines::store {

class ClientConnection;

struct StoreCounters {
  uint64_t fsyncs = 0;
  uint64_t wal_batches = 0;
  uint64_t proposals = 0;
  uint64_t writes_acked = 0;
  uint64_t reads_served = 0;
  uint64_t forwarded = 0;
  uint64_t tryagain = 0;
  uint64_t unknown_outcome = 0;
  uint64_t forward_failures = 0;
  uint64_t snapshots = 0;
  uint64_t snapshots_installed = 0;
  uint64_t client_connections = 0;
};

class StoreServer {
 public:
  // Completion of a write: result null when it failed or timed out (error says why).
  using WriteDone = std::function<void(const KvResult* result, uint64_t index, std::string error)>;
  using ReadDone = std::function<void(bool ok, std::string error)>;

  explicit StoreServer(StoreConfig config);
  ~StoreServer();
  // Recovers from disk; an error names the file and offset (exit 1).
  Status Recover();
  // Binds the listeners (throws std::system_error) and starts the raft loop.
  void Start();
  // Runs until SIGTERM/SIGINT (after handing leadership over). Returns the exit status.
  int Run();

  // --- used by the front ends, on the loop thread ---
  bool IsLeader() const { return raft_->role() == raft::Role::kLeader; }
  raft::NodeId leader() const { return raft_->leader(); }
  const StoreMember* LeaderMember() const { return directory_.ByRaftId(raft_->leader()); }
  const StoreMember* MemberByRaftId(uint64_t id) const { return directory_.ByRaftId(id); }
  // Proposes a write on the leader; false (and done not called) if it cannot
  // now (not leader, transfer in progress): the caller waits or forwards.
  // With dedup (a forwarded write) it is applied at most once per key.
  bool ProposeWrite(std::string proposal, uint64_t* last_index, WriteDone done,
                    const RequestKey* dedup = nullptr);
  // Starts a linearizable read barrier on the leader: done(true) once the
  // state reflects every write committed before the call (and min_index).
  bool StartRead(uint64_t min_index, ReadDone done);
  // Calls fn(false) when a leader is known (or fn(true) at deadline_ms).
  void WhenLeaderKnown(int64_t deadline_ms, std::function<void(bool timed_out)> fn);
  int64_t NowMs() const;  // steady ms
  int64_t WallMs() const;
  int64_t RequestDeadline() const { return NowMs() + config_.request_timeout_ms; }
  const StoreConfig& config() const { return config_; }
  const KvState& state() const { return state_; }
  CommandContext Context() const;
  StoreCounters& counters() { return counters_; }
  asio::io_context& io() { return io_; }
  void ScheduleDrain();
  void ConnectionClosed() { --open_connections_; }

 private:
  struct PendingWrite {
    int64_t deadline = 0;
    WriteDone done;
  };
  struct PendingRead {
    uint64_t min_index = 0;  // the connection's last proposed write
    ReadDone done;
  };
  // Reads that share one ReadIndex request: every read that arrives before
  // the next GetReady (which sends the heartbeat round) joins the open batch.
  struct ReadBatch {
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
      kCatchUp,
      kPromote,
      kRemove,
      kWaitConfig,
      kTransfer
    };
    bool add = true;
    StoreMember member;
    Step step = Step::kDirectory;
    uint64_t wait_index = 0;
    int64_t deadline = 0;
    http::Responder respond;
  };
  struct Waiter {
    int64_t deadline = 0;
    std::function<void(bool)> fn;
  };

  void OnTick();
  void Drain();
  void HandleReady(raft::Ready& rd);
  void Persist(const raft::Ready& rd);
  void ApplyEntry(const raft::Entry& e);
  void ServeReads();
  void SweepTimeouts();
  void ReleaseWaiters();
  void MaybeSnapshot();
  void MaybePurgeExpired();
  void UpdateInfo();
  [[noreturn]] void Fatal(const Status& status, const char* what);
  void AcceptClients();
  void HandleHttp(const http::Request& request, http::Responder respond);
  void HandleKv(const http::Request& request, http::Responder respond);
  std::string StatusJson() const;
  std::string MetricsText() const;
  void BeginShutdown();
  raft::Membership Bootstrap() const;
  // Entry payload after the [origin][request] header; false when not leader.
  bool ProposeEntry(std::string payload, uint64_t* last_index, WriteDone done);
  void SyncPeers();
  void HandleMembers(const http::Request& request, http::Responder respond);
  void StartMemberJob(MemberJob job);
  void StepMemberJob();
  void FinishMemberJob(int status, const std::string& body);
  std::string MembersJson() const;
  std::string SnapshotContent() const;
  Status InstallSnapshotContent(std::string_view content, const raft::Membership& membership);

  StoreConfig config_;
  const StoreMember* self_;
  asio::io_context io_;
  FileSystem* fs_;
  std::string wal_dir_;
  std::string snap_dir_;
  std::unique_ptr<Wal> wal_;
  raft::MemoryStorage storage_;
  std::unique_ptr<raft::Raft> raft_;
  KvState state_;
  MemberDirectory directory_;
  raft::Membership applied_membership_;  // the last configuration applied (for snapshots)
  std::optional<MemberJob> member_job_;
  raft::HardState hard_state_;
  uint64_t applied_ = 0;
  uint64_t last_snapshot_index_ = 0;
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<http::SimpleServer> http_;
  asio::ip::tcp::acceptor client_acceptor_;
  asio::steady_timer tick_timer_;
  asio::signal_set signals_;
  bool drain_scheduled_ = false;
  bool shutting_down_ = false;
  int64_t shutdown_deadline_ = 0;
  RequestIdGenerator request_ids_{BootNonce()};
  uint64_t next_read_id_ = 0;
  std::map<uint64_t, PendingWrite> pending_writes_;
  std::map<uint64_t, ReadBatch> read_batches_;
  ReadBatch* open_read_batch_ = nullptr;  // closed before every GetReady
  size_t pending_read_count_ = 0;
  std::vector<Waiter> waiters_;
  int64_t last_purge_ms_ = 0;
  bool purge_in_flight_ = false;
  int64_t start_ms_ = 0;
  ServerInfo info_;
  CommandConfig command_config_;
  StoreCounters counters_;
  uint64_t open_connections_ = 0;
  uint64_t next_client_id_ = 0;
  friend class ClientConnection;
};

}  // namespace nines::store
