// The cluster simulation: a discrete-event loop over ticks, message
// deliveries, disk completions, client requests and faults.
#include "simulation.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>

#include "checker.h"
#include "kv.h"
#include "linearizability.h"
#include "prng.h"
#include "raft/codec.h"
#include "raft/raft.h"
#include "raft/storage.h"
#include "sim_disk.h"

namespace nines::sim {
namespace {

using raft::Index;
using raft::Message;
using raft::NodeId;
using raft::Role;
using raft::Term;

constexpr int64_t kMs = 1000;  // simulated time is in microseconds
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kTick = 10 * kMs;
constexpr int kHeartbeatTicks = 10;  // 100 ms
constexpr int kElectionTicks = 50;   // 500 ms, randomized to [500, 1000) ms
constexpr int kClients = 3;
constexpr int64_t kClientTimeout = 800 * kMs;
constexpr size_t kOpsPerKeyBudget = 48;   // < kMaxOpsPerKey
constexpr size_t kOpenWritesPerKey = 6;   // timed-out writes before a key is retired
constexpr Index kSnapshotEvery = 40;      // applied entries between local snapshots
constexpr Index kKeepAfterSnapshot = 10;  // entries kept for slow followers
constexpr int64_t kLivenessBound = 10 * kSec;

struct ReadWaiter {
  uint64_t client = 0;
  uint64_t request = 0;
  std::string key;
  Index index = 0;
  bool have_index = false;
};

struct SimNode {
  explicit SimNode(NodeId node_id, raft::Membership bootstrap) : id(node_id), disk(bootstrap) {}
  NodeId id;
  bool up = false;
  bool started = false;
  uint64_t generation = 0;
  int64_t tick_us = 0;  // this node's tick length: clocks drift a little
  SimDisk disk;
  std::unique_ptr<raft::MemoryStorage> storage;
  std::unique_ptr<raft::Raft> raft;
  KvStateMachine kv;
  bool disk_busy = false;
  raft::Ready in_flight;
  std::vector<Message> deferred;               // sent once the write is durable
  std::map<uint64_t, uint64_t> write_waiters;  // request -> client
  std::map<std::string, ReadWaiter> read_waiters;
  Role seen_role = Role::kFollower;
  Term seen_term = 0;
  Index seen_commit = 0;
  bool slow_disk = false;
  // Figure-8 schedule: where this leader's term starts, the commit index when
  // it won, and whether it was cut off for entries of older terms already.
  Index term_start = 0;
  Index commit_at_win = 0;
  bool figure8_cut = false;
};

struct ClientRequest {
  uint64_t client = 0;
  uint64_t request = 0;
  ClientOp::Kind kind = ClientOp::Kind::kGet;
  std::string key, expected, value;
};

enum class Answer { kOk, kFail, kNotLeader };

struct SimClient {
  uint64_t id = 0;
  bool busy = false;
  uint64_t request = 0;
  ClientOp op;
  size_t history_index = SIZE_MAX;  // writes enter the history at invocation
  NodeId target = 1;
  std::map<std::string, std::string> last_seen;
};

extern const SafetyChecker* g_running_checker;

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : opt_(o), prng_(o.seed) {
    g_running_checker = &checker_;
  }
  ~Simulation() { g_running_checker = nullptr; }
  SimResult Run();

 private:
  struct Event {
    int64_t time;
    uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };

  void At(int64_t t, std::function<void()> fn) { queue_.push(Event{t, seq_++, std::move(fn)}); }
  void After(int64_t d, std::function<void()> fn) { At(now_ + d, std::move(fn)); }
  void RunUntil(int64_t t);
  void Trace(const std::string& s) {
    if (opt_.trace) std::printf("[%9.3f] %s\n", now_ / 1e6, s.c_str());
  }

  // Nodes.
  void StartNode(SimNode& n);
  void CrashNode(SimNode& n);
  void Pump(SimNode& n);
  void DiskDone(NodeId id, uint64_t generation);
  void Observe(SimNode& n);
  void ApplyEntries(SimNode& n, const raft::Ready& rd);
  void MaybeSnapshot(SimNode& n);
  SimNode* Leader();

