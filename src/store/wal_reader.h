// Reads the records of one WAL segment held in memory, and says precisely
// where and why it stopped: at the end, or at a bad record (offset + reason).
// Deciding whether a bad record is a torn tail or corruption is recovery's job
// (wal.cc); HasValidRecordAfter gives it the evidence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nines::store {

struct WalRecord {
  uint64_t index = 0;
  std::string_view payload;  // a view into the segment contents
  uint64_t offset = 0;       // of the record header within the segment
};

class WalReader {
 public:
  enum class Result { kRecord, kEnd, kBad };

  // contents: the whole segment, including its header (checked by the caller).
  WalReader(std::string_view contents, uint32_t max_record_bytes);

  // The next record, kEnd at a clean end, or kBad (see bad_offset/bad_reason).
  Result Next(WalRecord* record);

  uint64_t bad_offset() const { return bad_offset_; }
  const std::string& bad_reason() const { return bad_reason_; }
  // Offset just past the last good record.
  uint64_t valid_end() const { return offset_; }

  // True if some complete record with a valid checksum starts after `offset`
  // (searched byte by byte): then a bad record at `offset` is corruption in
  // the middle of the log, not a torn tail.
  bool HasValidRecordAfter(uint64_t offset) const;

 private:
  // Checks the record at offset; Corruption saying why when it is not valid.
  Status CheckRecordAt(uint64_t offset, WalRecord* record) const;

  std::string_view contents_;
  uint32_t max_record_bytes_;
  uint64_t offset_;
  uint64_t bad_offset_ = 0;
  std::string bad_reason_;
};

}  // namespace nines::store
