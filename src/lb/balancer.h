// Choosing a server for a request. The pool is an immutable snapshot built
// on start and on each reload; workers pick from it without locks.
// Primaries share traffic (active-active); backups take traffic only when no
// primary can (active-passive). Retries pass the servers already tried.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lb/hash_ring.h"
#include "lb/lb_config.h"
#include "lb/server_state.h"

namespace nines::lb {

struct ServerPool {
  std::vector<std::shared_ptr<ServerState>> servers;
  std::vector<int> primaries;
  std::vector<int> backups;
  std::vector<int> rr_primaries;  // smooth weighted round-robin schedules
  std::vector<int> rr_backups;
  HashRing ring_primaries;
  HashRing ring_backups;
  BalanceMode mode = BalanceMode::kLeastConn;
  std::string hash_header;
  // Panic routing (Envoy's healthy_panic_threshold): while fewer than this
  // percent of the pool's servers are healthy (up and not ejected), passive
  // ejections are ignored. Active checks still rule. 0: never.
  int panic_threshold = 50;
  Counter* panic_picks = nullptr;  // picks made in panic (may be null)
};

std::shared_ptr<ServerPool> BuildServerPool(std::vector<std::shared_ptr<ServerState>> servers,
                                            BalanceMode mode, std::string hash_header);

// Per-worker mutable inputs to a pick.
struct PickState {
  uint64_t rr_counter = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ull;  // xorshift state, seeded per worker
};

struct PickRequest {
  int64_t now_ms = 0;
  uint64_t key_hash = 0;       // for hash modes
  const int* tried = nullptr;  // servers already tried for this request
  int tried_count = 0;
};

// Requests in flight to the pool's servers.
int InFlight(const ServerPool& pool);

// True while too few of the pool's servers are healthy: see panic_threshold.
bool InPanic(const ServerPool& pool, int64_t now_ms);

// Returns the index in pool.servers of the chosen server, or -1 if none can
// take the request (down, draining, ejected outside panic, tried, or at
// max_conn). The healthy share that decides panic counts backups too.
int PickServer(const ServerPool& pool, const PickRequest& request, PickState* state);

// True if some untried server could take the request but for its max_conn:
// the request should wait in the queue rather than fail.
bool AnyServerBusy(const ServerPool& pool, const PickRequest& request);

// Smooth weighted round-robin order (nginx's algorithm) for testing.
std::vector<int> SmoothWeightedSchedule(const std::vector<int>& ids,
                                        const std::vector<int>& weights);

}  // namespace nines::lb
