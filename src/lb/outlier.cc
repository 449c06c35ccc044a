// Ejection bookkeeping on ServerState's atomics. Races between threads can
// at worst eject a server a moment early or late; the guard is re-checked at
// each ejection.
#include "lb/outlier.h"

#include <algorithm>

#include "base/log.h"

namespace nines::lb {

bool IsGatewayFailure(int status) {
  return status == 502 || status == 503 || status == 504;
}

bool RecordResponse(ServerState& server, int status, int64_t now_ms, const OutlierConfig& config,
                    const std::vector<std::shared_ptr<ServerState>>& pool) {
  if (IsGatewayFailure(status)) return RecordFailure(server, now_ms, config, pool);
  RecordSuccess(server, now_ms, config);
  return false;
}

void RecordSuccess(ServerState& server, int64_t now_ms, const OutlierConfig& config) {
  if (server.consecutive_failures.load(std::memory_order_relaxed) != 0) {
    server.consecutive_failures.store(0, std::memory_order_relaxed);
  }
  // A server that has stayed clean for the longest ejection it could get
  // starts over from the base ejection time.
  if (server.times_ejected.load(std::memory_order_relaxed) > 0 &&
      now_ms - server.last_failure_ms.load(std::memory_order_relaxed) > config.max_ejection_ms) {
    server.times_ejected.store(0, std::memory_order_relaxed);
  }
}

bool RecordFailure(ServerState& server, int64_t now_ms, const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool) {
  server.last_failure_ms.store(now_ms, std::memory_order_relaxed);
  int failures = server.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (config.consecutive_failures <= 0 || failures < config.consecutive_failures) return false;
  if (server.Ejected(now_ms)) return false;

  // The guard holds within the server's tier: primaries (the region's own
  // apps) and backups each keep most of theirs, so failures that are the
  // lb's own (overloaded, its loop late) cannot send all its load away.
  bool backup = server.backup.load(std::memory_order_relaxed);
  int ejected = 0;
  int total = 0;
  for (const auto& s : pool) {
    if (s->backup.load(std::memory_order_relaxed) != backup) continue;
    ++total;
    ejected += s->Ejected(now_ms) ? 1 : 0;
  }
  bool allowed = ejected == 0 || (ejected + 1) * 100 <= config.max_ejection_percent * total;
  if (!allowed) return false;

  int times = server.times_ejected.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t duration = std::min<int64_t>(static_cast<int64_t>(config.base_ejection_ms) * times,
                                       config.max_ejection_ms);
  server.ejected_until_ms.store(now_ms + duration, std::memory_order_relaxed);
  server.consecutive_failures.store(0, std::memory_order_relaxed);
  if (server.ejections) server.ejections->Add();
  LogWarn("lb", "server {} ejected for {} ms after {} consecutive failures (ejection #{})",
          server.name, duration, failures, times);
  return true;
}

}  // namespace nines::lb