  // Network.
  void Send(const Message& m);
  void Deliver(const std::string& bytes, NodeId to);
  bool Blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) > 0; }

  // Clients.
  void ClientIssue(SimClient& c);
  void ClientArrive(const ClientRequest& req, NodeId node);
  void Answer(SimNode& n, uint64_t client, uint64_t request, enum Answer a, std::string output,
              NodeId hint);
  void ClientReceive(uint64_t client, uint64_t request, enum Answer a, const std::string& output,
                     NodeId hint);
  void ClientTimeout(uint64_t client, uint64_t request);
  std::string PickKey();

  // Faults and checks.
  void InjectFault();
  bool Figure8Active() const { return figure8_ && faults_ && now_ < fault_end_; }
  void Isolate(SimNode& n, const char* why);
  void MaybeCutOnOlderTerm(SimNode& n);
  void ChangeMembership();
  void HealAll();
  void CheckLogs();
  void LivenessProbe();
  void TickLoop(NodeId id);
  void LogCheckLoop();

  SimOptions opt_;
  Prng prng_;
  SafetyChecker checker_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  int members_ = 3;
  NodeId next_spare_ = 0;
  NodeId max_node_ = 0;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  // network weather
  int64_t delay_min_ = 1 * kMs, delay_max_ = 5 * kMs;
  double loss_ = 0, dup_ = 0;
  bool faults_ = true;
  bool lease_reads_ = false;
  // Figure-8 seeds (Raft §5.4.2): a new leader is cut off within milliseconds
  // of winning, and entries travel one or two per message, so entries of an
  // older term end up on a majority without being committed, and a leader
  // without them can win next.
  bool figure8_ = false;
  size_t max_msg_entries_ = 16;
  bool clients_on_ = true;
  std::vector<SimClient> clients_;
  uint64_t next_request_ = 1;
  std::vector<ClientOp> history_;
  std::vector<bool> history_dropped_;
  std::map<std::string, size_t> key_ops_;
  std::map<std::string, size_t> key_timeouts_;
  std::vector<std::string> active_keys_;
  int next_key_ = 0;
  // liveness / failover probes
  bool probing_ = false;
  int64_t probe_start_ = 0;
  int64_t probe_done_ = -1;
  NodeId probe_node_ = 0;
  Term probe_min_term_ = 0;
  bool probe_proposed_ = false;
  int64_t fault_end_ = 0;
  Term probe_term_ = 0;
};

void Simulation::RunUntil(int64_t t) {
  while (!queue_.empty() && queue_.top().time <= t) {
    Event e = queue_.top();
    queue_.pop();
    now_ = e.time;
    e.fn();
  }
  now_ = t;
}

void Simulation::StartNode(SimNode& n) {
  const DiskState& d = n.disk.durable();
  n.storage = std::make_unique<raft::MemoryStorage>(d.snapshot.meta.membership);
  if (!d.snapshot.empty()) n.storage->ApplySnapshot(d.snapshot);
  std::vector<raft::Entry> tail;
  for (const raft::Entry& e : d.entries) {
    if (e.index > d.snapshot.meta.index) tail.push_back(e);
  }
  n.storage->Append(tail);
  n.storage->SetHardState(d.hard_state);
  n.kv = KvStateMachine{};
  n.kv.membership = d.snapshot.meta.membership;
  if (!d.snapshot.empty()) n.kv.Restore(d.snapshot);
  raft::Config cfg;
  cfg.id = n.id;
  cfg.heartbeat_ticks = kHeartbeatTicks;
  cfg.election_ticks = kElectionTicks;
  cfg.seed = opt_.seed * 1000 + n.id * 10 + n.generation;
  cfg.applied = d.snapshot.meta.index;
  cfg.max_msg_entries = max_msg_entries_;
  cfg.max_inflight = 8;
  cfg.lease_reads = lease_reads_;
  n.raft = std::make_unique<raft::Raft>(cfg, n.storage.get());
  n.up = true;
  n.started = true;
  n.disk_busy = false;
  n.deferred.clear();
  n.write_waiters.clear();
  n.read_waiters.clear();
  n.seen_role = Role::kFollower;
  n.seen_term = n.raft->term();
  n.seen_commit = n.raft->log().committed();
  Trace("n" + std::to_string(n.id) + " starts: term " + std::to_string(n.raft->term()) + ", log " +
        std::to_string(n.raft->log().FirstIndex()) + ".." +
        std::to_string(n.raft->log().LastIndex()) + ", commit " +
        std::to_string(n.raft->log().committed()));
  Pump(n);
}

void Simulation::CrashNode(SimNode& n) {
  if (!n.up) return;
  auto [kept, total] = n.disk.Crash(prng_);
  Trace("n" + std::to_string(n.id) + " CRASHES (kept " + std::to_string(kept) + " of " +
        std::to_string(total) + " unsynced records)");
  n.up = false;
  ++n.generation;
  n.raft.reset();
  n.storage.reset();
  n.disk_busy = false;
}

SimNode* Simulation::Leader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (n->up && n->raft->role() == Role::kLeader &&
        (!best || n->raft->term() > best->raft->term())) {
      best = n.get();
    }
  }
  return best;
}

