// One seed of nines_sim_store: members, faults, clients and checkers; see store_sim.h.
#include "store_sim.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "base/clock.h"
#include "linearizability.h"
#include "prng.h"
#include "sim_fs.h"
#include "sim_network.h"
#include "store/kv_command.h"
#include "store/outcome.h"
#include "store/snapshot_runner.h"
#include "store/store_node.h"
#include "store/transaction.h"

namespace nines::sim {
namespace {

constexpr int64_t kChaosMs = 8000;          // faults are injected until then
constexpr int64_t kServiceBoundMs = 5000;   // a client op must succeed this soon after the heal
constexpr int64_t kClientsStopMs = 3000;    // after the heal: no new client operations
constexpr int64_t kConvergeBoundMs = 9000;  // after the heal: every member has the same state
constexpr size_t kOpsPerKey = 56;           // leaves room for the final reads (kMaxOpsPerKey)
constexpr int kMaxAttempts = 60;            // per operation, over retries and redirects
constexpr size_t kMaxInFlight = 3000;       // more messages in flight than this is a storm
constexpr int64_t kWallStartNanos = 1'800'000'000'000LL * 1'000'000;

// A member stopped on purpose by its StoreNodeEnv::fatal (a disk error).
struct MemberStopped {
  std::string why;
};

struct Member {
  store::StoreConfig config;
  SimFs fs;
  // Writes the member's snapshots when the simulation's scheduler says so
  // (the background child of a real member); new at every start.
  std::shared_ptr<store::ManualSnapshotRunner> snapshots;
  std::unique_ptr<store::StoreNode> node;
  bool up = false;
  bool broken = false;  // failed to recover: stays down
  bool drain = false;
  bool fault_armed = false;    // a disk fault was armed since the last restart
  int64_t fsync_delay_ms = 0;  // a slow disk (--slow-disks): each file fsync takes this long
  int64_t restart_at = 0;
  uint64_t boots = 0;
};

struct SimOp {
  ClientOp op;
  bool abandoned = false;  // every attempt certainly failed: never took effect
  // A hash, set, sorted set or list write (HSET, HINCRBY, SADD, SPOP, SREM,
  // ZADD, ZINCRBY, ZREMRANGEBYLEX, RPUSH, LPOP on a key of its own) in place
  // of a SET: not in the linearizability history; its effects are checked by
  // the members' converging to equal state bytes (SPOP included, whose picks
  // derive from the log index; ZREMRANGEBYLEX over members with different
  // scores, whose result must not depend on a skip list's shape).
  bool typed = false;
};

// The typed write standing for op (chosen from its input, no extra PRNG draw,
// so seeds keep their schedules).
// NINES_SIM_TRANSACTIONS=1: every other typed write goes as a MULTI/EXEC
// entry (the write, a read of its key, WATCH of the key at the leader's
// applied index), so members apply transactions, tombstones and aborted
// EXECs alike (Converged compares whole states). Off by default: it changes
// the schedules the planted-bug seeds were chosen for.
bool TransactionsOn() {
  static const bool on = [] {
    const char* env = std::getenv("NINES_SIM_TRANSACTIONS");
    return env != nullptr && std::string(env) == "1";
  }();
  return on;
}

std::vector<std::string> TypedWrite(const ClientOp& op) {
  const int64_t v = std::stoll(op.input);
  const std::string hash = "th." + op.key;
  const std::string set = "ts." + op.key;
  const std::string zset = "tz." + op.key;
  const std::string list = "tl." + op.key;
  switch (v % 10) {
    case 0:
      return {"hset", hash, "f" + std::to_string(v % 7), op.input};
    case 1:
      return {"hincrby", hash, "n", "1"};
    case 2:
      return {"sadd", set, "m" + std::to_string(v % 13), "m" + std::to_string(v % 11)};
    case 3:
      return {"spop", set, "2"};
    case 4:
      return {"srem", set, "m" + std::to_string(v % 13)};
    case 5:
      return {"zadd", zset, std::to_string(v % 3), "m" + std::to_string(v % 17)};
    case 6:
      return {"zincrby", zset, "1.5", "m" + std::to_string(v % 17)};
    case 7:
      return {"zremrangebylex", zset, "[m" + std::to_string(v % 5), "(m" + std::to_string(v % 9)};
    case 8:
      return {"rpush", list, op.input};
    default:
      return {"lpop", list, "2"};
  }
}

struct Client {
  size_t target = 0;
  bool busy = false;     // an operation is in progress
  bool waiting = false;  // a request is at member `at`
  size_t at = 0;
  size_t op = 0;
  uint64_t token = 0;
  int attempts = 0;
  int64_t next_at = 0;
};

class StoreSimulation {
 public:
  StoreSimulation(uint64_t seed, std::ostream* trace, bool scripted, bool slow_disks)
      : seed_(seed),
        prng_(seed),
        net_(&prng_),
        trace_(trace),
        wall_(kWallStartNanos),
        scripted_(scripted),
        slow_disks_(scripted ? false : slow_disks) {}

