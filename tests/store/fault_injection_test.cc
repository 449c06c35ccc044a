// Disk faults under the WAL (LevelDB's fault_injection_test in spirit): disk
// full and EIO fail Append/Sync and stick; a crash loses exactly the unsynced
// writes; torn unsynced tails are recovered; every synced record survives.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "faulty_file.h"
#include "store/wal.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::FaultyFileSystem;
using testing::TempDir;

struct Log {
  std::vector<std::string> payloads;
  Wal::RecordCallback Callback() {
    return [this](uint64_t, std::string_view payload) {
      payloads.emplace_back(payload);
      return Status::Ok();
    };
  }
};

Status Open(FileSystem* fs, const std::string& dir, Log* log, std::unique_ptr<Wal>* wal,
            WalRecoveryReport* report, uint64_t segment_bytes = 64 << 20) {
  WalOptions options;
  options.segment_bytes = segment_bytes;
  return Wal::Open(fs, dir, options, log->Callback(), wal, report);
}

TEST(FaultInjection, DiskFullFailsAppendAndTheErrorSticks) {
  TempDir dir;
  FaultyFileSystem fs;
  Log log;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report).ok());
  ASSERT_TRUE(wal->Append(1, "durable").ok());
  ASSERT_TRUE(wal->Sync().ok());

  fs.FailWritesAfter(10, ENOSPC);  // the next record is written only in part
  Status status = wal->Append(2, "this record does not fit");
  EXPECT_EQ(status.code(), Status::Code::kNoSpace) << status.ToString();
  EXPECT_NE(status.message().find("wal-0000000000000001.log"), std::string::npos);
  fs.ClearFaults();
  // Sticky: even with space back, nothing more is accepted or acknowledged.
  EXPECT_EQ(wal->Append(3, "x").code(), Status::Code::kNoSpace);
  EXPECT_EQ(wal->Sync().code(), Status::Code::kNoSpace);
  EXPECT_FALSE(wal->failure().ok());
  wal.reset();

  // Restart: the partial record is a torn tail; the synced one is there.
  Log recovered;
  ASSERT_TRUE(Open(&fs, dir.path(), &recovered, &wal, &report).ok());
  EXPECT_EQ(recovered.payloads, std::vector<std::string>{"durable"});
  EXPECT_EQ(report.dropped_bytes, 10u);
  EXPECT_TRUE(wal->Append(2, "after restart").ok());
  EXPECT_TRUE(wal->Sync().ok());
}

TEST(FaultInjection, EioOnSyncFailsAndSticks) {
  TempDir dir;
  FaultyFileSystem fs;
  Log log;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report).ok());
  ASSERT_TRUE(wal->Append(1, "a").ok());
  fs.FailSyncs(1, EIO);
  Status status = wal->Sync();
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_NE(status.message().find("Input/output error"), std::string::npos) << status.message();
  // A later fsync might "succeed" on a page cache that dropped the data
  // (fsyncgate): the WAL must not believe it.
  EXPECT_FALSE(wal->Sync().ok());
  EXPECT_FALSE(wal->Append(2, "b").ok());
}

TEST(FaultInjection, FailureWhileRollingIsReported) {
  TempDir dir;
  FaultyFileSystem fs;
  Log log;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report, 200).ok());
  ASSERT_TRUE(wal->Append(1, std::string(100, 'a')).ok());
  fs.FailSyncs(1, EIO);  // the roll syncs the old segment first
  EXPECT_FALSE(wal->Append(2, std::string(100, 'b')).ok());
  EXPECT_FALSE(wal->failure().ok());
}

