// Ejection bookkeeping on ServerState's atomics. Races between threads can
// at worst eject a server a moment early or late; the guard is re-checked at
// each ejection.
#include "lb/outlier.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

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

namespace {

// Ejects `server` unless the max_ejection_percent guard forbids it. `why` is
// for the log.
bool TryEject(ServerState& server, int64_t now_ms, const OutlierConfig& config,
              const std::vector<std::shared_ptr<ServerState>>& pool, const std::string& why) {
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
  // Back in rotation, the server is judged on fresh samples only.
  server.latency_samples.store(0, std::memory_order_relaxed);
  if (server.ejections) server.ejections->Add();
  LogWarn("lb", "server {} ejected for {} ms after {} (ejection #{})", server.name, duration, why,
          times);
  return true;
}

}  // namespace

bool RecordFailure(ServerState& server, int64_t now_ms, const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool) {
  server.last_failure_ms.store(now_ms, std::memory_order_relaxed);
  int failures = server.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (config.consecutive_failures <= 0 || failures < config.consecutive_failures) return false;
  if (server.Ejected(now_ms)) return false;
  return TryEject(server, now_ms, config, pool, fmt::format("{} consecutive failures", failures));
}

bool RecordLatency(ServerState& server, int64_t latency_ms, int64_t now_ms,
                   const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool) {
  if (config.latency_ms <= 0) return false;
  int64_t sample_us = std::max<int64_t>(0, latency_ms) * 1000;
  int samples = server.latency_samples.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t ewma = server.latency_ewma_us.load(std::memory_order_relaxed);
  ewma = samples == 1 ? sample_us : ewma + (sample_us - ewma) / 8;
  server.latency_ewma_us.store(ewma, std::memory_order_relaxed);
  if (samples < config.latency_min_samples || ewma <= int64_t{config.latency_ms} * 1000) {
    return false;
  }
  if (server.Ejected(now_ms)) return false;

  // The median of the tier's averages (the lower one of an even count), over
  // the servers in rotation with enough samples, this one included.
  bool backup = server.backup.load(std::memory_order_relaxed);
  std::vector<int64_t> averages;
  for (const auto& s : pool) {
    if (s->backup.load(std::memory_order_relaxed) != backup || s->Ejected(now_ms)) continue;
    if (s->latency_samples.load(std::memory_order_relaxed) < config.latency_min_samples) continue;
    averages.push_back(s.get() == &server ? ewma
                                          : s->latency_ewma_us.load(std::memory_order_relaxed));
  }
  if (averages.empty()) return false;
  auto middle = averages.begin() + static_cast<std::ptrdiff_t>((averages.size() - 1) / 2);
  std::nth_element(averages.begin(), middle, averages.end());
  if (ewma <= *middle * config.latency_factor) return false;
  // Slow counts as failing for the backoff: RecordSuccess resets the
  // ejection count only after max_ejection_ms without either.
  server.last_failure_ms.store(now_ms, std::memory_order_relaxed);

  if (!TryEject(server, now_ms, config, pool,
                fmt::format("a time to first byte of {} ms on average (median {} ms)", ewma / 1000,
                            *middle / 1000))) {
    return false;
  }
  server.latency_ejections.fetch_add(1, std::memory_order_relaxed);
  if (server.latency_ejections_counter) server.latency_ejections_counter->Add();
  return true;
}

}  // namespace nines::lb