  StoreSimResult Run();

 private:
  int64_t Now() const { return clock_.NowMillis() - start_ms_; }
  template <typename... Args>
  void Trace(fmt::format_string<Args...> format, Args&&... args) {
    if (trace_)
      *trace_ << "t=" << Now() << " " << fmt::format(format, std::forward<Args>(args)...) << "\n";
  }
  void Violation(const std::string& what) {
    Trace("VIOLATION {}", what);
    result_.violations.push_back(fmt::format("t={} {}", Now(), what));
  }
  std::optional<size_t> IndexOf(uint64_t raft_id) const {
    auto it = by_raft_id_.find(raft_id);
    if (it == by_raft_id_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& Name(size_t i) const { return members_[i].config.id; }

  void Setup();
  void Start(size_t i);
  void Crash(size_t i, bool power, const std::string& why);
  // Runs fn on member i's node; a power cut or a crash-stop inside takes the member down.
  template <typename Fn>
  void Guard(size_t i, Fn&& fn);
  void Step();
  void InjectFaults();
  void HealAll();
  void CheckLeaders();
  void CheckLog(size_t i);
  void ScriptStep();
  void ProposeFiller(size_t i, size_t count);

  void ClientStep(size_t ci);
  void NewOp(size_t ci);
  void Attempt(size_t ci);
  void Redirect(size_t ci);
  void Retry(size_t ci, int64_t delay_ms, bool elsewhere);
  void Finish(size_t ci);
  void OnWrite(size_t ci, uint64_t token, const store::KvResult* result, const std::string& error);
  void OnRead(size_t ci, uint64_t token, bool ok);

  bool Converged(std::string* why) const;
  void FinalChecks();

  uint64_t seed_;
  Prng prng_;
  SimNetwork net_;
  std::ostream* trace_;
  ManualClock clock_;
  ManualClock wall_;
  int64_t start_ms_ = 0;
  std::vector<Member> members_;
  std::map<uint64_t, size_t> by_raft_id_;
  std::vector<Client> clients_;
  std::vector<SimOp> ops_;
  std::vector<std::string> keys_;      // the keys clients use now
  std::vector<std::string> all_keys_;  // every key ever used
  std::map<std::string, size_t> ops_per_key_;
  std::map<uint64_t, size_t> leader_of_term_;
  // Fault rates of this seed (per simulated millisecond).
  double kill_rate_ = 0, power_rate_ = 0, disk_rate_ = 0, partition_rate_ = 0;
  NetworkFaults chaos_net_;
  int64_t partition_until_ = -1;
  bool healed_ = false;
  bool stormed_ = false;
  bool clients_stopped_ = false;
  int64_t first_success_after_heal_ = -1;
  StoreSimResult result_;
  // The scripted scenario (store_sim.h): its phase, A and B, A's old tail end.
  enum class Phase { kWaitLeader, kIsolated, kBCommits, kHealed, kDone };
  bool scripted_ = false;
  bool slow_disks_ = false;
  double slow_disk_rate_ = 0;
  bool hold_clients_ = false;
  Phase phase_ = Phase::kWaitLeader;
  size_t a_ = 0, b_ = 0;
  uint64_t a_term_ = 0, tail_end_ = 0, a_snapshots_ = 0;
};

template <typename Fn>
void StoreSimulation::Guard(size_t i, Fn&& fn) {
  try {
    fn();
  } catch (const PowerCut&) {
    Crash(i, true, "power cut in the middle of a disk operation");
  } catch (const MemberStopped& stopped) {
    if (!members_[i].fault_armed)
      Violation(Name(i) + " stopped without an injected fault: " + stopped.why);
    Crash(i, true, "crash-stop: " + stopped.why);
  }
}

void StoreSimulation::Setup() {
  start_ms_ = clock_.NowMillis();
  size_t n = prng_.Chance(0.25) ? 5 : 3;
  if (scripted_) n = 3;
  std::vector<store::StoreMember> list;
  for (size_t i = 0; i < n; ++i) {
    store::StoreMember m;
    m.id = fmt::format("m{}", i + 1);
    m.raft_id = store::StableRaftId(m.id);
    m.peer = Endpoint{"127.0.0.1", static_cast<uint16_t>(7480 + i)};
    m.client = Endpoint{"127.0.0.1", static_cast<uint16_t>(6380 + i)};
    list.push_back(m);
    by_raft_id_[m.raft_id] = i;
  }
  uint64_t snapshot_entries = prng_.Range(5, 60);
  if (scripted_) snapshot_entries = 5;
  members_ = std::vector<Member>(n);
  for (size_t i = 0; i < n; ++i) {
    store::StoreConfig& c = members_[i].config;
    c.id = list[i].id;
    c.data_dir = "/" + c.id;
    c.client = list[i].client;
    c.peer = list[i].peer;
    c.members = list;
    c.tick_ms = 10;
    c.heartbeat_ms = 50;
    c.election_ms = 300;
    c.request_timeout_ms = static_cast<int>(prng_.Range(300, 1500));
    c.snapshot_entries = snapshot_entries;
  }
  for (int k = 0; k < 4; ++k) keys_.push_back(fmt::format("r{}", k));  // SET / GET
  for (int k = 0; k < 3; ++k) keys_.push_back(fmt::format("c{}", k));  // INCR / GET
  all_keys_ = keys_;
  // A third of the seeds have many clients: an isolated leader then gathers a
  // long uncommitted suffix.
  clients_ = std::vector<Client>(prng_.Chance(0.33) ? prng_.Range(10, 24) : prng_.Range(2, 8));
  for (Client& c : clients_) c.target = prng_.Below(n);
  double intensity = static_cast<double>(prng_.Range(1, 4));
  kill_rate_ = intensity / 6000;
  power_rate_ = intensity / 2000;
  disk_rate_ = intensity / 8000;
  partition_rate_ = intensity / 5000;
  const double drops[] = {0, 0.01, 0.05, 0.15};
  const double dups[] = {0, 0.02, 0.1};
  const int64_t delays[] = {2, 10, 40};
  chaos_net_.drop = drops[prng_.Below(4)];
  chaos_net_.duplicate = dups[prng_.Below(3)];
  chaos_net_.max_delay_ms = delays[prng_.Below(3)];
  if (scripted_) {
    // No random faults: the script decides them.
    kill_rate_ = power_rate_ = disk_rate_ = partition_rate_ = 0;
    chaos_net_ = NetworkFaults{};
    result_.scripted = true;
  }
  if (slow_disks_) {
    slow_disk_rate_ = intensity / 3000;
    for (size_t i = 0; i < n; ++i) {
      members_[i].config.slow_fsync_cooldown_ms = static_cast<int>(prng_.Range(300, 4000));
      // Every file fsync of a slow disk lets its delay pass, for everyone:
      // the member is blocked in it (single-threaded, as a real one is).
      members_[i].fs.SetSyncHook([this, i] {
        const int64_t d = members_[i].fsync_delay_ms;
        if (d <= 0) return;
        clock_.AdvanceMillis(d);
        wall_.AdvanceMillis(d);
      });
    }
  }
  net_.set_faults(chaos_net_);
  Trace("seed {}: {} members, {} clients, snapshot every {} entries, drop {} dup {} delay<={}ms",
        seed_, n, clients_.size(), snapshot_entries, chaos_net_.drop, chaos_net_.duplicate,
        chaos_net_.max_delay_ms);
  for (size_t i = 0; i < n; ++i) Start(i);
}

void StoreSimulation::Start(size_t i) {
  Member& m = members_[i];
  m.fs.ClearFaults();
  m.fault_armed = false;
  store::StoreNodeEnv env;
  env.fs = &m.fs;
  env.clock = &clock_;
  env.wall = &wall_;
  env.send = [this, i](const raft::Message& msg) {
    if (auto to = IndexOf(msg.to)) net_.Send(i, *to, msg, Now());
  };
  env.schedule_drain = [this, i] { members_[i].drain = true; };
  env.seed = prng_.Next();
  env.request_id_nonce = prng_.Next();
  m.snapshots = std::make_shared<store::ManualSnapshotRunner>();
  env.snapshot_runner = m.snapshots;
  m.config.wal_segment_bytes = static_cast<uint64_t>(prng_.Range(20000, 60000));
  env.fatal = [](const Status& status, const char* what) {
    throw MemberStopped{std::string(what) + ": " + status.ToString()};
  };
  m.node = std::make_unique<store::StoreNode>(m.config, std::move(env));
  ++m.boots;
  Status s = m.node->Recover();
  if (!s.ok()) {
    Violation(Name(i) + " cannot recover after a crash: " + s.ToString());
    m.node.reset();
    m.broken = true;
    return;
  }
  m.up = true;
  m.drain = true;
  CheckLog(i);
  Trace("start {} (boot {}): term {} commit {} last {}", Name(i), m.boots, m.node->term(),
        m.node->commit_index(), m.node->last_index());
}

void StoreSimulation::Crash(size_t i, bool power, const std::string& why) {
  Member& m = members_[i];
  if (!m.up) return;
  Trace("crash {} ({}){}", Name(i), why, power ? ", unsynced data lost" : "");
  ++result_.crashes;
  result_.slow_disk_transfers += m.node->counters().slow_disk_transfers;
  m.node.reset();
  m.up = false;
  m.drain = false;
  // A killed process leaves its written data in the page cache; a power
  // cut (or a disk error, conservatively) loses what was not fsynced.
  if (power) m.fs.Crash(prng_);
  m.fs.ClearFaults();
  m.restart_at = healed_ ? Now() + 1 : Now() + prng_.Range(20, 1500);
  for (size_t ci = 0; ci < clients_.size(); ++ci) {
    Client& c = clients_[ci];
    if (!c.waiting || c.at != i) continue;
    c.waiting = false;
    if (ops_[c.op].op.kind == ClientOp::Kind::kGet) {
      Retry(ci, 10, true);  // a read has no effect: retry it
    } else {
      // The connection died with the request in it: the outcome is unknown,
      // and a Redis client does not retry it on its own.
      ++result_.indeterminate;
      Trace("client {} op {} indeterminate (connection lost)", ci, c.op);
      Finish(ci);
    }
  }
}

void StoreSimulation::InjectFaults() {
  size_t n = members_.size();
  size_t i = prng_.Below(n);
  Member& m = members_[i];
  if (m.up && prng_.Chance(kill_rate_)) Crash(i, prng_.Chance(0.5), "killed");
  if (m.up && !m.fault_armed && prng_.Chance(power_rate_)) {
    m.fault_armed = true;
    uint64_t aim = prng_.Below(3);
    if (aim == 0) {
      m.fs.CutPowerAfter(prng_.Below(40));
      Trace("armed a power cut on {}", Name(i));
    } else {
      const char* part = aim == 1 ? "/wal/" : "/snap/";
      m.fs.CutPowerAfterNextCreate(prng_.Below(12), part);
      Trace("armed a power cut on {} near its next file creation in {}", Name(i), part);
    }
  }
  if (m.up && !m.fault_armed && prng_.Chance(disk_rate_)) {
    m.fault_armed = true;
    uint64_t kind = prng_.Below(3);
    if (kind == 2) {
      m.fs.FailSyncs(1);
      Trace("armed an fsync EIO on {}", Name(i));
    } else {
      m.fs.FailWritesAfter(prng_.Below(3000), kind == 0 ? ENOSPC : EIO);
      Trace("armed a write {} on {}", kind == 0 ? "ENOSPC" : "EIO", Name(i));
    }
  }
  if (slow_disks_ && prng_.Chance(slow_disk_rate_)) {
    size_t s = prng_.Below(n);
    for (size_t j = 0; j < n && prng_.Chance(0.5); ++j) {
      if (members_[j].up && members_[j].node->IsLeader()) s = j;  // half aim at the leader
    }
    Member& slow = members_[s];
    slow.fsync_delay_ms = slow.fsync_delay_ms > 0 ? 0 : static_cast<int64_t>(prng_.Range(100, 300));
    if (slow.fsync_delay_ms > 0) ++result_.slow_disks;
    Trace("{} disk: fsyncs take {} ms", Name(s), slow.fsync_delay_ms);
  }
  if (partition_until_ >= 0 && Now() >= partition_until_) {
    net_.HealAll();
    partition_until_ = -1;
    Trace("partition healed");
  }
  if (partition_until_ < 0 && prng_.Chance(partition_rate_)) {
    ++result_.partitions;
    size_t a = prng_.Below(n);
    // Half the partitions cut off the leader: its uncommitted suffix is what
    // the next leader's appends truncate.
    for (size_t j = 0; j < n && prng_.Chance(0.5); ++j) {
      if (members_[j].up && members_[j].node->IsLeader()) a = j;
    }
    switch (prng_.Below(3)) {
      case 0:  // isolate one member
        for (size_t j = 0; j < n; ++j) {
          if (j != a) net_.Cut(a, j), net_.Cut(j, a);
        }
        Trace("partition: {} isolated", Name(a));
        break;
      case 1:  // one member hears nobody but is heard (one way)
        for (size_t j = 0; j < n; ++j) {
          if (j != a) net_.Cut(j, a);
        }
        Trace("partition: {} hears nobody (one way)", Name(a));
        break;
      default: {  // one link, one way
        size_t b = (a + 1 + prng_.Below(n - 1)) % n;
        net_.Cut(a, b);
        Trace("partition: {} -> {} cut (one way)", Name(a), Name(b));
      }
    }
    partition_until_ = Now() + prng_.Range(200, 2500);
  }
}

void StoreSimulation::HealAll() {
  healed_ = true;
  net_.HealAll();
  partition_until_ = -1;
  NetworkFaults calm;
  net_.set_faults(calm);
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i].fs.ClearFaults();
    members_[i].fault_armed = false;
    members_[i].fsync_delay_ms = 0;
    if (!members_[i].up && !members_[i].broken) members_[i].restart_at = Now();
  }
  Trace("heal: no more faults, every member restarts");
}

void StoreSimulation::CheckLeaders() {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (!members_[i].up || !members_[i].node->IsLeader()) continue;
    uint64_t term = members_[i].node->term();
    auto [it, inserted] = leader_of_term_.emplace(term, i);
    if (!inserted && it->second != i) {
      Violation(fmt::format("two leaders in term {}: {} and {}", term, Name(it->second), Name(i)));
      it->second = i;
    }
  }
}

// Terms never decrease along a Raft log: a recovered log that breaks this
// kept entries a later append had cut off.
void StoreSimulation::CheckLog(size_t i) {
  const raft::MemoryStorage& log = members_[i].node->storage();
  raft::Term previous = 0;
  for (raft::Index index = log.FirstIndex() - 1; index <= log.LastIndex(); ++index) {
    std::optional<raft::Term> term = log.TermAt(index);
    if (!term) continue;
    if (*term < previous) {
      Violation(fmt::format("{} recovered a log whose term falls from {} to {} at index {}",
                            Name(i), previous, *term, index));
      return;
    }
    previous = *term;
  }
}

void StoreSimulation::Step() {
  clock_.AdvanceMillis(1);
  wall_.AdvanceMillis(1);
  int64_t now = Now();
  if (!healed_) InjectFaults();
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (!m.up && !m.broken && now >= m.restart_at) Start(i);
  }
  for (auto& [to, message] : net_.Due(now)) {
    if (members_[to].up) Guard(to, [&] { members_[to].node->Step(message); });
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].up && (now + static_cast<int64_t>(i) * 3) % 10 == 0) {
      Guard(i, [&] { members_[i].node->Tick(); });
    }
  }
  for (size_t ci = 0; ci < clients_.size(); ++ci) ClientStep(ci);
  // Background snapshot writes finish at a random later time (a few to a
  // few hundred ms): the loop goes on meanwhile, and crashes and disk faults
  // land before, during and after them.
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (m.up && m.snapshots->running() && prng_.Chance(0.02)) {
      Trace("{} writes its background snapshot", Name(i));
      Guard(i, [&] { m.snapshots->RunPending(); });
    }
  }
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!members_[i].up || !members_[i].drain) continue;
      members_[i].drain = false;
      any = true;
      Guard(i, [&] { members_[i].node->Drain(); });
    }
    if (!any) break;
  }
  CheckLeaders();
  if (scripted_) ScriptStep();
  if (net_.in_flight() > kMaxInFlight && !stormed_) {
    // Members that flood the network never settle (a livelock): stop the seed.
    Violation(fmt::format("message storm: {} messages in flight", net_.in_flight()));
    stormed_ = true;
  }
}