TEST(FaultInjection, CrashLosesOnlyUnsyncedRecords) {
  TempDir dir;
  FaultyFileSystem fs;
  Log log;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report).ok());
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(wal->Append(i, "synced" + std::to_string(i)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  for (int i = 11; i <= 20; ++i) ASSERT_TRUE(wal->Append(i, "lost" + std::to_string(i)).ok());
  EXPECT_GT(fs.unsynced_bytes(), 0u);
  wal.reset();  // the process dies: no sync on destruction
  fs.SimulateCrash();

  Log recovered;
  ASSERT_TRUE(Open(&fs, dir.path(), &recovered, &wal, &report).ok());
  ASSERT_EQ(recovered.payloads.size(), 10u);
  EXPECT_EQ(recovered.payloads.back(), "synced10");
  EXPECT_EQ(report.dropped_bytes, 0u);
}

TEST(FaultInjection, CrashWithTornUnsyncedTailRecovers) {
  for (uint64_t keep : {1u, 5u, 17u, 20u, 33u}) {
    for (bool garble : {false, true}) {
      TempDir dir;
      FaultyFileSystem fs;
      Log log;
      std::unique_ptr<Wal> wal;
      WalRecoveryReport report;
      ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report).ok());
      for (int i = 1; i <= 5; ++i) ASSERT_TRUE(wal->Append(i, "ok" + std::to_string(i)).ok());
      ASSERT_TRUE(wal->Sync().ok());
      WalBatch batch;
      for (int i = 6; i <= 9; ++i) batch.Add(i, "unsynced" + std::to_string(i));
      ASSERT_TRUE(wal->Write(batch).ok());
      wal.reset();
      fs.SimulateCrash(keep, garble);

      Log recovered;
      Status status = Open(&fs, dir.path(), &recovered, &wal, &report);
      ASSERT_TRUE(status.ok()) << "keep " << keep << " garble " << garble << ": "
                               << status.ToString();
      // The synced records are all there; a fully kept unsynced record may be too.
      ASSERT_GE(recovered.payloads.size(), 5u);
      EXPECT_EQ(recovered.payloads[4], "ok5");
      if (garble) {
        EXPECT_EQ(recovered.payloads.size(), 5u);
      }
    }
  }
}

TEST(FaultInjection, CrashRightAfterCreatingASegmentRecovers) {
  TempDir dir;
  FaultyFileSystem fs;
  Log log;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  ASSERT_TRUE(Open(&fs, dir.path(), &log, &wal, &report, 256).ok());
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE(wal->Append(i, std::string(40, 'z')).ok());
  ASSERT_TRUE(wal->Sync().ok());
  const size_t segments = wal->segments().size();
  ASSERT_GT(segments, 2u);
  wal.reset();
  fs.SimulateCrash();
  Log recovered;
  ASSERT_TRUE(Open(&fs, dir.path(), &recovered, &wal, &report, 256).ok());
  EXPECT_EQ(recovered.payloads.size(), 20u);
  EXPECT_EQ(wal->segments().size(), segments);
}

TEST(FaultInjection, RandomizedCrashesNeverLoseSyncedRecords) {
  // Seeded: appends, batches, syncs, rolls and crashes in random order; after
  // every crash, recovery returns every synced record in order, and at most
  // the unsynced ones after it.
  std::mt19937 rng(20261125);
  TempDir dir;
  FaultyFileSystem fs;
  std::vector<std::string> synced;   // what must survive
  std::vector<std::string> written;  // synced + unsynced since the last sync
  int next = 0;
  for (int round = 0; round < 30; ++round) {
    Log recovered;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    Status status = Open(&fs, dir.path(), &recovered, &wal, &report, 512 + rng() % 512);
    ASSERT_TRUE(status.ok()) << "round " << round << ": " << status.ToString();
    ASSERT_GE(recovered.payloads.size(), synced.size());
    ASSERT_LE(recovered.payloads.size(), written.size());
    for (size_t i = 0; i < recovered.payloads.size(); ++i) {
      ASSERT_EQ(recovered.payloads[i], written[i]) << "round " << round << " record " << i;
    }
    written = recovered.payloads;
    synced = recovered.payloads;
    int steps = 1 + static_cast<int>(rng() % 20);
    for (int s = 0; s < steps; ++s) {
      switch (rng() % 3) {
        case 0: {
          std::string payload = "p" + std::to_string(next++) + std::string(rng() % 60, 'x');
          ASSERT_TRUE(wal->Append(next, payload).ok());
          written.push_back(payload);
          break;
        }
        case 1: {
          WalBatch batch;
          for (int k = 0, n = 1 + static_cast<int>(rng() % 5); k < n; ++k) {
            std::string payload = "b" + std::to_string(next++);
            batch.Add(next, payload);
            written.push_back(payload);
          }
          ASSERT_TRUE(wal->Write(batch).ok());
          break;
        }
        default:
          ASSERT_TRUE(wal->Sync().ok());
          synced = written;
      }
    }
    wal.reset();
    fs.SimulateCrash(rng() % 40, rng() % 2 == 0);
  }
}

}  // namespace
}  // namespace nines::store
