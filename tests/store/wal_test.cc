// The WAL's normal life: append, sync, reopen and read back in order; batches
// (group commit); rolling segments; compaction; limits; the segment preamble.
#include "store/wal.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/wal_format.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::TempDir;

struct Replayed {
  std::vector<std::pair<uint64_t, std::string>> records;
  Wal::RecordCallback Callback() {
    return [this](uint64_t index, std::string_view payload) {
      records.emplace_back(index, std::string(payload));
      return Status::Ok();
    };
  }
};

Status OpenWal(const std::string& dir, WalOptions options, Replayed* replayed,
               std::unique_ptr<Wal>* wal, WalRecoveryReport* report) {
  return Wal::Open(PosixFileSystem(), dir, std::move(options), replayed->Callback(), wal, report);
}

TEST(WalFormat, SegmentNames) {
  EXPECT_EQ(wal::SegmentFileName(1), "wal-0000000000000001.log");
  EXPECT_EQ(wal::SegmentFileName(0xabc), "wal-0000000000000abc.log");
  EXPECT_EQ(wal::ParseSegmentFileName("wal-0000000000000abc.log"), 0xabcu);
  EXPECT_FALSE(wal::ParseSegmentFileName("wal-0000000000000ABC.log"));
  EXPECT_FALSE(wal::ParseSegmentFileName("wal-1.log"));
  EXPECT_FALSE(wal::ParseSegmentFileName("snap-0000000000000001.log"));
  EXPECT_FALSE(wal::ParseSegmentFileName("wal-0000000000000001.log.tmp"));
}

TEST(Wal, EmptyDirectoryStartsSegmentOne) {
  TempDir dir;
  Replayed replayed;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.Sub("wal"), {}, &replayed, &wal, &report).ok());
  EXPECT_EQ(report.records, 0u);
  EXPECT_EQ(report.dropped_bytes, 0u);
  ASSERT_EQ(wal->segments().size(), 1u);
  EXPECT_EQ(wal->segments()[0].number, 1u);
  EXPECT_EQ(testing::FileSize(dir.Sub("wal/wal-0000000000000001.log")), wal::kSegmentHeaderSize);
}

TEST(Wal, AppendSyncReopenReadsBackInOrder) {
  TempDir dir;
  {
    Replayed replayed;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    ASSERT_TRUE(OpenWal(dir.path(), {}, &replayed, &wal, &report).ok());
    for (uint64_t i = 1; i <= 100; ++i) {
      ASSERT_TRUE(wal->Append(i, "entry-" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(wal->Append(0, std::string("binary\0\xff", 8)).ok());
    ASSERT_TRUE(wal->Append(101, "").ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  Replayed replayed;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), {}, &replayed, &wal, &report).ok());
  ASSERT_EQ(replayed.records.size(), 102u);
  EXPECT_EQ(report.records, 102u);
  EXPECT_EQ(report.dropped_bytes, 0u);
  for (uint64_t i = 1; i <= 100; ++i) {
    EXPECT_EQ(replayed.records[i - 1].first, i);
    EXPECT_EQ(replayed.records[i - 1].second, "entry-" + std::to_string(i));
  }
  EXPECT_EQ(replayed.records[100].second, std::string("binary\0\xff", 8));
  EXPECT_EQ(replayed.records[101].first, 101u);
  EXPECT_EQ(replayed.records[101].second, "");

  // Appending after a reopen continues the same log.
  ASSERT_TRUE(wal->Append(102, "after reopen").ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal.reset();
  Replayed again;
  ASSERT_TRUE(OpenWal(dir.path(), {}, &again, &wal, &report).ok());
  ASSERT_EQ(again.records.size(), 103u);
  EXPECT_EQ(again.records.back().second, "after reopen");
}

TEST(Wal, BatchIsOneWriteAndReadsBackAsRecords) {
  TempDir dir;
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), {}, &replayed, &wal, &report).ok());
  WalBatch batch;
  for (uint64_t i = 1; i <= 50; ++i) batch.Add(i, std::string(i, 'x'));
  EXPECT_EQ(batch.count(), 50u);
  EXPECT_EQ(batch.max_index(), 50u);
  ASSERT_TRUE(wal->Write(batch).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal.reset();
  ASSERT_TRUE(OpenWal(dir.path(), {}, &replayed, &wal, &report).ok());
  ASSERT_EQ(replayed.records.size(), 50u);
  EXPECT_EQ(replayed.records[49].second, std::string(50, 'x'));
}

TEST(Wal, RollsSegmentsAtTheSizeLimitAndReadsAcrossThem) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 1024;
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  for (uint64_t i = 1; i <= 200; ++i) ASSERT_TRUE(wal->Append(i, std::string(50, 'a')).ok());
  ASSERT_TRUE(wal->Sync().ok());
  size_t segments = wal->segments().size();
  EXPECT_GT(segments, 10u);
  for (const WalSegmentInfo& info : wal->segments()) {
    EXPECT_LE(info.bytes, options.segment_bytes);
    EXPECT_EQ(testing::FileSize(dir.Sub(wal::SegmentFileName(info.number))), info.bytes);
  }
  wal.reset();
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  EXPECT_EQ(report.segments, segments);
  ASSERT_EQ(replayed.records.size(), 200u);
  for (uint64_t i = 1; i <= 200; ++i) EXPECT_EQ(replayed.records[i - 1].first, i);
}