// --- the scripted scenario (store_sim.h) ---

void StoreSimulation::ProposeFiller(size_t i, size_t count) {
  for (size_t k = 0; k < count && members_[i].up; ++k) {
    store::KvCommand command;
    command.op = store::KvOp::kSet;
    const std::string value = std::to_string(k);  // args are views: keep it alive
    command.args = {"filler", value};
    std::string encoded;
    store::EncodeKvCommand(command, &encoded);
    Guard(i, [&] {
      members_[i].node->ProposeWrite(std::move(encoded), nullptr,
                                     [](const store::KvResult*, uint64_t, const std::string&) {});
    });
  }
}

void StoreSimulation::ScriptStep() {
  constexpr size_t kTail = 40;    // A's uncommitted tail
  constexpr size_t kBWrites = 8;  // B commits fewer
  const size_t n = members_.size();
  switch (phase_) {
    case Phase::kWaitLeader: {
      if (Now() < 1000) return;
      for (size_t i = 0; i < n; ++i) {
        const Member& m = members_[i];
        if (!m.up || !m.node->IsLeader() || m.node->commit_index() != m.node->last_index()) {
          continue;
        }
        a_ = i;
        a_term_ = m.node->term();
        hold_clients_ = true;
        for (size_t j = 0; j < n; ++j) {
          if (j != a_) net_.Cut(a_, j), net_.Cut(j, a_);
        }
        ++result_.partitions;
        ProposeFiller(a_, kTail);
        if (!members_[a_].up) return;
        tail_end_ = members_[a_].node->last_index();
        Trace("script: leader {} (term {}) isolated with an uncommitted tail to {}", Name(a_),
              a_term_, tail_end_);
        phase_ = Phase::kIsolated;
        return;
      }
      return;
    }
    case Phase::kIsolated:
      for (size_t i = 0; i < n; ++i) {
        const Member& m = members_[i];
        if (i == a_ || !m.up || !m.node->IsLeader() || m.node->term() <= a_term_) continue;
        if (m.node->commit_index() != m.node->last_index()) continue;
        b_ = i;
        ProposeFiller(b_, kBWrites);
        Trace("script: {} leads term {}, commits {} more", Name(b_), m.node->term(), kBWrites);
        phase_ = Phase::kBCommits;
        return;
      }
      return;
    case Phase::kBCommits: {
      const Member& b = members_[b_];
      if (!b.up) {
        phase_ = Phase::kDone, hold_clients_ = false;
        return;
      }
      if (b.node->commit_index() != b.node->last_index()) return;
      if (b.node->last_index() >= tail_end_) {
        Trace("script: {} committed past A's tail ({}): no scenario", Name(b_),
              b.node->last_index());
        phase_ = Phase::kDone, hold_clients_ = false;
        return;
      }
      net_.HealAll();
      a_snapshots_ = members_[a_].up ? members_[a_].node->counters().snapshots : 0;
      Trace("script: heal; {} ends at {}, below {}'s old tail end {}", Name(b_),
            b.node->last_index(), Name(a_), tail_end_);
      phase_ = Phase::kHealed;
      return;
    }
    case Phase::kHealed: {
      const Member& a = members_[a_];
      if (!a.up || Now() > kChaosMs - 1000) {
        Trace("script: {} never snapshotted below its old tail", Name(a_));
        phase_ = Phase::kDone, hold_clients_ = false;
        return;
      }
      uint64_t snapshots = a.node->counters().snapshots;
      bool snapped = snapshots > a_snapshots_;
      a_snapshots_ = snapshots;
      if (!snapped || a.node->term() <= a_term_ ||
          a.node->applied_index() != a.node->last_index() || a.node->last_index() >= tail_end_) {
        return;
      }
      Trace("script: {} snapshotted at {} (below its old tail end {}): power cut", Name(a_),
            a.node->last_index(), tail_end_);
      result_.scripted_crash = true;
      Crash(a_, true, "script: power cut right after a snapshot below the old tail");
      phase_ = Phase::kDone;
      hold_clients_ = false;
      return;
    }
    case Phase::kDone:
      return;
  }
}

