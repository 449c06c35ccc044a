// The segmented write-ahead log: recovery at open, appends (single or
// batched), durable Sync, rolling to a new segment at a size limit, and
// compaction that deletes whole segments covered by a snapshot.
//
// Recovery rules (docs/store.md):
//  - segments are read in number order and must be consecutive;
//  - a bad or incomplete record at the end of the LAST segment, with no valid
//    record after it, is a torn tail: it is truncated, logged as a warning and
//    reported in WalRecoveryReport (bytes dropped);
//  - any other bad record, header or gap is corruption: Open fails with an
//    error naming the file and the byte offset, and nothing is served.
//
// Errors: the first failed Append or Sync (disk full, EIO) is sticky. The WAL
// refuses everything afterwards, because after a failed fsync the state of
// the page cache is unknown; the member must restart and recover.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/file.h"
#include "store/wal_writer.h"

namespace nines::store {

// The default limit on one record's payload.
inline constexpr uint32_t kDefaultMaxRecordBytes = 64u << 20;

struct WalOptions {
  // A segment is rolled when the next write would take it past this size
  // (a single batch larger than this gets a segment of its own).
  uint64_t segment_bytes = 64ull << 20;
  // Largest payload of one record; larger appends fail, larger records on
  // disk are corruption.
  uint32_t max_record_bytes = kDefaultMaxRecordBytes;
  // Called whenever a new segment is started (on a roll, and when Open has to
  // start a fresh one): records added here are written first in it. The Raft integration re-writes
  // its hard state here so compaction never deletes the only copy of it.
  std::function<void(WalBatch* preamble)> segment_preamble;
};

struct WalRecoveryReport {
  size_t segments = 0;
  uint64_t records = 0;
  uint64_t dropped_bytes = 0;  // torn tail removed (0 if none)
  std::string torn_file;       // where the torn tail was, if any
  uint64_t torn_offset = 0;
  std::string torn_reason;
  // Where the record being handed to on_record is (file path, byte offset),
  // so the caller can name it in an error.
  std::string record_file;
  uint64_t record_offset = 0;
};

struct WalSegmentInfo {
  uint64_t number = 0;
  uint64_t max_index = 0;  // largest record index tag in the segment
  uint64_t bytes = 0;
};

class Wal {
 public:
  using RecordCallback = std::function<Status(uint64_t index, std::string_view payload)>;

  // Recovers the log in dir (created if missing), calling on_record for every
  // record in order (an error from it aborts Open), and opens it for appending.
  static Status Open(FileSystem* fs, const std::string& dir, WalOptions options,
                     const RecordCallback& on_record, std::unique_ptr<Wal>* wal,
                     WalRecoveryReport* report);

  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Writes one record to the OS (not yet durable: call Sync).
  Status Append(uint64_t index, std::string_view payload);
  // Writes all records of the batch with one write, in one segment; a batch
  // larger than a segment is split between records over several segments
  // (each piece one write; a crash keeps a prefix of the batch, as a torn
  // tail does).
  Status Write(const WalBatch& batch);
  // Makes everything written so far durable (fdatasync).
  Status Sync();
  // Deletes the oldest segments while every record in them has an index tag
  // <= covered_index (the snapshot's index). Never deletes the active segment.
  Status Compact(uint64_t covered_index, size_t* removed_segments = nullptr);
  // Closes the active segment without syncing it.
  Status Close();

  const std::vector<WalSegmentInfo>& segments() const { return segments_; }
  const std::string& dir() const { return dir_; }
  // The sticky error, if an Append or Sync failed.
  const Status& failure() const { return failure_; }

 private:
  Wal(FileSystem* fs, std::string dir, WalOptions options);
  Status Recover(const RecordCallback& on_record, WalRecoveryReport* report);
  Status StartSegment(uint64_t number);
  Status RollIfNeeded(uint64_t incoming_bytes);
  Status WriteEncoded(const WalBatch& batch);
  Status WriteEncoded(std::string_view records, uint64_t max_index);
  Status WriteSplit(const WalBatch& batch);
  Status Fail(Status status);

  FileSystem* fs_;
  std::string dir_;
  WalOptions options_;
  std::vector<WalSegmentInfo> segments_;  // oldest first; back() is active
  std::unique_ptr<WalWriter> writer_;
  Status failure_;
  WalBatch single_;  // reused by Append
};

}  // namespace nines::store