void Simulation::Observe(SimNode& n) {
  raft::Raft& r = *n.raft;
  if (r.role() != n.seen_role || r.term() != n.seen_term) {
    Trace("n" + std::to_string(n.id) + " is " + raft::RoleName(r.role()) + " in term " +
          std::to_string(r.term()));
    if (r.role() == Role::kLeader) {
      checker_.LeaderElected(now_, n.id, r.term(), r.log());
      n.term_start = r.log().LastIndex();  // its no-op entry
      n.commit_at_win = r.log().committed();
      n.figure8_cut = false;
      // Figure 8, first half: a new leader cut off at once, before its first
      // append leaves, keeps its term's entries to itself.
      if (Figure8Active() && prng_.Chance(0.5)) Isolate(n, "new leader");
    }
    n.seen_role = r.role();
    n.seen_term = r.term();
  }
  Index c = r.log().committed();
  if (c > n.seen_commit) {
    for (Index i = n.seen_commit + 1; i <= c; ++i) {
      if (auto t = r.log().TermAt(i)) checker_.Committed(now_, n.id, i, *t, r.term());
    }
    n.seen_commit = c;
  }
  if (Figure8Active() && r.role() == Role::kLeader && !n.figure8_cut) MaybeCutOnOlderTerm(n);
}

void Simulation::Pump(SimNode& n) {
  if (!n.up) return;
  Observe(n);  // also while the disk is busy: every role change is seen
  if (n.disk_busy || !n.raft->HasReady()) return;
  n.in_flight = n.raft->GetReady();
  raft::Ready& rd = n.in_flight;
  if (rd.snapshot) n.storage->ApplySnapshot(*rd.snapshot);
  n.storage->Append(rd.entries);
  if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
  n.deferred.clear();
  for (Message& m : rd.messages) {
    if (raft::MaySendBeforePersist(m)) {
      Send(m);
    } else {
      n.deferred.push_back(std::move(m));
    }
  }
  rd.messages.clear();
  int64_t latency = 0;
  if (rd.MustSync()) {
    n.disk.Write(DiskWrite{rd.snapshot, rd.entries, rd.hard_state});
    latency = prng_.Range(100, 2000);
    if (n.slow_disk || (faults_ && prng_.Chance(0.02))) latency = prng_.Range(20, 150) * kMs;
  }
  n.disk_busy = true;
  NodeId id = n.id;
  uint64_t gen = n.generation;
  After(latency, [this, id, gen] { DiskDone(id, gen); });
}

void Simulation::DiskDone(NodeId id, uint64_t generation) {
  SimNode& n = *nodes_.at(id);
  if (!n.up || n.generation != generation) return;
  n.disk.Sync();
  for (const Message& m : n.deferred) Send(m);
  n.deferred.clear();
  raft::Ready rd = std::move(n.in_flight);
  ApplyEntries(n, rd);
  n.raft->Advance(rd);
  n.disk_busy = false;
  MaybeSnapshot(n);
  Pump(n);
}

void Simulation::ApplyEntries(SimNode& n, const raft::Ready& rd) {
  if (rd.snapshot) {
    n.kv.Restore(*rd.snapshot);
    Trace("n" + std::to_string(n.id) + " installs snapshot at " +
          std::to_string(rd.snapshot->meta.index));
  }
  for (const raft::Entry& e : rd.committed_entries) {
    if (e.index <= n.kv.applied) continue;
    NINES_RAFT_ASSERT(e.index == n.kv.applied + 1);
    checker_.Applied(now_, n.id, e);
    std::optional<KvCommand> cmd;
    bool took = n.kv.Apply(e, &cmd);
    if (e.type == raft::EntryType::kConfig) {
      Trace("n" + std::to_string(n.id) + " applies config at " + std::to_string(e.index));
    }
    if (cmd) {
      auto it = n.write_waiters.find(cmd->request);
      if (it != n.write_waiters.end()) {
        checker_.Acknowledged(e.index, e.term, e.data);
        std::string out = cmd->kind == KvCommand::Kind::kCas ? (took ? "1" : "0") : "";
        Answer(n, it->second, it->first, Answer::kOk, out, 0);
        n.write_waiters.erase(it);
      }
    }
    if (probing_ && probe_done_ < 0 && e.data == "probe" && n.id == probe_node_ &&
        e.term == probe_term_) {
      probe_done_ = now_;
      Trace("probe write committed by n" + std::to_string(n.id));
    }
  }
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = n.read_waiters.find(rs.context);
    if (it != n.read_waiters.end()) {
      it->second.index = rs.index;
      it->second.have_index = true;
    }
  }
  for (auto it = n.read_waiters.begin(); it != n.read_waiters.end();) {
    if (it->second.have_index && n.kv.applied >= it->second.index) {
      Answer(n, it->second.client, it->second.request, Answer::kOk, n.kv.Get(it->second.key), 0);
      it = n.read_waiters.erase(it);
    } else {
      ++it;
    }
  }
}