// --- clients ---

void StoreSimulation::ClientStep(size_t ci) {
  Client& c = clients_[ci];
  if (c.waiting || Now() < c.next_at) return;
  if (!c.busy) {
    if (clients_stopped_ || hold_clients_) return;
    NewOp(ci);
    if (!c.busy) return;
  }
  Attempt(ci);
}

void StoreSimulation::NewOp(size_t ci) {
  Client& c = clients_[ci];
  // A key whose history is full is replaced by a fresh one (bounded search per key).
  size_t slot = prng_.Below(keys_.size());
  if (ops_per_key_[keys_[slot]] >= kOpsPerKey) {
    keys_[slot] = fmt::format("{}.{}", keys_[slot].substr(0, keys_[slot].find('.')), ops_.size());
    all_keys_.push_back(keys_[slot]);
  }
  std::string key = keys_[slot];
  ++ops_per_key_[key];
  SimOp op;
  op.op.client = ci;
  op.op.key = key;
  op.op.call = Now();
  if (prng_.Chance(0.4)) {
    op.op.kind = ClientOp::Kind::kGet;
  } else if (key[0] == 'c') {
    op.op.kind = ClientOp::Kind::kIncr;
  } else {
    op.op.kind = ClientOp::Kind::kPut;
    op.op.input = std::to_string(prng_.Range(1, 1000000));
    op.typed = ops_.size() % 4 == 1;
  }
  c.op = ops_.size();
  ops_.push_back(std::move(op));
  c.busy = true;
  c.attempts = 0;
}

