// The nemesis of the chaos run: one fault at a time, chosen by a seeded
// generator, held a few seconds, then healed: SIGKILL and restart, SIGSTOP and
// SIGCONT, a member cut off both ways, a one-way cut, a wall-clock jump
// (libfaketime), a full disk. Every kind once per round, in a seeded order;
// leaders are picked as targets more often.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "cluster.h"
#include "partition.h"

namespace nines::chaos {

class Nemesis {
 public:
  // `log` receives one line per fault and heal.
  Nemesis(Cluster& cluster, Partition& partition, uint64_t seed,
          std::function<void(const std::string&)> log);
  ~Nemesis();
  void Start();
  // Stops after the current fault and heals everything.
  void Stop();
  // Faults injected, by name.
  std::map<std::string, int> counts() const;
  // Members that exited without being killed (restarted at the heal).
  int exits() const { return exits_; }

 private:
  void Run();
  bool SleepMs(int64_t ms);  // false when stopped
  void Heal();

  Cluster& cluster_;
  Partition& partition_;
  uint64_t seed_;
  std::function<void(const std::string&)> log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
  std::atomic<int> exits_{0};
};

}  // namespace nines::chaos
