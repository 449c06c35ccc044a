// On-disk format of the write-ahead log (docs/store.md has the full picture).
//
// The log is a directory of segment files "wal-<16 hex digits>.log" numbered
// 1, 2, 3, ... Each segment starts with a 24-byte header, then records:
//
//   segment header: magic "NINESWAL" (8) | version u32 | segment number u64 |
//                   masked crc32c of the previous 20 bytes u32
//   record:         masked crc32c u32 | payload length u32 | type u8 |
//                   index u64 | payload
//
// All integers are little-endian. The record CRC covers type, index and
// payload. `index` is a caller-chosen tag (the Raft log index, or 0 for records
// such as hard state): log compaction deletes whole segments whose tags are
// all covered by a snapshot. The payload is opaque to the WAL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nines::store::wal {

constexpr char kSegmentMagic[8] = {'N', 'I', 'N', 'E', 'S', 'W', 'A', 'L'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kSegmentHeaderSize = 8 + 4 + 8 + 4;
constexpr size_t kRecordHeaderSize = 4 + 4 + 1 + 8;

enum RecordType : uint8_t {
  kZeroType = 0,  // never written: zero-filled space (preallocated or torn) reads as this
  kFullType = 1,  // one whole record
};

// Appends the encoded segment header for segment `number` to dst.
void EncodeSegmentHeader(uint64_t number, std::string* dst);
// Checks a segment header; on success stores the segment number. Corruption
// saying what is wrong ("bad segment magic ...") otherwise.
Status DecodeSegmentHeader(std::string_view header, uint64_t* number);

// Appends one encoded record to dst.
void EncodeRecord(uint64_t index, std::string_view payload, std::string* dst);

// "wal-0000000000000001.log"
std::string SegmentFileName(uint64_t number);
// The number of a segment file name, or nothing if name is not one.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

}  // namespace nines::store::wal