void StoreSimulation::Retry(size_t ci, int64_t delay_ms, bool elsewhere) {
  Client& c = clients_[ci];
  if (elsewhere) c.target = prng_.Below(members_.size());
  c.next_at = Now() + delay_ms;
}

void StoreSimulation::Finish(size_t ci) {
  Client& c = clients_[ci];
  c.busy = false;
  c.waiting = false;
  c.next_at = Now() + prng_.Range(0, 30);
}

void StoreSimulation::Redirect(size_t ci) {
  Client& c = clients_[ci];
  std::optional<size_t> leader = IndexOf(members_[c.target].node->leader());
  if (leader && *leader != c.target) {
    c.target = *leader;  // -MOVED: go straight to the leader
    c.next_at = Now() + 1;
  } else {
    Retry(ci, prng_.Range(20, 100), prng_.Chance(0.5));  // -TRYAGAIN: back off
  }
}

void StoreSimulation::Attempt(size_t ci) {
  Client& c = clients_[ci];
  SimOp& op = ops_[c.op];
  if (++c.attempts > kMaxAttempts) {
    // Every attempt certainly failed (refused, redirected or TRYAGAIN).
    op.abandoned = true;
    Trace("client {} op {} abandoned after {} attempts", ci, c.op, kMaxAttempts);
    Finish(ci);
    return;
  }
  size_t i = c.target;
  if (!members_[i].up) {
    Retry(ci, 10, true);  // connection refused: certainly not applied
    return;
  }
  store::StoreNode& node = *members_[i].node;
  if (!node.IsLeader()) {
    Redirect(ci);
    return;
  }
  uint64_t token = ++c.token;
  c.waiting = true;
  c.at = i;
  bool started = false;
  if (op.op.kind == ClientOp::Kind::kGet) {
    Guard(i, [&] {
      started = node.StartRead(
          0, [this, ci, token](bool ok, const std::string&) { OnRead(ci, token, ok); });
    });
  } else {
    store::KvCommand command;
    std::string encoded;
    std::vector<std::string> typed;
    if (op.typed) {
      typed = TypedWrite(op.op);
      command.op = store::KvOp::kCommand;
      command.number = 16u << 20;
      command.args.assign(typed.begin(), typed.end());
      if (TransactionsOn() && c.op % 2 == 0) {
        std::string write(1, static_cast<char>(store::TxItemKind::kWrite));
        write.push_back(0);  // WriteReply::kDirect
        store::EncodeKvCommand(command, &write);
        const std::vector<std::string_view> read_args = {"type", typed[1]};
        std::string read = store::EncodeTxArgs(store::TxItemKind::kRead, read_args);
        std::string watches;
        const store::TxWatch watch{typed[1], node.applied_index(), node.ReadTimeMs()};
        store::EncodeTxWatches({&watch, 1}, &watches);
        store::KvCommand exec;
        exec.op = store::KvOp::kExec;
        exec.args = {watches, write, read};
        store::EncodeKvCommand(exec, &encoded);
        command = store::KvCommand{};
      }
    } else if (op.op.kind == ClientOp::Kind::kIncr) {
      command.op = store::KvOp::kIncrBy;
      command.integer = 1;
      command.args = {op.op.key};
    } else {
      command.op = store::KvOp::kSet;
      command.args = {op.op.key, op.op.input};
    }
    if (encoded.empty()) store::EncodeKvCommand(command, &encoded);
    Guard(i, [&] {
      started = node.ProposeWrite(
          std::move(encoded), nullptr,
          [this, ci, token](const store::KvResult* result, uint64_t, const std::string& error) {
            OnWrite(ci, token, result, error);
          });
    });
  }
  if (!started && c.waiting && c.token == token && members_[i].up) {
    c.waiting = false;
    Retry(ci, 20, false);  // not leader any more, or a transfer: certainly not applied
  }
}

