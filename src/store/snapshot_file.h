// Snapshot files: the whole state machine at a log index, written atomically
// (temp file, fsync, rename, fsync of the directory) and verified on load.
//
//   name:   snap-<index, 16 hex digits>-<term, 16 hex digits>.snap
//   header: magic "NINESNAP" (8) | version u32 | index u64 | term u64 |
//           content length u64 | masked crc32c of the content u32 |
//           masked crc32c of the previous 40 header bytes u32
//   then the content (opaque bytes: KvState::Serialize's output).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/file.h"

namespace nines::store {

struct SnapshotMeta {
  uint64_t index = 0;  // last log index the snapshot covers
  uint64_t term = 0;   // term of that entry
};

struct SnapshotFileInfo {
  SnapshotMeta meta;
  std::string path;
};

constexpr size_t kSnapshotHeaderSize = 8 + 4 + 8 + 8 + 8 + 4 + 4;

std::string SnapshotFileName(const SnapshotMeta& meta);

// Writes the snapshot atomically into dir: after this returns ok the file is
// durable under its final name; a crash before leaves at most a *.tmp file.
Status WriteSnapshot(FileSystem* fs, const std::string& dir, const SnapshotMeta& meta,
                     std::string_view content);

// Reads and verifies one snapshot file (magic, checksums, length, name).
Status LoadSnapshot(FileSystem* fs, const std::string& path, uint64_t max_bytes, SnapshotMeta* meta,
                    std::string* content);

// A snapshot file opened to stream its content in pieces (to a follower):
// the header is read and verified at open; the content's crc32c is the
// header's, for the receiver to check the whole stream against.
struct SnapshotStreamSource {
  SnapshotMeta meta;
  uint64_t content_bytes = 0;
  uint32_t content_crc = 0;  // crc32c of the content (unmasked)
  std::shared_ptr<ReadableFile> file;
  // Reads content bytes [offset, offset + n).
  Status ReadContent(uint64_t offset, size_t n, std::string* out) const;
};
Status OpenSnapshotStream(FileSystem* fs, const std::string& path, SnapshotStreamSource* source);

// Snapshot files in dir, oldest (lowest index) first. Ignores other files.
Status ListSnapshots(FileSystem* fs, const std::string& dir, std::vector<SnapshotFileInfo>* out);

// Loads the newest snapshot. found=false (and ok) when there is none. A
// damaged newest snapshot is an error naming the file: falling back to an
// older one could silently skip entries that compaction already deleted.
Status LoadLatestSnapshot(FileSystem* fs, const std::string& dir, uint64_t max_bytes,
                          SnapshotMeta* meta, std::string* content, bool* found);

// After `newest` was written and marked in the WAL: deletes every snapshot
// file newer than it or of its index but another term (leftovers whose
// marker never reached the WAL: no recovery can use them), then keeps the
// newest `keep` (keep >= 1; `newest` always among them) and deletes older
// ones and any leftover *.tmp files from interrupted writes.
Status RemoveOldSnapshots(FileSystem* fs, const std::string& dir, const SnapshotMeta& newest,
                          size_t keep);

}  // namespace nines::store
