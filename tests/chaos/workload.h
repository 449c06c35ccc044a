// The chaos run's clients: threads that read, write and compare-and-set
// registers (over RESP and HTTP), INCR counters (RESP) and run typed
// MULTI/EXEC transactions (RESP, typed_group.h), against any member, each operation bounded by a
// timeout and recorded with its outcome. Every write writes a value no other write writes, so a
// value names its write. Some keys are written with a long TTL: none may expire during the run.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster.h"
#include "history.h"

namespace nines::chaos {

struct WorkloadOptions {
  int register_clients = 6;  // even: RESP, odd: HTTP
  int counter_clients = 2;
  int typed_clients = 2;
  int timeout_ms = 3000;  // per operation (the members give up on a write after 1.5 s)
  uint64_t seed = 1;
  // TTL of the 'e' keys' RESP writes: longer than the run.
  int64_t ttl_ms = 3600 * 1000;
};

struct WorkloadCounts {
  uint64_t ok = 0, failed = 0, unknown = 0;
  uint64_t unexpected = 0;  // replies the client did not expect (logged)
};

class Workload {
 public:
  Workload(const Cluster& cluster, WorkloadOptions options);
  ~Workload();
  void Start();
  void Stop();
  // After Stop: every operation, in no particular order.
  std::vector<Op> History() const;
  WorkloadCounts Counts() const;
  // Linearizable reads of every key the run touched, retried until each
  // answers or `timeout_ms` passes; keys that never answered are listed.
  std::vector<Op> FinalReads(int timeout_ms, std::vector<std::string>* unread) const;
  // Microseconds since the workload was created (the history's clock).
  int64_t NowUs() const;

 private:
  void RegisterClient(int id);
  void CounterClient(int id);
  void TypedClient(int id);
  void NoteUnexpected(const std::string& what);
  void Record(Op op);

  const Cluster& cluster_;
  WorkloadOptions options_;
  int64_t epoch_us_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> register_ops_{0};
  std::atomic<uint64_t> counter_ops_{0};
  std::atomic<uint64_t> typed_ops_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<Op> history_;
  WorkloadCounts counts_;
};

}  // namespace nines::chaos
