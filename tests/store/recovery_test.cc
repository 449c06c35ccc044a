// Recovery of torn tails: the last segment cut at every byte of its last
// record, zero-filled tails, a half-created segment; the WAL keeps working
// after recovery and reports what it dropped.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <random>

#include "faulty_file.h"
#include "store/kv_command.h"
#include "store/kv_state.h"
#include "store/snapshot_file.h"
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

// A crash while creating the next segment, on a file system that had grown
// the file (or preallocated it) before its bytes landed: the last segment
// reads as zeros, header included. Its header was never synced, so nothing
// after it was either: it is rewritten, and the earlier segments' records
// all come back (a zero header is not corruption of synced data).
TEST(Recovery, ZeroFilledLastSegmentIsRewrittenAndKeepsEarlierSegments) {
  for (size_t zeros : {wal::kSegmentHeaderSize, size_t{4096}}) {
    SCOPED_TRACE(zeros);
    TempDir dir;
    WalOptions options;
    options.segment_bytes = 256;
    WriteRecords(dir.path(), 1, 30, options);
    std::vector<std::string> names;
    ASSERT_TRUE(PosixFileSystem()->List(dir.path(), &names).ok());
    const uint64_t next = names.size() + 1;
    testing::WriteFileBytes(dir.Sub(wal::SegmentFileName(next)), std::string(zeros, '\0'));

    Collected got;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    Status status =
        Wal::Open(PosixFileSystem(), dir.path(), options, got.Callback(), &wal, &report);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(got.payloads.size(), 30u);
    EXPECT_EQ(report.dropped_bytes, zeros);
    EXPECT_EQ(wal->segments().back().number, next);
    ASSERT_TRUE(wal->Append(31, "r31").ok());
    ASSERT_TRUE(wal->Sync().ok());
    wal.reset();
    Collected again;
    status = Wal::Open(PosixFileSystem(), dir.path(), options, again.Callback(), &wal, &report);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(again.payloads.size(), 31u);
  }
}

// A zero-filled header is corruption anywhere but in the last segment, and
// so is a zero header in front of bytes that are not all zero.
TEST(Recovery, ZeroHeaderBeforeLaterSegmentsOrDataIsCorruption) {
  TempDir dir;
  WalOptions options;
  options.segment_bytes = 256;
  WriteRecords(dir.path(), 1, 30, options);
  const std::string first = dir.Sub(wal::SegmentFileName(1));
  std::string bytes = testing::ReadFileBytes(first);
  std::fill(bytes.begin(), bytes.begin() + wal::kSegmentHeaderSize, '\0');
  testing::WriteFileBytes(first, bytes);
  Collected got;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status status = Wal::Open(PosixFileSystem(), dir.path(), options, got.Callback(), &wal, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();

  TempDir one;
  WriteRecords(one.path(), 1, 3);
  const std::string only = one.Sub(wal::SegmentFileName(1));
  bytes = testing::ReadFileBytes(only);
  std::fill(bytes.begin(), bytes.begin() + wal::kSegmentHeaderSize, '\0');
  testing::WriteFileBytes(only, bytes);
  status = Wal::Open(PosixFileSystem(), one.path(), {}, got.Callback(), &wal, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
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

// The pieces together, as a member uses them without Raft: every command is
// appended to the WAL with its index, synced, then applied; now and then a
// snapshot is written and the WAL compacted; crashes (losing unsynced bytes,
// tearing the tail) and disk-full errors strike at random. After every
// restart (latest snapshot + WAL replay) the state must equal a fresh replay
// of the first k commands, where k covers at least every synced command.
TEST(Recovery, SnapshotWalCompactionAndCrashesKeepEveryDurableCommand) {
  std::mt19937 rng(424242);
  TempDir dir;
  testing::FaultyFileSystem fs;
  const std::string wal_dir = dir.Sub("wal");
  const std::string snap_dir = dir.Sub("snap");
  WalOptions options;
  options.segment_bytes = 600;
  std::vector<std::string> log;  // log[i] is the command at index i + 1
  uint64_t synced = 0;           // commands known durable
  int snapshots = 0;
  int compactions = 0;
  for (int round = 0; round < 40; ++round) {
    // Restart: snapshot, then the WAL records after it.
    KvState state;
    SnapshotMeta meta;
    std::string content;
    bool found = false;
    ASSERT_TRUE(LoadLatestSnapshot(&fs, snap_dir, 1 << 24, &meta, &content, &found).ok());
    if (found) {
      ASSERT_TRUE(state.Deserialize(content).ok());
      ASSERT_EQ(state.applied_index(), meta.index);
    }
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    Status status = Wal::Open(
        &fs, wal_dir, options,
        [&state](uint64_t index, std::string_view payload) {
          if (index <= state.applied_index()) return Status::Ok();  // in the snapshot
          if (index != state.applied_index() + 1) {
            return Status::Corruption("gap before index " + std::to_string(index));
          }
          state.Apply(index, payload);
          return Status::Ok();
        },
        &wal, &report);
    ASSERT_TRUE(status.ok()) << "round " << round << ": " << status.ToString();
    const uint64_t k = state.applied_index();
    ASSERT_GE(k, synced) << "round " << round << ": a synced command was lost";
    ASSERT_LE(k, log.size());
    KvState reference;
    for (uint64_t i = 0; i < k; ++i) reference.Apply(i + 1, log[i]);
    ASSERT_EQ(state.Serialize(), reference.Serialize()) << "round " << round;
    log.resize(k);  // what did not survive was never acknowledged
    synced = k;

    // Run until the next crash.
    bool crashed = false;
    for (int step = 0; step < 60 && !crashed; ++step) {
      KvCommand c;
      std::string key = "k" + std::to_string(rng() % 20);
      std::string value = std::string(rng() % 30, 'v');
      c.now_ms = 1'700'000'000'000 + static_cast<int64_t>(log.size()) * 10;
      if (rng() % 4 == 0) {
        c.op = KvOp::kIncrBy;
        c.args = {key};
        c.integer = 1;
      } else {
        c.op = KvOp::kSet;
        c.args = {key, value};
      }
      std::string encoded;
      EncodeKvCommand(c, &encoded);
      if (rng() % 50 == 0) fs.FailWritesAfter(rng() % 40, ENOSPC);
      const uint64_t index = log.size() + 1;
      if (!wal->Append(index, encoded).ok()) {
        crashed = true;  // the member stops; nothing of this was acknowledged
        break;
      }
      log.push_back(encoded);
      if (rng() % 3 != 0) {
        if (!wal->Sync().ok()) {
          crashed = true;
          break;
        }
        for (uint64_t i = synced; i < log.size(); ++i) state.Apply(i + 1, log[i]);
        synced = log.size();
      }
      if (rng() % 15 == 0 && state.applied_index() > 0) {
        SnapshotMeta at{state.applied_index(), 1};
        if (WriteSnapshot(&fs, snap_dir, at, state.Serialize()).ok()) {
          ++snapshots;
          size_t removed = 0;
          ASSERT_TRUE(wal->Compact(at.index, &removed).ok());
          compactions += removed > 0;
          ASSERT_TRUE(RemoveOldSnapshots(&fs, snap_dir, at, 2).ok());
        }
      }
    }
    wal.reset();
    fs.ClearFaults();
    fs.SimulateCrash(rng() % 64, rng() % 2 == 0);
  }
  EXPECT_GT(snapshots, 5);
  EXPECT_GT(compactions, 0);
}

}  // namespace
}  // namespace nines::store