void StoreSimulation::OnWrite(size_t ci, uint64_t token, const store::KvResult* result,
                              const std::string& error) {
  Client& c = clients_[ci];
  if (!c.waiting || c.token != token) return;
  c.waiting = false;
  SimOp& op = ops_[c.op];
  if (result != nullptr) {
    if (result->type == store::KvResult::Type::kError) {
      Violation(fmt::format("client {} op {} on {}: unexpected error {}", ci, c.op, op.op.key,
                            result->bulk));
    }
    op.op.ret = Now();
    if (op.op.kind == ClientOp::Kind::kIncr) op.op.output = std::to_string(result->integer);
    if (healed_ && first_success_after_heal_ < 0) first_success_after_heal_ = Now();
    Trace("client {} op {} {} {} {} -> ok {}", ci, c.op, Name(c.at),
          op.typed                              ? TypedWrite(op.op)[0]
          : op.op.kind == ClientOp::Kind::kIncr ? "INCR"
                                                : "SET",
          op.op.key, op.op.output);
    Finish(ci);
  } else if (store::IsUnknownOutcome(error)) {
    ++result_.indeterminate;
    Trace("client {} op {} indeterminate ({})", ci, c.op, error);
    Finish(ci);
  } else {
    Retry(ci, prng_.Range(10, 50), prng_.Chance(0.3));  // TRYAGAIN: certainly not applied
  }
}