void Simulation::MaybeSnapshot(SimNode& n) {
  Index applied = n.kv.applied;
  Index snap = n.storage->GetSnapshot().meta.index;
  if (applied < snap + kSnapshotEvery) return;
  if (applied > n.storage->GetInitialState().hard_state.commit) return;  // never ahead of commit
  n.storage->CreateSnapshot(applied, n.kv.membership, n.kv.Serialize());
  Index compact = applied > kKeepAfterSnapshot ? applied - kKeepAfterSnapshot : 0;
  compact = std::max(compact, n.storage->FirstIndex() - 1);
  n.storage->Compact(compact);
  n.disk.SaveSnapshot(n.storage->GetSnapshot(), compact);
}

void Simulation::Send(const Message& m) {
  if (opt_.trace && m.type != raft::MessageType::kHeartbeat &&
      m.type != raft::MessageType::kHeartbeatResp) {
    Trace("  n" + std::to_string(m.from) + " -> n" + std::to_string(m.to) + " " +
          raft::MessageTypeName(m.type) + " term " + std::to_string(m.term) + " index " +
          std::to_string(m.index) + (m.reject ? " reject" : "") +
          (m.entries.empty() ? "" : " +" + std::to_string(m.entries.size()) + " entries"));
  }
  if (Blocked(m.from, m.to) || prng_.Chance(loss_)) return;
  std::string bytes = raft::EncodeMessage(m);
  int copies = prng_.Chance(dup_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    NodeId to = m.to;
    After(prng_.Range(delay_min_, delay_max_), [this, bytes, to] { Deliver(bytes, to); });
  }
}

void Simulation::Deliver(const std::string& bytes, NodeId to) {
  auto it = nodes_.find(to);
  if (it == nodes_.end() || !it->second->up) return;
  Message m;
  if (Status s = raft::DecodeMessage(bytes, &m); !s.ok()) {
    checker_.Violation(now_, "codec: message does not decode: " + s.message());
    return;
  }
  SimNode& n = *it->second;
  n.raft->Step(m);
  Pump(n);
}

std::string Simulation::PickKey() {
  while (active_keys_.size() < 2) active_keys_.push_back("k" + std::to_string(next_key_++));
  size_t i = prng_.Below(active_keys_.size());
  std::string key = active_keys_[i];
  if (++key_ops_[key] >= kOpsPerKeyBudget) active_keys_.erase(active_keys_.begin() + i);
  return key;
}

void Simulation::ClientIssue(SimClient& c) {
  if (!clients_on_ || c.busy) return;
  c.busy = true;
  c.request = next_request_++;
  ClientOp op;
  op.client = c.id;
  op.call = now_;
  op.key = PickKey();
  uint64_t roll = prng_.Below(10);
  ClientRequest req;
  req.client = c.id;
  req.request = c.request;
  req.key = op.key;
  if (roll < 4) {
    op.kind = ClientOp::Kind::kGet;
  } else if (roll < 8) {
    op.kind = ClientOp::Kind::kPut;
    op.input = "v" + std::to_string(c.request);
  } else {
    op.kind = ClientOp::Kind::kCas;
    op.expected = c.last_seen[op.key];
    op.input = "v" + std::to_string(c.request);
  }
  req.kind = op.kind;
  req.expected = op.expected;
  req.value = op.input;
  c.op = op;
  c.history_index = SIZE_MAX;
  if (op.kind != ClientOp::Kind::kGet) {
    c.history_index = history_.size();
    history_.push_back(op);
    history_dropped_.push_back(false);
  }
  Trace("client " + std::to_string(c.id) + " req " + std::to_string(c.request) + " " +
        (op.kind == ClientOp::Kind::kGet   ? "get "
         : op.kind == ClientOp::Kind::kPut ? "put "
                                           : "cas ") +
        op.key + " -> n" + std::to_string(c.target));
  NodeId target = c.target;
  After(prng_.Range(1, 10) * kMs, [this, req, target] { ClientArrive(req, target); });
  uint64_t client = c.id, request = c.request;
  After(kClientTimeout, [this, client, request] { ClientTimeout(client, request); });
}

