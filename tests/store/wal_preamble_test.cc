// A new WAL segment's preamble (the store's hard state) must be durable
// before the segment is used, and a segment a crash left with nothing after
// its header gets its preamble back at recovery: otherwise compaction of the
// older segments can delete the only copy of the term and vote (found by
// nines_sim_store; docs/raft.md "Whole store members").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "faulty_file.h"
#include "store/wal.h"
#include "store/wal_format.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::FaultyFileSystem;
using testing::TempDir;

struct Records {
  std::vector<std::string> payloads;
  Wal::RecordCallback Callback() {
    return [this](uint64_t, std::string_view payload) {
      payloads.emplace_back(payload);
      return Status::Ok();
    };
  }
};

WalOptions Options(const std::string& preamble) {
  WalOptions options;
  options.segment_bytes = 320;
  options.segment_preamble = [preamble](WalBatch* batch) { batch->Add(0, preamble); };
  return options;
}

// Opens, closes, and returns the payloads recovery read.
std::vector<std::string> Reopen(FileSystem* fs, const std::string& dir, const std::string& preamble,
                                size_t* segments = nullptr) {
  Records records;
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status s = Wal::Open(fs, dir, Options(preamble), records.Callback(), &wal, &report);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (segments && wal) *segments = wal->segments().size();
  if (wal) (void)wal->Close();
  return records.payloads;
}

TEST(WalPreamble, ARolledSegmentsPreambleIsDurableBeforeTheBatchAfterIt) {
  TempDir dir;
  FaultyFileSystem fs;
  {
    Records records;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    ASSERT_TRUE(
        Wal::Open(&fs, dir.path(), Options("H-old"), records.Callback(), &wal, &report).ok());
    ASSERT_TRUE(wal->Append(1, std::string(200, 'a')).ok());
    ASSERT_TRUE(wal->Sync().ok());
    // Rolls: segment 2 starts with the preamble, then this record (never synced).
    ASSERT_TRUE(wal->Append(2, std::string(200, 'b')).ok());
    ASSERT_EQ(wal->segments().size(), 2u);
  }
  fs.SimulateCrash(0);  // power cut before the batch's fsync
  std::vector<std::string> payloads = Reopen(&fs, dir.path(), "H-new");
  ASSERT_FALSE(payloads.empty());
  EXPECT_EQ(payloads.back(), "H-old");  // segment 2 still repeats the hard state
}

TEST(WalPreamble, AHeaderOnlyLastSegmentGetsItsPreambleAtRecovery) {
  for (bool zero_filled : {false, true}) {
    TempDir dir;
    {
      Records records;
      std::unique_ptr<Wal> wal;
      WalRecoveryReport report;
      ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir.path(), Options("H-1"), records.Callback(), &wal,
                            &report)
                      .ok());
      ASSERT_TRUE(wal->Append(1, "entry").ok());
      ASSERT_TRUE(wal->Sync().ok());
    }
    // What a crash in StartSegment (or before the preamble's fsync) leaves:
    // segment 2 with its header and nothing else (or zeros after it).
    std::string header;
    wal::EncodeSegmentHeader(2, &header);
    if (zero_filled) header.append(64, '\0');
    std::unique_ptr<File> file;
    ASSERT_TRUE(PosixFileSystem()->Create(dir.Sub(wal::SegmentFileName(2)), &file).ok());
    ASSERT_TRUE(file->Append(header).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());

    (void)Reopen(PosixFileSystem(), dir.path(), "H-recovered");
    // Segment 2 now repeats the hard state, so segment 1 may be compacted away.
    std::string contents;
    ASSERT_TRUE(
        PosixFileSystem()->ReadAll(dir.Sub(wal::SegmentFileName(2)), 1 << 20, &contents).ok());
    EXPECT_NE(contents.find("H-recovered"), std::string::npos) << "zero_filled=" << zero_filled;
    size_t segments = 0;
    std::vector<std::string> payloads = Reopen(PosixFileSystem(), dir.path(), "unused", &segments);
    EXPECT_EQ(segments, 2u);
    ASSERT_FALSE(payloads.empty());
    EXPECT_EQ(payloads.back(), "H-recovered");
  }
}

// A process crash (not a power loss) between a write and its fsync leaves
// the records in the page cache: recovery reads them and the member acts on
// them (a vote it then repeats without writing anything new). They must be
// made durable before the WAL is used, or a later power loss takes back a
// vote or an acknowledged entry (found by an adversarial read).
TEST(WalPreamble, RecordsRecoveryReadsAreDurableBeforeTheWalIsUsed) {
  TempDir dir;
  FaultyFileSystem fs;
  {
    Records records;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    ASSERT_TRUE(
        Wal::Open(&fs, dir.path(), Options("H-old"), records.Callback(), &wal, &report).ok());
    WalBatch batch;
    batch.Add(0, "H-vote-for-2");
    ASSERT_TRUE(wal->Write(batch).ok());
    // The process dies here: written, never synced.
  }
  ASSERT_GT(fs.unsynced_bytes(), 0u);
  {
    Records records;
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    ASSERT_TRUE(
        Wal::Open(&fs, dir.path(), Options("H-old"), records.Callback(), &wal, &report).ok());
    ASSERT_FALSE(records.payloads.empty());
    EXPECT_EQ(records.payloads.back(), "H-vote-for-2");
    EXPECT_EQ(fs.unsynced_bytes(), 0u) << "recovery acted on records that are not durable";
  }
  fs.SimulateCrash();  // a power loss
  std::vector<std::string> after = Reopen(&fs, dir.path(), "H-old");
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back(), "H-vote-for-2");
}

}  // namespace
}  // namespace nines::store
