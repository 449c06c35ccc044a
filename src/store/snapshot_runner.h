// Where a member's periodic snapshot is serialized and written: away from the
// Raft loop (docs/store.md, "Snapshots"). The loop hands a SnapshotJob to a
// SnapshotRunner and polls it; only once the job reports the file durable does
// the loop mark the snapshot in the WAL and compact. ForkSnapshotRunner
// (fork_snapshot_runner.h) runs the job in a child process, as Redis's BGSAVE
// does; the runners here run it in the calling process: at once
// (InlineSnapshotRunner, for a file system that lives in this process's
// memory) or when their owner says so (ManualSnapshotRunner: the simulator's
// scheduler and tests decide when the "background" write happens).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nines::store {

struct SnapshotJob {
  // The snapshot content of the state as it is when the job starts.
  std::function<std::string()> serialize;
  // Writes the content durably (file fsync, rename, directory fsync).
  std::function<Status(std::string_view content)> write;
};

class SnapshotRunner {
 public:
  virtual ~SnapshotRunner() = default;
  // Starts the job (at most one at a time); an error means it did not start.
  virtual Status Start(SnapshotJob job) = 0;
  // The job's outcome once it has finished (reported once), nullopt while it runs
  // or when there is none.
  virtual std::optional<Status> Poll() = 0;
  virtual bool running() const = 0;
  // Stops a running job without waiting for its outcome (shutdown).
  virtual void Abandon() = 0;
};

// Runs the whole job inside Start.
class InlineSnapshotRunner : public SnapshotRunner {
 public:
  Status Start(SnapshotJob job) override;
  std::optional<Status> Poll() override;
  bool running() const override { return false; }
  void Abandon() override { outcome_.reset(); }

 private:
  std::optional<Status> outcome_;
};

// Serializes in Start (the point-in-time view) and writes when RunPending is
// called: deterministic, for the simulator and tests.
class ManualSnapshotRunner : public SnapshotRunner {
 public:
  Status Start(SnapshotJob job) override;
  std::optional<Status> Poll() override;
  bool running() const override { return pending_.has_value(); }
  void Abandon() override;

  // Writes the pending job's file now (false: none pending).
  bool RunPending();
  uint64_t started() const { return started_; }

 private:
  struct Pending {
    std::string content;
    std::function<Status(std::string_view)> write;
  };
  std::optional<Pending> pending_;
  std::optional<Status> outcome_;
  uint64_t started_ = 0;
};

}  // namespace nines::store