void Simulation::ClientArrive(const ClientRequest& req, NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || !it->second->up) return;
  SimNode& n = *it->second;
  raft::Raft& r = *n.raft;
  if (r.role() != Role::kLeader) {
    Answer(n, req.client, req.request, Answer::kNotLeader, "", r.leader());
    return;
  }
  if (req.kind == ClientOp::Kind::kGet) {
    std::string ctx = "r" + std::to_string(req.request);
    if (!r.ReadIndex(ctx)) {
      Answer(n, req.client, req.request, Answer::kFail, "", 0);
      return;
    }
    n.read_waiters[ctx] = ReadWaiter{req.client, req.request, req.key, 0, false};
  } else {
    KvCommand cmd;
    cmd.kind = req.kind == ClientOp::Kind::kPut ? KvCommand::Kind::kPut : KvCommand::Kind::kCas;
    cmd.client = req.client;
    cmd.request = req.request;
    cmd.key = req.key;
    cmd.expected = req.expected;
    cmd.value = req.value;
    if (r.Propose(EncodeCommand(cmd)) != raft::ProposeError::kNone) {
      Answer(n, req.client, req.request, Answer::kFail, "", 0);
      return;
    }
    n.write_waiters[req.request] = req.client;
  }
  Pump(n);
}

void Simulation::Answer(SimNode& n, uint64_t client, uint64_t request, enum Answer a,
                        std::string output, NodeId hint) {
  After(prng_.Range(1, 10) * kMs, [this, client, request, a, output, hint] {
    ClientReceive(client, request, a, output, hint);
  });
}

void Simulation::ClientReceive(uint64_t client, uint64_t request, enum Answer a,
                               const std::string& output, NodeId hint) {
  SimClient& c = clients_[client - 1];
  if (!c.busy || c.request != request) return;  // late answer to a timed-out request
  c.busy = false;
  if (a == Answer::kOk) {
    ClientOp op = c.op;
    op.ret = now_;
    op.output = output;
    if (op.kind == ClientOp::Kind::kGet) {
      c.last_seen[op.key] = output;
      history_.push_back(op);
      history_dropped_.push_back(false);
    } else {
      history_[c.history_index] = op;
      if (op.kind == ClientOp::Kind::kPut || output == "1") c.last_seen[op.key] = op.input;
    }
    Trace("client " + std::to_string(client) + " req " + std::to_string(request) + " ok " + output);
  } else {
    // Definitely not executed: not proposed, or refused.
    if (c.history_index != SIZE_MAX) history_dropped_[c.history_index] = true;
    if (a == Answer::kNotLeader && hint != 0) {
      c.target = hint;
    } else {
      c.target = 1 + prng_.Below(max_node_);
    }
  }
  uint64_t id = c.id;
  After(prng_.Range(1, 30) * kMs, [this, id] { ClientIssue(clients_[id - 1]); });
}

void Simulation::ClientTimeout(uint64_t client, uint64_t request) {
  SimClient& c = clients_[client - 1];
  if (!c.busy || c.request != request) return;
  c.busy = false;  // a write stays in the history as indeterminate; a read is dropped
  if (c.op.kind != ClientOp::Kind::kGet && ++key_timeouts_[c.op.key] >= kOpenWritesPerKey) {
    // Open writes multiply the linearizability search: retire the key.
    active_keys_.erase(std::remove(active_keys_.begin(), active_keys_.end(), c.op.key),
                       active_keys_.end());
  }
  Trace("client " + std::to_string(client) + " req " + std::to_string(request) + " times out");
  c.target = 1 + prng_.Below(max_node_);
  uint64_t id = c.id;
  After(prng_.Range(1, 30) * kMs, [this, id] { ClientIssue(clients_[id - 1]); });
}

void Simulation::ChangeMembership() {
  SimNode* l = Leader();
  if (!l) return;
  const raft::Membership& m = l->raft->membership();
  raft::ConfChange cc;
  if (!m.learners.empty()) {
    NodeId learner = m.learners[prng_.Below(m.learners.size())];
    const raft::ReplicationProgress* pr = l->raft->progress(learner);
    if (!pr || pr->match < l->raft->log().committed()) return;  // not caught up yet
    cc = {raft::ConfChangeType::kPromoteLearner, learner};
  } else if (m.voters.size() > 3 && prng_.Chance(0.6)) {
    cc = {raft::ConfChangeType::kRemove, m.voters[prng_.Below(m.voters.size())]};
  } else if (next_spare_ <= max_node_ && m.voters.size() < 5) {
    SimNode& spare = *nodes_.at(next_spare_);
    if (!spare.started) StartNode(spare);
    cc = {raft::ConfChangeType::kAddLearner, next_spare_};
  } else {
    return;
  }
  std::string err;
  raft::ProposeError e = l->raft->ProposeConfChange(cc, &err);
  const char* kinds[] = {"add voter", "add learner", "remove", "promote"};
  Trace(std::string("membership: ") + kinds[static_cast<int>(cc.type)] + " n" +
        std::to_string(cc.node) + " via n" + std::to_string(l->id) + ": " +
        raft::ProposeErrorName(e));
  if (e == raft::ProposeError::kNone && cc.type == raft::ConfChangeType::kAddLearner) {
    ++next_spare_;
  }
  Pump(*l);
}