void StoreSimulation::OnRead(size_t ci, uint64_t token, bool ok) {
  Client& c = clients_[ci];
  if (!c.waiting || c.token != token) return;
  c.waiting = false;
  if (!ok) {
    Retry(ci, prng_.Range(10, 50), prng_.Chance(0.3));
    return;
  }
  const store::StoreNode& node = *members_[c.at].node;
  SimOp& op = ops_[c.op];
  const store::KvEntry* entry = node.state().Find(op.op.key, node.ReadTimeMs());
  op.op.output = entry ? entry->value : "";
  op.op.ret = Now();
  if (healed_ && first_success_after_heal_ < 0) first_success_after_heal_ = Now();
  Trace("client {} op {} {} GET {} -> '{}'", ci, c.op, Name(c.at), op.op.key, op.op.output);
  Finish(ci);
}

// --- checks ---

bool StoreSimulation::Converged(std::string* why) const {
  uint64_t commit = 0;
  for (const Member& m : members_) {
    if (!m.up) {
      *why = m.config.id + " is down";
      return false;
    }
    commit = std::max(commit, m.node->commit_index());
  }
  const std::string state = members_[0].node->state().Serialize();
  for (const Member& m : members_) {
    if (m.node->applied_index() != commit) {
      *why =
          fmt::format("{} applied {} of commit {}", m.config.id, m.node->applied_index(), commit);
      return false;
    }
    if (m.node->state().Serialize() != state) {
      *why = fmt::format("{} has a different state at index {}", m.config.id, commit);
      return false;
    }
  }
  return true;
}

