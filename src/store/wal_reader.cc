// Record-by-record validation of a WAL segment: header bounds, type, length
// limit, then the CRC32C over type, index and payload.
#include "store/wal_reader.h"

#include <fmt/format.h>

#include "base/coding.h"
#include "store/crc32c.h"
#include "store/wal_format.h"

namespace nines::store {

WalReader::WalReader(std::string_view contents, uint32_t max_record_bytes)
    : contents_(contents), max_record_bytes_(max_record_bytes), offset_(wal::kSegmentHeaderSize) {}

Status WalReader::CheckRecordAt(uint64_t offset, WalRecord* record) const {
  uint64_t available = contents_.size() - offset;
  if (available < wal::kRecordHeaderSize) {
    return Status::Corruption(fmt::format("incomplete record header ({} of {} bytes)", available,
                                          wal::kRecordHeaderSize));
  }
  const char* header = contents_.data() + offset;
  uint32_t length = DecodeFixed32(header + 4);
  auto type = static_cast<uint8_t>(header[8]);
  if (type != wal::kFullType) return Status::Corruption(fmt::format("bad record type {}", type));
  if (length > max_record_bytes_) {
    return Status::Corruption(
        fmt::format("record length {} exceeds the limit of {}", length, max_record_bytes_));
  }
  if (available - wal::kRecordHeaderSize < length) {
    return Status::Corruption(fmt::format("incomplete record (length {}, only {} bytes left)",
                                          length, available - wal::kRecordHeaderSize));
  }
  uint32_t expected = crc32c::Unmask(DecodeFixed32(header));
  uint32_t actual = crc32c::Value(header + 8, 9);
  actual = crc32c::Extend(actual, header + wal::kRecordHeaderSize, length);
  if (actual != expected) return Status::Corruption("record checksum mismatch");
  record->index = DecodeFixed64(header + 9);
  record->payload = contents_.substr(offset + wal::kRecordHeaderSize, length);
  record->offset = offset;
  return Status::Ok();
}

WalReader::Result WalReader::Next(WalRecord* record) {
  if (offset_ >= contents_.size()) return Result::kEnd;
  if (Status bad = CheckRecordAt(offset_, record); !bad.ok()) {
    bad_offset_ = offset_;
    bad_reason_ = bad.message();
    return Result::kBad;
  }
  offset_ += wal::kRecordHeaderSize + record->payload.size();
  return Result::kRecord;
}

bool WalReader::HasValidRecordAfter(uint64_t offset) const {
  // Bytes of checksumming this search may spend. Crafted payloads could make
  // many candidates plausible; past the budget, answer "yes" (corruption):
  // refusing to start is the safe side of the doubt.
  constexpr uint64_t kChecksumBudget = 1ull << 30;
  uint64_t spent = 0;
  WalRecord ignored;
  for (uint64_t at = offset + 1; at + wal::kRecordHeaderSize <= contents_.size(); ++at) {
    // Cheap filters first: most garbage fails on the type byte or the length.
    if (static_cast<uint8_t>(contents_[at + 8]) != wal::kFullType) continue;
    const uint32_t length = DecodeFixed32(contents_.data() + at + 4);
    if (length > max_record_bytes_ || length > contents_.size() - at - wal::kRecordHeaderSize) {
      continue;
    }
    spent += length + wal::kRecordHeaderSize;
    if (spent > kChecksumBudget) return true;
    if (CheckRecordAt(at, &ignored).ok()) return true;
  }
  return false;
}

}  // namespace nines::store