void Simulation::InjectFault() {
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) {
    if (n->started) ids.push_back(id);
  }
  NodeId victim = ids[prng_.Below(ids.size())];
  uint64_t roll = prng_.Below(100);
  if (roll < 22) {
    SimNode& n = *nodes_.at(victim);
    if (!n.up) return;
    CrashNode(n);
    After(prng_.Range(100, 3000) * kMs, [this, victim] {
      SimNode& restarted = *nodes_.at(victim);
      if (!restarted.up) StartNode(restarted);
    });
  } else if (roll < 32) {
    // Crash the leader specifically: the interesting case.
    if (SimNode* l = Leader()) {
      NodeId lid = l->id;
      CrashNode(*l);
      After(prng_.Range(100, 3000) * kMs, [this, lid] {
        SimNode& n = *nodes_.at(lid);
        if (!n.up) StartNode(n);
      });
    }
  } else if (roll < 47) {
    // Symmetric partition into two random sides.
    std::set<NodeId> side;
    for (NodeId id : ids) {
      if (prng_.Chance(0.5)) side.insert(id);
    }
    if (SimNode* l = Leader(); l && prng_.Chance(0.4)) side = {l->id};
    std::string desc;
    for (NodeId a : ids) {
      for (NodeId b : ids) {
        if (side.count(a) != side.count(b)) blocked_.insert({a, b});
      }
      if (side.count(a)) desc += " n" + std::to_string(a);
    }
    Trace("partition: {" + desc + " } from the rest");
  } else if (roll < 55) {
    NodeId other = ids[prng_.Below(ids.size())];
    if (other == victim) return;
    blocked_.insert({victim, other});
    Trace("one-way partition: n" + std::to_string(victim) + " -/-> n" + std::to_string(other));
  } else if (roll < 70) {
    blocked_.clear();
    Trace("network heals");
  } else if (roll < 80) {
    ChangeMembership();
  } else if (roll < 88) {
    SimNode* l = Leader();
    if (!l) return;
    const auto& voters = l->raft->membership().voters;
    NodeId to = voters[prng_.Below(voters.size())];
    bool ok = l->raft->TransferLeadership(to);
    Trace("transfer leadership n" + std::to_string(l->id) + " -> n" + std::to_string(to) +
          (ok ? "" : " (refused)"));
    Pump(*l);
  } else if (roll < 94) {
    SimNode& n = *nodes_.at(victim);
    n.slow_disk = !n.slow_disk;
    Trace("n" + std::to_string(victim) + " disk " + (n.slow_disk ? "slow" : "normal"));
  } else {
    loss_ = prng_.Chance(0.5) ? 0 : prng_.Range(1, 20) / 100.0;
    dup_ = prng_.Range(0, 5) / 100.0;
    delay_min_ = prng_.Range(1, 5) * kMs;
    delay_max_ = delay_min_ + prng_.Range(0, 60) * kMs;
    Trace("network weather: loss " + std::to_string(loss_) + " dup " + std::to_string(dup_) +
          " delay " + std::to_string(delay_min_ / kMs) + ".." + std::to_string(delay_max_ / kMs) +
          " ms");
  }
}

void Simulation::MaybeCutOnOlderTerm(SimNode& n) {
  raft::Raft& r = *n.raft;
  if (n.term_start <= n.commit_at_win + 1) return;  // no entries of older terms to commit
  std::vector<Index> matches;
  for (NodeId v : r.membership().voters) {
    const raft::ReplicationProgress* pr = r.progress(v);
    matches.push_back(pr ? pr->match : 0);
  }
  if (matches.empty()) return;
  std::sort(matches.begin(), matches.end(), std::greater<Index>());
  Index q = matches[raft::QuorumSize(r.membership()) - 1];
  if (q <= n.commit_at_win || q >= n.term_start) return;
  // Figure 8, second half: entries of older terms now sit on a majority, the
  // leader's own term on a minority. Cut the leader off and bring back the
  // members cut off before: one without those entries may win next.
  n.figure8_cut = true;
  blocked_.clear();
  Isolate(n, "leader with older-term entries on a majority");
}

void Simulation::Isolate(SimNode& n, const char* why) {
  NodeId id = n.id;
  for (auto& [other, o] : nodes_) {
    if (other == id) continue;
    blocked_.insert({id, other});
    blocked_.insert({other, id});
  }
  Trace("figure 8: " + std::string(why) + " n" + std::to_string(id) + " of term " +
        std::to_string(n.raft->term()) + " cut off");
  After(prng_.Range(300, 2000) * kMs, [this, id] {
    for (auto it = blocked_.begin(); it != blocked_.end();) {
      it = it->first == id || it->second == id ? blocked_.erase(it) : std::next(it);
    }
    Trace("figure 8: n" + std::to_string(id) + " reconnected");
  });
}

