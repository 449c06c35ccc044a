// Staging of chunked incoming snapshots; see snapshot_receiver.h.
#include "store/snapshot_receiver.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>

#include "store/crc32c.h"

namespace nines::store {
namespace {

constexpr std::string_view kPrefix = "incoming-";
constexpr std::string_view kSuffix = ".part";

std::string NextName() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}{}-{}{}", kPrefix, ::getpid(), ++counter, kSuffix);
}

}  // namespace

SnapshotReceiver::SnapshotReceiver(FileSystem* fs, std::string dir, uint64_t max_bytes)
    : fs_(fs), dir_(std::move(dir)), max_bytes_(max_bytes) {}

SnapshotReceiver::~SnapshotReceiver() {
  Abort();
}

Status SnapshotReceiver::Begin(uint64_t total, uint32_t crc) {
  Abort();
  if (total > max_bytes_) {
    return Status::InvalidArgument(
        fmt::format("incoming snapshot of {} bytes is over the limit of {}", total, max_bytes_));
  }
  Status s = fs_->CreateDirs(dir_);
  if (!s.ok()) return s;
  path_ = JoinPath(dir_, NextName());
  s = fs_->Create(path_, &file_);
  if (!s.ok()) {
    file_.reset();
    return s;
  }
  total_ = total;
  crc_ = crc;
  received_ = 0;
  return Status::Ok();
}

Status SnapshotReceiver::Add(uint64_t offset, std::string_view bytes, uint32_t chunk_crc) {
  if (!active()) return Status::Corruption("snapshot chunk without a stream");
  if (offset != received_) {
    return Status::Corruption(
        fmt::format("snapshot chunk at offset {}, expected {}", offset, received_));
  }
  if (bytes.empty() || bytes.size() > total_ - received_) {
    return Status::Corruption(
        fmt::format("snapshot chunk of {} bytes at {} of {}", bytes.size(), offset, total_));
  }
  if (crc32c::Value(bytes) != chunk_crc) {
    return Status::Corruption(
        fmt::format("snapshot chunk at offset {}: checksum mismatch", offset));
  }
  Status s = file_->Append(bytes);
  if (!s.ok()) return s;
  received_ += bytes.size();
  return Status::Ok();
}

Status SnapshotReceiver::Finish(std::string* content) {
  if (!complete()) return Status::Corruption("snapshot stream is not complete");
  Status s = file_->Close();
  file_.reset();
  if (s.ok()) s = fs_->ReadAll(path_, max_bytes_, content);
  if (s.ok() && content->size() != total_) {
    s = Status::Corruption(
        fmt::format("staged snapshot has {} bytes, expected {}", content->size(), total_));
  }
  if (s.ok() && crc32c::Value(*content) != crc_) {
    s = Status::Corruption("staged snapshot: checksum mismatch");
  }
  (void)fs_->Remove(path_);  // best effort: a leftover is removed at start
  path_.clear();
  if (!s.ok()) content->clear();
  return s;
}

void SnapshotReceiver::Abort() {
  if (!file_) return;
  (void)file_->Close();
  file_.reset();
  (void)fs_->Remove(path_);  // best effort: a leftover is removed at start
  path_.clear();
}

Status RemoveIncomingSnapshots(FileSystem* fs, const std::string& dir) {
  std::vector<std::string> names;
  Status s = fs->List(dir, &names);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    if (name.starts_with(kPrefix) && name.ends_with(kSuffix)) {
      s = fs->Remove(JoinPath(dir, name));
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace nines::store
