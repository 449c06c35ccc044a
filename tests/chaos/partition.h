// Network faults between members with iptables: a chain of the run's own
// hooked into INPUT (loopback packets pass INPUT), rules that drop packets
// from one member's address to another's (one way) or both ways. The chain
// is removed at destruction, and a chain left by a killed run is removed first.
#pragma once

#include <string>

namespace nines::chaos {

class Partition {
 public:
  explicit Partition(std::string chain);
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Empty when usable, else why not.
  const std::string& unavailable() const { return unavailable_; }
  // Drops packets from address `from` to address `to`.
  bool DropOneWay(const std::string& from, const std::string& to);
  bool DropBothWays(const std::string& a, const std::string& b);
  bool Heal();
  // Removes the hook and the chain (also done by the destructor).
  void Remove();

 private:
  std::string chain_;
  std::string unavailable_;
};

}  // namespace nines::chaos
