// iptables rules in the chaos run's own chain.
#include "partition.h"

#include <unistd.h>

#include <cstdlib>

namespace nines::chaos {
namespace {

bool Run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

Partition::Partition(std::string chain) : chain_(std::move(chain)) {
  if (::geteuid() != 0) {
    unavailable_ = "not root: no iptables partitions";
  } else if (!Run("command -v iptables")) {
    unavailable_ = "iptables is not installed: no partitions";
  } else {
    Remove();  // a chain left over from a killed run
    if (!Run("iptables -w -N " + chain_) || !Run("iptables -w -I INPUT -j " + chain_)) {
      unavailable_ = "iptables does not work here: no partitions";
      Remove();
    }
  }
}

Partition::~Partition() {
  Remove();
}

bool Partition::DropOneWay(const std::string& from, const std::string& to) {
  if (!unavailable_.empty()) return false;
  return Run("iptables -w -A " + chain_ + " -s " + from + " -d " + to + " -j DROP");
}

bool Partition::DropBothWays(const std::string& a, const std::string& b) {
  return DropOneWay(a, b) && DropOneWay(b, a);
}

bool Partition::Heal() {
  return unavailable_.empty() && Run("iptables -w -F " + chain_);
}

void Partition::Remove() {
  if (::geteuid() != 0) return;
  while (Run("iptables -w -D INPUT -j " + chain_)) {
  }
  Run("iptables -w -F " + chain_);
  Run("iptables -w -X " + chain_);
}

}  // namespace nines::chaos
