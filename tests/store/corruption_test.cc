// The WAL's ugly cases: bytes flipped in the middle of a segment, in a
// non-last segment, in a header; gaps in segment numbers. Each must stop
// recovery with an error naming the file and the byte offset.
#include <gtest/gtest.h>

#include <string>

#include "store/wal.h"
#include "store/wal_format.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::TempDir;

Wal::RecordCallback Ignore() {
  return [](uint64_t, std::string_view) { return Status::Ok(); };
}

// Writes `count` records of 100 bytes; returns segment count.
size_t WriteLog(const std::string& dir, int count, uint64_t segment_bytes = 64 << 20) {
  WalOptions options;
  options.segment_bytes = segment_bytes;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  EXPECT_TRUE(Wal::Open(PosixFileSystem(), dir, options, Ignore(), &wal, &report).ok());
  for (int i = 1; i <= count; ++i) EXPECT_TRUE(wal->Append(i, std::string(100, 'v')).ok());
  EXPECT_TRUE(wal->Sync().ok());
  return wal->segments().size();
}

Status Reopen(const std::string& dir, WalRecoveryReport* report, uint64_t* records = nullptr,
              uint64_t segment_bytes = 64 << 20) {
  WalOptions options;
  options.segment_bytes = segment_bytes;
  std::unique_ptr<Wal> wal;
  return Wal::Open(PosixFileSystem(), dir, options, Ignore(), &wal, report);
}

constexpr uint64_t kRecordSize = wal::kRecordHeaderSize + 100;

TEST(Corruption, FlippedPayloadByteInTheMiddleNamesFileAndOffset) {
  TempDir dir;
  WriteLog(dir.path(), 50);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const uint64_t record_start = wal::kSegmentHeaderSize + 20 * kRecordSize;
  testing::FlipByte(path, record_start + wal::kRecordHeaderSize + 37);
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report);
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("at offset " + std::to_string(record_start)), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("checksum"), std::string::npos) << status.message();
  // Nothing was changed on disk by the failed recovery.
  EXPECT_EQ(testing::FileSize(path), wal::kSegmentHeaderSize + 50 * kRecordSize);
}

TEST(Corruption, FlippedLengthByteInTheMiddleIsAnError) {
  TempDir dir;
  WriteLog(dir.path(), 50);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const uint64_t record_start = wal::kSegmentHeaderSize + 10 * kRecordSize;
  testing::FlipByte(path, record_start + 5);  // length field
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report);
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("at offset " + std::to_string(record_start)), std::string::npos)
      << status.message();
}

TEST(Corruption, EveryFlipBeforeTheLastRecordIsAnError) {
  // Exhaustive over the first records: wherever the flip lands (header, type,
  // index, length, payload), recovery refuses instead of serving wrong data.
  TempDir dir;
  WriteLog(dir.path(), 4);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const std::string original = testing::ReadFileBytes(path);
  const uint64_t last_record = wal::kSegmentHeaderSize + 3 * kRecordSize;
  for (uint64_t offset = 0; offset < last_record; ++offset) {
    testing::WriteFileBytes(path, original);
    testing::FlipByte(path, offset);
    WalRecoveryReport report;
    Status status = Reopen(dir.path(), &report);
    ASSERT_TRUE(status.IsCorruption()) << "flip at " << offset << ": " << status.ToString();
    ASSERT_NE(status.message().find(path), std::string::npos);
  }
}

TEST(Corruption, FlipInTheLastRecordIsATornTail) {
  // Indistinguishable from a torn write of the last record: truncated.
  TempDir dir;
  WriteLog(dir.path(), 10);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const uint64_t last_record = wal::kSegmentHeaderSize + 9 * kRecordSize;
  testing::FlipByte(path, last_record + 50);
  WalRecoveryReport report;
  uint64_t records = 0;
  ASSERT_TRUE(Reopen(dir.path(), &report, &records).ok());
  EXPECT_EQ(report.records, 9u);
  EXPECT_EQ(report.dropped_bytes, kRecordSize);
  EXPECT_EQ(report.torn_offset, last_record);
  EXPECT_EQ(testing::FileSize(path), last_record);
}

TEST(Corruption, FlipInANonLastSegmentIsAnErrorEvenAtItsEnd) {
  TempDir dir;
  size_t segments = WriteLog(dir.path(), 60, 1024);
  ASSERT_GT(segments, 2u);
  const std::string path = dir.Sub("wal-0000000000000002.log");
  const uint64_t size = testing::FileSize(path);
  testing::FlipByte(path, size - 3);  // inside the last record of segment 2
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report, nullptr, 1024);
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("wal-0000000000000002.log at offset"), std::string::npos)
      << status.message();
}

TEST(Corruption, TruncatedNonLastSegmentIsAnError) {
  TempDir dir;
  ASSERT_GT(WriteLog(dir.path(), 60, 1024), 2u);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  testing::TruncateFileTo(path, testing::FileSize(path) - 4);
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report, nullptr, 1024);
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("wal-0000000000000001.log at offset"), std::string::npos);
  EXPECT_NE(status.message().find("incomplete"), std::string::npos) << status.message();
}

TEST(Corruption, BadSegmentHeaderIsAnError) {
  TempDir dir;
  WriteLog(dir.path(), 5);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  testing::FlipByte(path, 2);
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find(path + " at offset 0: bad segment magic"), std::string::npos)
      << status.message();
}

TEST(Corruption, MissingMiddleSegmentIsAnError) {
  TempDir dir;
  ASSERT_GT(WriteLog(dir.path(), 60, 1024), 3u);
  std::filesystem::remove(dir.Sub("wal-0000000000000002.log"));
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report, nullptr, 1024);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("missing WAL segment wal-0000000000000002.log"),
            std::string::npos)
      << status.message();
}

TEST(Corruption, SegmentRenamedToAnotherNumberIsAnError) {
  TempDir dir;
  WriteLog(dir.path(), 5);
  std::filesystem::rename(dir.Sub("wal-0000000000000001.log"), dir.Sub("wal-0000000000000007.log"));
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("header says segment 1"), std::string::npos) << status.message();
}

TEST(Corruption, GarbageAfterValidRecordsWithAValidRecordLaterIsAnError) {
  // Zeroed bytes in the middle (a lost page), valid records after: corruption.
  TempDir dir;
  WriteLog(dir.path(), 30);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  std::string bytes = testing::ReadFileBytes(path);
  const uint64_t start = wal::kSegmentHeaderSize + 5 * kRecordSize;
  for (uint64_t i = start; i < start + 2 * kRecordSize; ++i) bytes[i] = 0;
  testing::WriteFileBytes(path, bytes);
  WalRecoveryReport report;
  Status status = Reopen(dir.path(), &report);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("at offset " + std::to_string(start)), std::string::npos);
  EXPECT_NE(status.message().find("bad record type 0"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace nines::store
