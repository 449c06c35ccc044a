// Balancing algorithms: round robin (smooth weighted), least connections,
// power of two choices, and consistent hashing on the client IP or a header.
#include "lb/balancer.h"

#include <algorithm>

namespace nines::lb {

std::vector<int> SmoothWeightedSchedule(const std::vector<int>& ids,
                                        const std::vector<int>& weights) {
  std::vector<int> schedule;
  int total = 0;
  for (int w : weights) total += w;
  std::vector<int> current(ids.size(), 0);
  for (int step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    schedule.push_back(ids[best]);
  }
  return schedule;
}

std::shared_ptr<ServerPool> BuildServerPool(std::vector<std::shared_ptr<ServerState>> servers,
                                            BalanceMode mode, std::string hash_header) {
  auto pool = std::make_shared<ServerPool>();
  pool->servers = std::move(servers);
  pool->mode = mode;
  pool->hash_header = std::move(hash_header);
  std::vector<int> primary_weights, backup_weights;
  std::vector<std::string_view> primary_names, backup_names;
  for (int i = 0; i < static_cast<int>(pool->servers.size()); ++i) {
    const ServerState& s = *pool->servers[i];
    if (s.backup.load()) {
      pool->backups.push_back(i);
      backup_weights.push_back(s.weight.load());
      backup_names.push_back(s.name);
    } else {
      pool->primaries.push_back(i);
      primary_weights.push_back(s.weight.load());
      primary_names.push_back(s.name);
    }
  }
  pool->rr_primaries = SmoothWeightedSchedule(pool->primaries, primary_weights);
  pool->rr_backups = SmoothWeightedSchedule(pool->backups, backup_weights);
  if (mode == BalanceMode::kHashIp || mode == BalanceMode::kHashHeader) {
    pool->ring_primaries.Build(pool->primaries, primary_names, primary_weights);
    pool->ring_backups.Build(pool->backups, backup_names, backup_weights);
  }
  return pool;
}

namespace {

uint64_t NextRandom(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

bool WasTried(const PickRequest& r, int id) {
  for (int i = 0; i < r.tried_count; ++i) {
    if (r.tried[i] == id) return true;
  }
  return false;
}

// Load per unit of weight, compared without division.
bool LessLoaded(const ServerState& a, const ServerState& b) {
  int64_t la = static_cast<int64_t>(a.active_requests.load(std::memory_order_relaxed)) *
               b.weight.load(std::memory_order_relaxed);
  int64_t lb = static_cast<int64_t>(b.active_requests.load(std::memory_order_relaxed)) *
               a.weight.load(std::memory_order_relaxed);
  return la < lb;
}

// Which servers may take a request: normally the available ones; in panic
// the ejected ones too; failing open (every server down by its active check)
// every server in the pool (not draining or disabled).
enum class Admit { kAvailable, kIgnoreEjection, kIgnoreHealth };

bool Takes(const ServerState& s, int64_t now_ms, Admit admit) {
  switch (admit) {
    case Admit::kAvailable:
      return s.Available(now_ms);
    case Admit::kIgnoreEjection:
      return s.InRotation();
    case Admit::kIgnoreHealth:
      return s.InPool();
  }
  return false;
}

// True when the pool has servers and the active check fails on all of them.
bool EveryServerDown(const ServerPool& pool) {
  bool any = false;
  for (const auto& s : pool.servers) {
    if (!s->InPool()) continue;
    if (s->InRotation()) return false;
    any = true;
  }
  return any;
}

Admit AdmitNow(const ServerPool& pool, int64_t now_ms) {
  if (!InPanic(pool, now_ms)) return Admit::kAvailable;
  return EveryServerDown(pool) ? Admit::kIgnoreHealth : Admit::kIgnoreEjection;
}

int PickFrom(const ServerPool& pool, const std::vector<int>& group, const std::vector<int>& rr,
             const HashRing& ring, const PickRequest& r, Admit admit, PickState* state) {
  auto usable = [&](int id) {
    const ServerState& s = *pool.servers[id];
    return Takes(s, r.now_ms, admit) && s.HasCapacity() && !WasTried(r, id);
  };
  switch (pool.mode) {
    case BalanceMode::kRoundRobin: {
      if (rr.empty()) return -1;
      // Continue after the server chosen, so skipping an unusable one does
      // not hand its turns to its neighbour.
      uint64_t start = state->rr_counter;
      for (size_t n = 0; n < rr.size(); ++n) {
        int id = rr[(start + n) % rr.size()];
        if (usable(id)) {
          state->rr_counter = start + n + 1;
          return id;
        }
      }
      return -1;
    }
    case BalanceMode::kLeastConn: {
      // Start at a rotating offset so ties spread instead of piling on the first.
      int best = -1;
      size_t n = group.size();
      uint64_t start = state->rr_counter++;
      for (size_t k = 0; k < n; ++k) {
        int id = group[(start + k) % n];
        if (!usable(id)) continue;
        if (best < 0 || LessLoaded(*pool.servers[id], *pool.servers[best])) best = id;
      }
      return best;
    }
    case BalanceMode::kPowerOfTwo: {
      // Two distinct random candidates among the usable servers, whatever
      // their number; the less loaded one wins. Counted first, then found
      // by rank, so the pick allocates nothing.
      int count = 0;
      for (int id : group) count += usable(id) ? 1 : 0;
      if (count == 0) return -1;
      int i = static_cast<int>(NextRandom(&state->rng) % count);
      int j = i;
      if (count > 1) {
        j = static_cast<int>(NextRandom(&state->rng) % (count - 1));
        if (j >= i) ++j;
      }
      int a = -1, b = -1;
      int rank = 0;
      for (int id : group) {
        if (!usable(id)) continue;
        if (rank == i) a = id;
        if (rank == j) b = id;
        ++rank;
      }
      // A server that became unusable between the two passes (another
      // thread) leaves its rank unfilled; the other candidate stands.
      if (a < 0) return b;
      if (b < 0) return a;
      return LessLoaded(*pool.servers[b], *pool.servers[a]) ? b : a;
    }
    case BalanceMode::kHashIp:
    case BalanceMode::kHashHeader:
      return ring.Find(r.key_hash, usable);
  }
  return -1;
}

}  // namespace

int InFlight(const ServerPool& pool) {
  int n = 0;
  for (const auto& s : pool.servers) n += s->active_requests.load(std::memory_order_relaxed);
  return n;
}

bool InPanic(const ServerPool& pool, int64_t now_ms) {
  if (pool.panic_threshold <= 0) return false;
  int in_pool = 0;
  int healthy = 0;
  for (const auto& s : pool.servers) {
    if (!s->InPool()) continue;
    ++in_pool;
    healthy += s->Available(now_ms) ? 1 : 0;
  }
  return in_pool > 0 && healthy * 100 < pool.panic_threshold * in_pool;
}

bool AnyServerBusy(const ServerPool& pool, const PickRequest& request) {
  Admit admit = AdmitNow(pool, request.now_ms);
  for (int id = 0; id < static_cast<int>(pool.servers.size()); ++id) {
    const ServerState& s = *pool.servers[id];
    if (Takes(s, request.now_ms, admit) && !s.HasCapacity() && !WasTried(request, id)) return true;
  }
  return false;
}

int PickServer(const ServerPool& pool, const PickRequest& request, PickState* state) {
  Admit admit = AdmitNow(pool, request.now_ms);
  int id =
      PickFrom(pool, pool.primaries, pool.rr_primaries, pool.ring_primaries, request, admit, state);
  if (id < 0) {
    id = PickFrom(pool, pool.backups, pool.rr_backups, pool.ring_backups, request, admit, state);
  }
  if (id >= 0 && admit != Admit::kAvailable && pool.panic_picks) pool.panic_picks->Add();
  return id;
}

}  // namespace nines::lb
