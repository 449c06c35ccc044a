// iptables rules for isolate/heal, run without a shell (posix_spawn).
#include "up/isolation.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace nines::up {
namespace {

const char* IptablesPath() {
  for (const char* p : {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return nullptr;
}

}  // namespace

int RunIptables(const std::vector<std::string>& args) {
  const char* path = IptablesPath();
  if (!path) return -1;
  std::vector<std::string> all = {"iptables", "-w"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(all.size());
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path, &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Isolation::Isolation(std::string chain) : chain_name_(std::move(chain)) {}

Isolation::~Isolation() {
  // Only what this instance made: an Isolation that never isolated anything
  // (the API tests') must not touch a running `nines up`'s chain.
  std::lock_guard lock(mu_);
  if (chain_) RemoveAllLocked();
}

Status Isolation::Available() {
  if (geteuid() != 0) {
    return Status::FailedPrecondition("isolate needs root (iptables): run nines up as root");
  }
  if (!IptablesPath()) {
    return Status::FailedPrecondition("isolate needs iptables, which is not installed");
  }
  return Status::Ok();
}

Status Isolation::EnsureChain() {
  if (chain_) return Status::Ok();
  RunIptables({"-N", chain_name_});  // fails harmlessly when it exists
  for (const char* hook : {"INPUT", "OUTPUT"}) {
    if (RunIptables({"-C", hook, "-j", chain_name_}) != 0 &&
        RunIptables({"-I", hook, "-j", chain_name_}) != 0) {
      return Status::IoError(std::string("iptables: cannot add the jump from ") + hook + " to " +
                             chain_name_);
    }
  }
  chain_ = true;
  return Status::Ok();
}

Status Isolation::Isolate(const std::string& ip) {
  std::lock_guard lock(mu_);
  if (Status s = Available(); !s.ok()) return s;
  if (Status s = EnsureChain(); !s.ok()) return s;
  if (isolated_.count(ip)) return Status::Ok();
  if (RunIptables({"-A", chain_name_, "-s", ip, "-j", "DROP"}) != 0 ||
      RunIptables({"-A", chain_name_, "-d", ip, "-j", "DROP"}) != 0) {
    return Status::IoError("iptables: cannot add the DROP rules for " + ip);
  }
  isolated_.insert(ip);
  return Status::Ok();
}

Status Isolation::Heal(const std::string& ip) {
  std::lock_guard lock(mu_);
  if (Status s = Available(); !s.ok()) return s;
  // Whatever this process remembers: the rules may be an earlier run's.
  for (const char* dir : {"-s", "-d"}) {
    while (RunIptables({"-D", chain_name_, dir, ip, "-j", "DROP"}) == 0) {
    }
  }
  isolated_.erase(ip);
  if (isolated_.empty()) RemoveAllLocked();
  return Status::Ok();
}

void Isolation::RemoveAll() {
  std::lock_guard lock(mu_);
  RemoveAllLocked();
}

// Unconditional: the chain may be left over from a `nines up` that was killed.
void Isolation::RemoveAllLocked() {
  for (const char* hook : {"INPUT", "OUTPUT"}) {
    while (RunIptables({"-D", hook, "-j", chain_name_}) == 0) {
    }
  }
  RunIptables({"-F", chain_name_});
  RunIptables({"-X", chain_name_});
  isolated_.clear();
  chain_ = false;
}

}  // namespace nines::up
