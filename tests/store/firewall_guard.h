// Test helper: an iptables chain of the test's own, hooked into INPUT
// (loopback packets pass INPUT), to cut members on 127.0.x.y addresses apart.
// The destructor removes the hook and the chain even when an assertion failed.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace nines::test {

class FirewallGuard {
 public:
  // Empty string when usable, else why not (the test skips).
  static std::string Unavailable() {
    if (::geteuid() != 0) return "not root: iptables rules need root";
    if (!Run("command -v iptables")) return "iptables is not installed";
    if (!Run("iptables -w -L INPUT -n")) return "iptables does not work here (no netfilter?)";
    return "";
  }
  explicit FirewallGuard(std::string chain) : chain_(std::move(chain)) {
    Remove();  // a chain left over from a killed run
    ok_ = Run("iptables -w -N " + chain_) && Run("iptables -w -I INPUT -j " + chain_);
  }
  ~FirewallGuard() { Remove(); }
  bool ok() const { return ok_; }
  // Drops packets between a and b, both ways.
  bool Cut(const std::string& a, const std::string& b) {
    return Run("iptables -w -A " + chain_ + " -s " + a + " -d " + b + " -j DROP") &&
           Run("iptables -w -A " + chain_ + " -s " + b + " -d " + a + " -j DROP");
  }
  bool Heal() { return Run("iptables -w -F " + chain_); }

 private:
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }
  void Remove() {
    while (Run("iptables -w -D INPUT -j " + chain_)) {
    }
    Run("iptables -w -F " + chain_);
    Run("iptables -w -X " + chain_);
  }
  std::string chain_;
  bool ok_ = false;
};

}  // namespace nines::test