void Simulation::HealAll() {
  blocked_.clear();
  loss_ = 0;
  dup_ = 0;
  delay_min_ = 1 * kMs;
  delay_max_ = 10 * kMs;
  for (auto& [id, n] : nodes_) {
    n->slow_disk = false;
    if (n->started && !n->up) StartNode(*n);
  }
  Trace("heal: network repaired, every node up");
}

void Simulation::CheckLogs() {
  std::vector<SimNode*> up;
  for (auto& [id, n] : nodes_) {
    if (n->up) up.push_back(n.get());
  }
  for (size_t i = 0; i < up.size(); ++i) {
    for (size_t j = i + 1; j < up.size(); ++j) {
      checker_.CompareLogs(now_, up[i]->id, up[i]->raft->log(), up[j]->id, up[j]->raft->log());
    }
  }
}

void Simulation::LivenessProbe() {
  if (probe_done_ >= 0) return;
  SimNode* l = Leader();
  if (l && l->raft->term() >= probe_min_term_ &&
      (!probe_proposed_ || l->id != probe_node_ || l->raft->term() != probe_term_)) {
    if (l->raft->Propose("probe") == raft::ProposeError::kNone) {
      probe_proposed_ = true;
      probe_node_ = l->id;
      probe_term_ = l->raft->term();
      Trace("probe write proposed to n" + std::to_string(l->id));
      Pump(*l);
    }
  }
  After(5 * kMs, [this] { LivenessProbe(); });
}

void Simulation::TickLoop(NodeId id) {
  SimNode& n = *nodes_.at(id);
  if (n.up) {
    n.raft->Tick();
    Pump(n);
  }
  After(n.tick_us, [this, id] { TickLoop(id); });
}

void Simulation::LogCheckLoop() {
  CheckLogs();
  After(100 * kMs, [this] { LogCheckLoop(); });
}

