// Runs a snapshot job in a forked child, as Redis's BGSAVE does: fork()
// gives the child a copy-on-write, point-in-time view of the whole state for
// the cost of copying page tables, so the Raft loop goes on applying writes
// while the child serializes the state and writes and fsyncs the file. The
// parent polls with waitpid (WNOHANG) and reads the child's error text, if
// any, from a pipe. The child dies with its parent (PR_SET_PDEATHSIG), so a
// crashed member leaves no writer behind to race its successor.
//
// The child closes every inherited descriptor but its pipe first, so the
// parent's sockets close when the parent closes them.
//
// What the child may touch: it is a copy of a multithreaded process with only
// the forking thread in it. glibc makes malloc usable there (it resets its
// arena locks around fork); the job only reads the state, allocates and makes
// plain system calls (open, write, fdatasync, rename, fsync). It must not log
// (the logger's mutex may be held by a thread that does not exist in the
// child), nor touch sockets or Asio; it leaves with _exit, so no atexit
// handler or stdio buffer of the parent runs twice; and no signal handler of
// the parent's runs in it (signals are blocked across the fork, and the
// child sets every caught signal back to its default action first).
#pragma once

#include <sys/types.h>

#include <optional>

#include "store/snapshot_runner.h"

namespace nines::store {

class ForkSnapshotRunner : public SnapshotRunner {
 public:
  ForkSnapshotRunner() = default;
  ~ForkSnapshotRunner() override;  // abandons a running child
  ForkSnapshotRunner(const ForkSnapshotRunner&) = delete;
  ForkSnapshotRunner& operator=(const ForkSnapshotRunner&) = delete;

  Status Start(SnapshotJob job) override;
  std::optional<Status> Poll() override;
  bool running() const override { return child_ > 0; }
  // Kills the child (SIGKILL) and reaps it; its *.tmp file is left for
  // RemoveOldSnapshots.
  void Abandon() override;

 private:
  pid_t child_ = -1;
  int error_pipe_ = -1;  // read end: the child's error text
};

}  // namespace nines::store