TEST(Wal, OversizedRecordIsRefusedWithoutPoisoningTheLog) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 4096;
  options.max_record_bytes = 1000;
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  Status status = wal->Append(1, std::string(1001, 'x'));
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(wal->Append(1, std::string(1000, 'x')).ok());
  EXPECT_TRUE(wal->Sync().ok());
}

// One Ready can carry more entries than fit in a segment (many large
// writes): the batch is split between records over several segments, in
// order, instead of being refused (which stops the member: a Ready's
// entries must be persisted). Recovery sees the records in order.
TEST(Wal, BatchLargerThanASegmentIsSplitAcrossSegments) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 4096;
  options.max_record_bytes = 1000;
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  ASSERT_TRUE(wal->Append(1, "first").ok());
  WalBatch batch;
  for (uint64_t i = 2; i <= 21; ++i) batch.Add(i, std::string(900, static_cast<char>('a' + i)));
  Status status = wal->Write(batch);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_GE(wal->segments().size(), 5u);
  for (const WalSegmentInfo& info : wal->segments()) EXPECT_LE(info.bytes, options.segment_bytes);
  wal.reset();
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  ASSERT_EQ(replayed.records.size(), 21u);
  for (uint64_t i = 2; i <= 21; ++i) {
    EXPECT_EQ(replayed.records[i - 1].first, i);
    EXPECT_EQ(replayed.records[i - 1].second, std::string(900, static_cast<char>('a' + i)));
  }
}

TEST(Wal, CompactDeletesOnlyCoveredPrefixSegments) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 512;
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(wal->Append(i, std::string(40, 'c')).ok());
  ASSERT_TRUE(wal->Sync().ok());
  const size_t before = wal->segments().size();
  ASSERT_GT(before, 5u);

  size_t removed = 0;
  ASSERT_TRUE(wal->Compact(0, &removed).ok());
  EXPECT_EQ(removed, 0u);
  ASSERT_TRUE(wal->Compact(50, &removed).ok());
  EXPECT_GT(removed, 0u);
  EXPECT_LE(wal->segments().front().max_index, 100u);
  // The first remaining segment holds an index above 50 (else it would be gone).
  EXPECT_GT(wal->segments().front().max_index, 50u);
  ASSERT_TRUE(wal->Compact(1000, &removed).ok());
  EXPECT_EQ(wal->segments().size(), 1u);  // the active segment stays

  wal.reset();
  Replayed after;
  ASSERT_TRUE(OpenWal(dir.path(), options, &after, &wal, &report).ok());
  for (const auto& [index, payload] : after.records) EXPECT_GT(index, 50u);
  ASSERT_TRUE(wal->Append(101, "next").ok());
}

TEST(Wal, PreambleIsWrittenFirstInEveryNewSegment) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 400;
  int preambles = 0;
  options.segment_preamble = [&preambles](WalBatch* batch) {
    ++preambles;
    batch->Add(0, "hardstate");
  };
  std::unique_ptr<Wal> wal;
  Replayed replayed;
  WalRecoveryReport report;
  ASSERT_TRUE(OpenWal(dir.path(), options, &replayed, &wal, &report).ok());
  for (uint64_t i = 1; i <= 40; ++i) ASSERT_TRUE(wal->Append(i, std::string(30, 'p')).ok());
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ(static_cast<size_t>(preambles), wal->segments().size());
  ASSERT_TRUE(wal->Compact(30).ok());
  wal.reset();
  Replayed after;
  ASSERT_TRUE(OpenWal(dir.path(), options, &after, &wal, &report).ok());
  ASSERT_FALSE(after.records.empty());
  EXPECT_EQ(after.records.front().second, "hardstate");
}

TEST(Wal, CallbackErrorAbortsOpen) {
  TempDir dir;
  {
    Replayed replayed;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    ASSERT_TRUE(OpenWal(dir.path(), {}, &replayed, &wal, &report).ok());
    ASSERT_TRUE(wal->Append(1, "x").ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status status = Wal::Open(
      PosixFileSystem(), dir.path(), {},
      [](uint64_t, std::string_view) { return Status::Corruption("bad entry"); }, &wal, &report);
  EXPECT_TRUE(status.IsCorruption());
  EXPECT_EQ(wal, nullptr);
}

}  // namespace
}  // namespace nines::store
