// The in-process snapshot runners; see snapshot_runner.h.
#include "store/snapshot_runner.h"

#include <utility>

namespace nines::store {

Status InlineSnapshotRunner::Start(SnapshotJob job) {
  std::string content = job.serialize();
  outcome_ = job.write(content);
  return Status::Ok();
}

std::optional<Status> InlineSnapshotRunner::Poll() {
  std::optional<Status> outcome = std::move(outcome_);
  outcome_.reset();
  return outcome;
}

Status ManualSnapshotRunner::Start(SnapshotJob job) {
  if (pending_) return Status::InvalidArgument("a snapshot is already being written");
  pending_ = Pending{job.serialize(), std::move(job.write)};
  outcome_.reset();
  ++started_;
  return Status::Ok();
}

std::optional<Status> ManualSnapshotRunner::Poll() {
  std::optional<Status> outcome = std::move(outcome_);
  outcome_.reset();
  return outcome;
}

bool ManualSnapshotRunner::RunPending() {
  if (!pending_) return false;
  // Taken out first: the write may throw (a simulated power cut).
  Pending job = std::move(*pending_);
  pending_.reset();
  outcome_ = job.write(job.content);
  return true;
}

void ManualSnapshotRunner::Abandon() {
  pending_.reset();
  outcome_.reset();
}

}  // namespace nines::store