void StoreSimulation::FinalChecks() {
  // The final value of every key joins the history as a read at the end.
  const store::StoreNode& node = *members_[0].node;
  std::vector<ClientOp> history;
  std::map<std::string, int64_t> acked_incr, unknown_incr;
  for (const SimOp& op : ops_) {
    if (op.abandoned || op.typed) continue;
    // A read that never returned had no effect.
    if (op.op.kind == ClientOp::Kind::kGet && op.op.ret == kNeverReturned) continue;
    history.push_back(op.op);
    if (op.op.kind == ClientOp::Kind::kIncr) {
      ++(op.op.ret == kNeverReturned ? unknown_incr : acked_incr)[op.op.key];
    }
  }
  result_.ops = history.size();
  for (const std::string& key : all_keys_) {
    ClientOp read;
    read.kind = ClientOp::Kind::kGet;
    read.client = clients_.size();
    read.key = key;
    const store::KvEntry* entry = node.state().Find(key, node.ReadTimeMs());
    read.output = entry ? entry->value : "";
    read.call = read.ret = Now();
    history.push_back(read);
    // No acknowledged INCR is lost, and none is applied twice.
    if (key[0] == 'c') {
      int64_t value = read.output.empty() ? 0 : std::stoll(read.output);
      if (value < acked_incr[key] || value > acked_incr[key] + unknown_incr[key]) {
        Violation(fmt::format("counter {} is {} after {} acknowledged and {} indeterminate INCRs",
                              key, value, acked_incr[key], unknown_incr[key]));
      }
    }
  }
  std::string bad_key;
  LinearizabilityResult r = CheckHistory(history, &bad_key);
  if (r == LinearizabilityResult::kViolation) {
    Violation("history of key " + bad_key + " is not linearizable");
    if (trace_) {
      for (const ClientOp& op : history) {
        if (op.key != bad_key) continue;
        Trace("  {} client {} kind {} in '{}' out '{}' [{}, {}]", op.key, op.client,
              static_cast<int>(op.kind), op.input, op.output, op.call,
              op.ret == kNeverReturned ? -1 : op.ret);
      }
    }
  }
  if (r == LinearizabilityResult::kGaveUp) result_.gave_up = true;
}

StoreSimResult StoreSimulation::Run() {
  Setup();
  while (Now() < kChaosMs && !stormed_) Step();
  if (stormed_) return result_;
  HealAll();
  const int64_t heal = Now();
  while (Now() < heal + kClientsStopMs && !stormed_) Step();
  clients_stopped_ = true;
  if (first_success_after_heal_ < 0 || first_success_after_heal_ > heal + kServiceBoundMs) {
    Violation(
        fmt::format("no client operation succeeded within {} ms of the heal", kServiceBoundMs));
  }
  std::string why;
  bool converged = false;
  while (Now() < heal + kConvergeBoundMs && !stormed_) {
    Step();
    bool idle = true;
    for (const Client& c : clients_) idle = idle && !c.busy;
    if (idle && Converged(&why)) {
      converged = true;
      break;
    }
  }
  bool broken = false;
  for (const Member& m : members_) broken = broken || m.broken;
  if (!converged && !broken) {
    if (why.empty()) why = "clients still busy";
    Violation("replicas did not converge after the heal: " + why);
  }
  if (converged) FinalChecks();
  Trace("end: {} messages, {} ops, {} indeterminate, {} crashes, {} partitions, {} violations",
        net_.sent(), result_.ops, result_.indeterminate, result_.crashes, result_.partitions,
        result_.violations.size());
  for (Member& m : members_) {
    if (m.up) result_.slow_disk_transfers += m.node->counters().slow_disk_transfers;
  }
  return result_;
}

}  // namespace

StoreSimResult RunStoreSimulation(uint64_t seed, std::ostream* trace, bool scripted,
                                  bool slow_disks) {
  StoreSimulation sim(seed, trace, scripted || ScriptedSeed(seed), slow_disks);
  return sim.Run();
}

}  // namespace nines::sim