SimResult Simulation::Run() {
  SimResult result;
  bool failover = opt_.scenario == Scenario::kFailover;
  members_ = prng_.Chance(0.5) ? 3 : 5;
  faults_ = !failover && opt_.seed % 10 != 0;
  result.faults = faults_;
  lease_reads_ = prng_.Chance(0.3);  // a third of the seeds read from the leader lease
  if (faults_ && prng_.Chance(0.5)) {
    figure8_ = true;
    max_msg_entries_ = 1 + prng_.Below(2);
  }
  result.members = members_;
  raft::Membership bootstrap;
  for (int i = 1; i <= members_; ++i) bootstrap.voters.push_back(i);
  max_node_ = members_ + (faults_ ? 2 : 0);
  next_spare_ = members_ + 1;
  for (NodeId id = 1; id <= max_node_; ++id) {
    nodes_[id] = std::make_unique<SimNode>(
        id, id <= static_cast<NodeId>(members_) ? bootstrap : raft::Membership{});
  }
  Trace("seed " + std::to_string(opt_.seed) + ": " + std::to_string(members_) + " members, " +
        (failover  ? "failover"
         : faults_ ? "chaos"
                   : "no faults"));
  if (faults_) {
    delay_min_ = prng_.Range(1, 3) * kMs;
    delay_max_ = delay_min_ + prng_.Range(2, 30) * kMs;
    loss_ = prng_.Chance(0.5) ? prng_.Range(0, 5) / 100.0 : 0;
    dup_ = prng_.Range(0, 3) / 100.0;
  }
  for (NodeId id = 1; id <= static_cast<NodeId>(members_); ++id) {
    StartNode(*nodes_.at(id));
  }
  // Ticks: each node on its own phase.
  for (auto& [id, n] : nodes_) {
    NodeId nid = id;
    // Chaos seeds: each clock runs up to 1% fast or slow (within the lease margin).
    n->tick_us = faults_ ? kTick + prng_.Range(-kTick / 100, kTick / 100) : kTick;
    At(prng_.Range(0, kTick - 1), [this, nid] { TickLoop(nid); });
  }
  for (int i = 0; i < kClients; ++i) {
    SimClient c;
    c.id = i + 1;
    c.target = 1 + prng_.Below(members_);
    clients_.push_back(c);
  }
  for (auto& c : clients_) {
    uint64_t id = c.id;
    At(prng_.Range(200, 1500) * kMs, [this, id] { ClientIssue(clients_[id - 1]); });
  }
  At(50 * kMs, [this] { LogCheckLoop(); });

  int64_t end;
  if (failover) {
    RunUntil(4 * kSec);
    SimNode* l = Leader();
    if (!l) {
      checker_.Violation(now_, "no leader after 4 s without faults");
    } else {
      if (checker_.leader_terms() != 1) {
        checker_.Violation(now_, "leader changed without faults (" +
                                     std::to_string(checker_.leader_terms()) + " leader terms)");
      }
      probe_min_term_ = l->raft->term() + 1;
      CrashNode(*l);
      probing_ = true;
      probe_start_ = now_;
      LivenessProbe();
    }
    end = now_ + kLivenessBound;
    while (now_ < end && probe_done_ < 0) RunUntil(now_ + 10 * kMs);
    if (probing_ && probe_done_ < 0) {
      checker_.Violation(now_, "failover: no write committed within 10 s of the leader crash");
    }
    if (probe_done_ >= 0) result.failover_us = probe_done_ - probe_start_;
    clients_on_ = false;
    RunUntil(now_ + kClientTimeout + 100 * kMs);
  } else {
    int64_t fault_end = 15 * kSec;
    fault_end_ = fault_end;
    if (faults_) {
      int64_t t = 500 * kMs;
      while (true) {
        t += prng_.Range(200, 1500) * kMs;
        if (t >= fault_end) break;
        At(t, [this] { InjectFault(); });
      }
      // Most chaos seeds also cycle membership: add a learner, promote it,
      // remove a voter, while the faults go on.
      if (prng_.Chance(0.7)) {
        for (int64_t m = 1 * kSec; m < fault_end; m += prng_.Range(500, 1500) * kMs) {
          At(m, [this] { ChangeMembership(); });
        }
      }
    }
    RunUntil(fault_end);
    if (!faults_ && checker_.leader_terms() != 1) {
      checker_.Violation(now_, "leader changed without faults (" +
                                   std::to_string(checker_.leader_terms()) + " leader terms)");
    }
    HealAll();
    probing_ = true;
    probe_start_ = now_;
    LivenessProbe();
    while (now_ < fault_end + kLivenessBound && probe_done_ < 0) RunUntil(now_ + 10 * kMs);
    if (probe_done_ < 0) {
      checker_.Violation(now_, "liveness: no write committed within 10 s after healing");
    }
    clients_on_ = false;
    end = now_ + kClientTimeout + 2 * kSec;
    RunUntil(end);
    // Every member has caught up with every acknowledged write.
    SimNode* l = Leader();
    if (l) {
      Index target = l->raft->log().committed();
      for (NodeId id : l->raft->membership().voters) {
        SimNode& n = *nodes_.at(id);
        if (!n.up || n.kv.applied < target) {
          checker_.Violation(now_, "n" + std::to_string(id) + " has not applied up to " +
                                       std::to_string(target) + " after healing");
        } else if (n.kv.applied == l->kv.applied && n.kv.data != l->kv.data) {
          checker_.Violation(now_, "n" + std::to_string(id) + " state differs from leader");
        }
      }
    }
    checker_.CheckAcknowledged(now_);
  }
  CheckLogs();

  std::vector<ClientOp> ops;
  for (size_t i = 0; i < history_.size(); ++i) {
    if (!history_dropped_[i]) ops.push_back(history_[i]);
  }
  std::string bad_key;
  LinearizabilityResult lin = CheckHistory(ops, &bad_key);
  if (lin == LinearizabilityResult::kViolation) {
    checker_.Violation(now_, "linearizability: history of key " + bad_key + " is not linearizable");
    if (opt_.trace) {
      for (const ClientOp& op : ops) {
        if (op.key != bad_key) continue;
        std::printf("  client %llu %s in=%s exp=%s out=%s [%.3f, %s]\n",
                    static_cast<unsigned long long>(op.client),
                    op.kind == ClientOp::Kind::kGet   ? "get"
                    : op.kind == ClientOp::Kind::kPut ? "put"
                                                      : "cas",
                    op.input.c_str(), op.expected.c_str(), op.output.c_str(), op.call / 1e6,
                    op.ret == kNeverReturned ? "?" : std::to_string(op.ret / 1e6).c_str());
      }
    }
  }
  result.linearizability_gave_up = lin == LinearizabilityResult::kGaveUp;
  result.ops = ops.size();
  result.leader_terms = checker_.leader_terms();
  result.violations = checker_.violations();
  return result;
}

const SafetyChecker* g_running_checker = nullptr;

}  // namespace

SimResult RunSimulation(const SimOptions& options) {
  Simulation sim(options);
  return sim.Run();
}

std::vector<std::string> CurrentViolations() {
  return g_running_checker ? g_running_checker->violations() : std::vector<std::string>{};
}

}  // namespace nines::sim
