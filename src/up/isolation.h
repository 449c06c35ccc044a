// Network isolation of one node with iptables: every packet to or from the
// node's loopback address is dropped, by rules in a chain of our own
// (NINES-UP) jumped to from INPUT and OUTPUT. The chain is removed on heal of
// the last node, and when `nines up` starts (a killed run's leftovers) and exits.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace nines::up {

inline constexpr const char* kIptablesChain = "NINES-UP";

class Isolation {
 public:
  // `chain`: the iptables chain used (tests pass their own).
  explicit Isolation(std::string chain = kIptablesChain);
  ~Isolation();
  // Ok, or why not: FailedPrecondition (not root, no iptables) or IoError
  // (iptables failed).
  Status Isolate(const std::string& ip);
  Status Heal(const std::string& ip);
  // Removes the chain and the jumps to it, also when an earlier `nines up`
  // (killed before it could clean up) made them: called at start and at exit.
  void RemoveAll();

 private:
  Status Available();
  Status EnsureChain();
  void RemoveAllLocked();

  const std::string chain_name_;
  std::mutex mu_;
  std::set<std::string> isolated_;
  bool chain_ = false;
};

// Runs iptables with `args` (no shell), output discarded; returns its exit
// status, or -1 when it could not run.
int RunIptables(const std::vector<std::string>& args);

}  // namespace nines::up
