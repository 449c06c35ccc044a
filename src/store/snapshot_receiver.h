// A snapshot arriving from the leader in chunks (see peer_frame.h): staged in
// the snapshot directory as incoming-<n>.part, each chunk checked for its
// offset and crc32c, and read back and verified against the total size and
// crc32c before anyone sees it. An unfinished stream leaves no file behind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/file.h"

namespace nines::store {

class SnapshotReceiver {
 public:
  SnapshotReceiver(FileSystem* fs, std::string dir, uint64_t max_bytes);
  ~SnapshotReceiver();  // aborts an unfinished stream
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  // Starts a stream of total bytes with crc32c crc (aborting any other).
  Status Begin(uint64_t total, uint32_t crc);
  // The next chunk: offset must be the bytes received so far.
  Status Add(uint64_t offset, std::string_view bytes, uint32_t chunk_crc);
  bool active() const { return file_ != nullptr; }
  bool complete() const { return active() && received_ == total_; }
  // Reads the complete stream back, verifies it and removes the file.
  Status Finish(std::string* content);
  // Drops the stream and its file.
  void Abort();

  const std::string& path() const { return path_; }

 private:
  FileSystem* fs_;
  std::string dir_;
  uint64_t max_bytes_;
  std::unique_ptr<File> file_;
  std::string path_;
  uint64_t total_ = 0;
  uint32_t crc_ = 0;
  uint64_t received_ = 0;
};

// Removes incoming-*.part files a crash left in dir.
Status RemoveIncomingSnapshots(FileSystem* fs, const std::string& dir);

}  // namespace nines::store
