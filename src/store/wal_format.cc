// Encoding of WAL segment headers and records, and segment file names.
#include "store/wal_format.h"

#include <fmt/format.h>

#include <cstring>

#include "base/coding.h"
#include "store/crc32c.h"

namespace nines::store::wal {

void EncodeSegmentHeader(uint64_t number, std::string* dst) {
  size_t start = dst->size();
  dst->append(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(dst, kFormatVersion);
  PutFixed64(dst, number);
  PutFixed32(dst, crc32c::Mask(crc32c::Value(dst->data() + start, 20)));
}

Status DecodeSegmentHeader(std::string_view header, uint64_t* number) {
  if (header.size() < kSegmentHeaderSize) return Status::Corruption("segment header is incomplete");
  if (std::memcmp(header.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption("bad segment magic (not a nines WAL segment)");
  }
  uint32_t expected = crc32c::Unmask(DecodeFixed32(header.data() + 20));
  if (crc32c::Value(header.data(), 20) != expected)
    return Status::Corruption("segment header checksum mismatch");
  uint32_t version = DecodeFixed32(header.data() + 8);
  if (version != kFormatVersion) {
    return Status::Corruption(fmt::format("unsupported segment format version {}", version));
  }
  *number = DecodeFixed64(header.data() + 12);
  return Status::Ok();
}

void EncodeRecord(uint64_t index, std::string_view payload, std::string* dst) {
  char header[kRecordHeaderSize];
  EncodeFixed32(header + 4, static_cast<uint32_t>(payload.size()));
  header[8] = static_cast<char>(kFullType);
  EncodeFixed64(header + 9, index);
  uint32_t crc = crc32c::Value(header + 8, 9);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  EncodeFixed32(header, crc32c::Mask(crc));
  dst->append(header, kRecordHeaderSize);
  dst->append(payload);
}

std::string SegmentFileName(uint64_t number) {
  return fmt::format("wal-{:016x}.log", number);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  constexpr std::string_view kPrefix = "wal-";
  constexpr std::string_view kSuffix = ".log";
  if (name.size() != kPrefix.size() + 16 + kSuffix.size()) return std::nullopt;
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  if (name.substr(name.size() - kSuffix.size()) != kSuffix) return std::nullopt;
  return ParseFixedHex(name.substr(kPrefix.size(), 16), 16);
}

}  // namespace nines::store::wal
