// Recovery of torn tails: the last segment cut at every byte of its last
// record, zero-filled tails, a half-created segment; the WAL keeps working
// after recovery and reports what it dropped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/wal.h"
#include "store/wal_format.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::TempDir;

struct Collected {
  std::vector<std::string> payloads;
  Wal::RecordCallback Callback() {
    return [this](uint64_t, std::string_view payload) {
      payloads.emplace_back(payload);
      return Status::Ok();
    };
  }
};

void WriteRecords(const std::string& dir, int from, int to, WalOptions options = {}) {
  Collected ignored;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir, options, ignored.Callback(), &wal, &report).ok());
  for (int i = from; i <= to; ++i) ASSERT_TRUE(wal->Append(i, "r" + std::to_string(i)).ok());
  ASSERT_TRUE(wal->Sync().ok());
}

TEST(Recovery, TailTruncatedByAFewBytesRecoversAndReports) {
  TempDir dir;
  WriteRecords(dir.path(), 1, 10);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const uint64_t size = testing::FileSize(path);
  testing::TruncateFileTo(path, size - 3);

  Collected got;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status status = Wal::Open(PosixFileSystem(), dir.path(), {}, got.Callback(), &wal, &report);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(got.payloads.size(), 9u);
  EXPECT_EQ(got.payloads.back(), "r9");
  const uint64_t last_record_size = wal::kRecordHeaderSize + 3;  // "r10"
  EXPECT_EQ(report.dropped_bytes, last_record_size - 3);
  EXPECT_EQ(report.torn_file, path);
  EXPECT_EQ(report.torn_offset, size - last_record_size);
  EXPECT_EQ(testing::FileSize(path), size - last_record_size);

  // New appends land after the last good record and survive a reopen.
  ASSERT_TRUE(wal->Append(10, "r10-again").ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal.reset();
  Collected again;
  ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir.path(), {}, again.Callback(), &wal, &report).ok());
  EXPECT_EQ(report.dropped_bytes, 0u);
  ASSERT_EQ(again.payloads.size(), 10u);
  EXPECT_EQ(again.payloads.back(), "r10-again");
}

TEST(Recovery, EveryCutInsideTheLastRecordRecoversThePrefix) {
  TempDir dir;
  WriteRecords(dir.path(), 1, 3);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  const std::string full = testing::ReadFileBytes(path);
  const uint64_t last_start = full.size() - (wal::kRecordHeaderSize + 2);
  for (uint64_t cut = last_start; cut < full.size(); ++cut) {
    testing::WriteFileBytes(path, full.substr(0, cut));
    Collected got;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    Status status = Wal::Open(PosixFileSystem(), dir.path(), {}, got.Callback(), &wal, &report);
    ASSERT_TRUE(status.ok()) << "cut at " << cut << ": " << status.ToString();
    ASSERT_EQ(got.payloads.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(report.dropped_bytes, cut - last_start);
  }
}

TEST(Recovery, ZeroFilledTailIsTorn) {
  TempDir dir;
  WriteRecords(dir.path(), 1, 5);
  const std::string path = dir.Sub("wal-0000000000000001.log");
  std::string bytes = testing::ReadFileBytes(path);
  const uint64_t good = bytes.size();
  bytes.append(4096, '\0');  // a preallocated or half-written page
  testing::WriteFileBytes(path, bytes);
  Collected got;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir.path(), {}, got.Callback(), &wal, &report).ok());
  EXPECT_EQ(got.payloads.size(), 5u);
  EXPECT_EQ(report.dropped_bytes, 4096u);
  EXPECT_EQ(testing::FileSize(path), good);
}

TEST(Recovery, HalfCreatedLastSegmentIsRewritten) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 256;
  WriteRecords(dir.path(), 1, 30, options);
  std::vector<std::string> names;
  ASSERT_TRUE(PosixFileSystem()->List(dir.path(), &names).ok());
  const uint64_t next = names.size() + 1;
  // A crash right after creating the next segment, before its header landed.
  testing::WriteFileBytes(dir.Sub(wal::SegmentFileName(next)), std::string("NINES", 5));

  Collected got;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status status = Wal::Open(PosixFileSystem(), dir.path(), options, got.Callback(), &wal, &report);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(got.payloads.size(), 30u);
  EXPECT_EQ(report.dropped_bytes, 5u);
  EXPECT_EQ(wal->segments().back().number, next);
  EXPECT_EQ(testing::FileSize(dir.Sub(wal::SegmentFileName(next))), wal::kSegmentHeaderSize);
  ASSERT_TRUE(wal->Append(31, "r31").ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal.reset();
  Collected again;
  ASSERT_TRUE(
      Wal::Open(PosixFileSystem(), dir.path(), options, again.Callback(), &wal, &report).ok());
  EXPECT_EQ(again.payloads.size(), 31u);
}

TEST(Recovery, TornTailAcrossManySegmentsKeepsEarlierSegments) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 300;
  WriteRecords(dir.path(), 1, 100, options);
  std::vector<std::string> names;
  ASSERT_TRUE(PosixFileSystem()->List(dir.path(), &names).ok());
  const std::string last = dir.Sub(wal::SegmentFileName(names.size()));
  testing::TruncateFileTo(last, testing::FileSize(last) - 1);
  Collected got;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(
      Wal::Open(PosixFileSystem(), dir.path(), options, got.Callback(), &wal, &report).ok());
  EXPECT_EQ(got.payloads.size(), 99u);
  EXPECT_EQ(report.segments, names.size());
}

}  // namespace
}  // namespace nines::store
