// Snapshots taken in the background (store/store_snapshots.cc): the Raft
// loop goes on committing while a snapshot is written (a manual runner, and
// a real forked child held at its fsync), a crash at any point of a
// background snapshot loses nothing (recovery uses the previous snapshot and
// the WAL), and a failed snapshot (ENOSPC) changes nothing and is retried.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "faulty_file.h"
#include "node_harness.h"
#include "store/fork_snapshot_runner.h"
#include "store/snapshot_file.h"
#include "store/snapshot_runner.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeHarness;
using testing::SetCommand;

std::string Key(int i) {
  return "k" + std::to_string(i);
}

// Writes keys [from, to) with value "v<i>", each acknowledged.
void WriteKeys(NodeHarness& h, StoreNode& node, int from, int to) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(h.Write(node, SetCommand(Key(i), "v" + std::to_string(i)))) << i;
  }
}

void ExpectKeys(const StoreNode& node, int count) {
  for (int i = 0; i < count; ++i) {
    const KvEntry* e = node.state().Find(Key(i), node.WallMs());
    ASSERT_NE(e, nullptr) << Key(i);
    EXPECT_EQ(e->value, "v" + std::to_string(i));
  }
}

// Restarts from the data directory and checks every acknowledged key.
void ExpectRecovers(NodeHarness& h, int count) {
  std::unique_ptr<StoreNode> node = h.Make();
  Status s = node->Recover();
  ASSERT_TRUE(s.ok()) << s.ToString();
  node->CampaignIfAlone();
  h.Settle(*node);
  ExpectKeys(*node, count);
}

size_t SnapshotFiles(const std::string& dir) {
  std::vector<SnapshotFileInfo> files;
  EXPECT_TRUE(ListSnapshots(PosixFileSystem(), dir + "/snap", &files).ok());
  return files.size();
}

TEST(BackgroundSnapshotTest, LoopKeepsCommittingWhileTheSnapshotIsWritten) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.snapshot_entries = 5;
  auto runner = std::make_shared<ManualSnapshotRunner>();
  h.snapshot_runner_ = runner;
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  WriteKeys(h, *node, 0, 5);
  ASSERT_TRUE(runner->running()) << "a snapshot job starts after snapshot_entries entries";
  // The job is not done: writes go on, and no second job starts meanwhile.
  WriteKeys(h, *node, 5, 100);
  h.Tick(*node);
  EXPECT_TRUE(runner->running());
  EXPECT_EQ(node->counters().snapshots, 0u);
  EXPECT_EQ(node->counters().snapshots_started, 1u);
  EXPECT_EQ(SnapshotFiles(dir.path()), 0u);
  // Once written, the next tick records it (marker, compaction).
  ASSERT_TRUE(runner->RunPending());
  h.Tick(*node);
  EXPECT_EQ(node->counters().snapshots, 1u);
  EXPECT_EQ(SnapshotFiles(dir.path()), 1u);
  ASSERT_TRUE(node->Close().ok());
  node.reset();
  ExpectRecovers(h, 100);
}

// A file system whose snapshot files block in Sync until a gate file
// exists: the forked child waits there (a slow disk), the parent goes on.
class GatedFileSystem : public FileSystem {
 public:
  GatedFileSystem(FileSystem* base, std::string gate) : base_(base), gate_(std::move(gate)) {}

  Status Create(const std::string& path, std::unique_ptr<File>* file) override {
    Status s = base_->Create(path, file);
    if (s.ok() && path.ends_with(".snap.tmp"))
      *file = std::make_unique<Gated>(std::move(*file), gate_);
    return s;
  }
  Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) override {
    return base_->OpenAppend(path, file);
  }
  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override {
    return base_->ReadAll(path, max_bytes, contents);
  }
  Status List(const std::string& dir, std::vector<std::string>* names) override {
    return base_->List(dir, names);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Status Space(const std::string& path, DiskSpace* space) override {
    return base_->Space(path, space);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }

 private:
  class Gated : public File {
   public:
    Gated(std::unique_ptr<File> file, std::string gate)
        : file_(std::move(file)), gate_(std::move(gate)) {}
    Status Append(std::string_view data) override { return file_->Append(data); }
    Status Sync() override {
      // Polls for the gate (at most 60 s: a lost test must not hang).
      for (int i = 0; i < 6000 && ::access(gate_.c_str(), F_OK) != 0; ++i) {
        timespec ts{0, 10'000'000};
        ::nanosleep(&ts, nullptr);
      }
      return file_->Sync();
    }
    Status Close() override { return file_->Close(); }
    uint64_t Size() const override { return file_->Size(); }

   private:
    std::unique_ptr<File> file_;
    std::string gate_;
  };
  FileSystem* base_;
  std::string gate_;
};

TEST(BackgroundSnapshotTest, ForkedChildHeldAtItsFsyncDoesNotStopTheLoop) {
  testing::TempDir dir;
  const std::string gate = dir.path() + "/gate";
  GatedFileSystem fs(PosixFileSystem(), gate);
  NodeHarness h(dir.path() + "/data", &fs);
  h.config_.snapshot_entries = 5;
  auto runner = std::make_shared<ForkSnapshotRunner>();
  h.snapshot_runner_ = runner;
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  WriteKeys(h, *node, 0, 5);
  ASSERT_TRUE(runner->running());
  // The child cannot finish before the gate opens: everything here is
  // committed while it waits on its fsync.
  WriteKeys(h, *node, 5, 300);
  h.Tick(*node);
  EXPECT_TRUE(runner->running());
  EXPECT_EQ(node->counters().snapshots, 0u);
  {
    std::unique_ptr<File> f;
    ASSERT_TRUE(PosixFileSystem()->Create(gate, &f).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  for (int i = 0; i < 60000 && node->counters().snapshots == 0; ++i) {
    h.Tick(*node);
    timespec ts{0, 1'000'000};
    ::nanosleep(&ts, nullptr);
  }
  ASSERT_EQ(node->counters().snapshots, 1u);
  EXPECT_EQ(node->counters().snapshot_failures, 0u);
  // The snapshot holds the state at its index (5 entries after the
  // bootstrap), not the later writes: a point-in-time view.
  std::vector<SnapshotFileInfo> files;
  ASSERT_TRUE(ListSnapshots(PosixFileSystem(), dir.path() + "/data/snap", &files).ok());
  // The tick that recorded it may have started the next snapshot already
  // (the 300 writes are past snapshot_entries), whose file can land by now:
  // the first one is the oldest.
  ASSERT_FALSE(files.empty());
  SnapshotMeta meta;
  std::string content;
  ASSERT_TRUE(LoadSnapshot(PosixFileSystem(), files[0].path, 1u << 30, &meta, &content).ok());
  EXPECT_LT(meta.index, 20u);
  ASSERT_TRUE(node->Close().ok());
  node.reset();
  ExpectRecovers(h, 300);
}

// Crash points of a background snapshot: before its file is written, after
// the file is durable but before its WAL marker, and after the marker.
TEST(BackgroundSnapshotTest, CrashDuringABackgroundSnapshotLosesNothing) {
  enum class CrashPoint { kBeforeWrite, kAfterWriteBeforeMarker, kAfterMarker };
  for (CrashPoint point :
       {CrashPoint::kBeforeWrite, CrashPoint::kAfterWriteBeforeMarker, CrashPoint::kAfterMarker}) {
    SCOPED_TRACE(static_cast<int>(point));
    testing::TempDir dir;
    testing::FaultyFileSystem fs;
    NodeHarness h(dir.path(), &fs);
    h.config_.snapshot_entries = 10;
    auto runner = std::make_shared<ManualSnapshotRunner>();
    h.snapshot_runner_ = runner;
    {
      std::unique_ptr<StoreNode> node = h.Make();
      ASSERT_TRUE(h.StartAlone(*node));
      // A first snapshot, recorded: the one recovery falls back to.
      WriteKeys(h, *node, 0, 10);
      ASSERT_TRUE(runner->RunPending());
      h.Tick(*node);
      ASSERT_EQ(node->counters().snapshots, 1u);
      // The second one, with writes after it started.
      WriteKeys(h, *node, 10, 25);
      ASSERT_TRUE(runner->running());
      WriteKeys(h, *node, 25, 40);
      if (point != CrashPoint::kBeforeWrite) {
        ASSERT_TRUE(runner->RunPending());
      }
      if (point == CrashPoint::kAfterMarker) {
        h.Tick(*node);
        ASSERT_EQ(node->counters().snapshots, 2u);
      }
      fs.SimulateCrash();  // everything not fsynced is gone
      node.reset();
    }
    h.snapshot_runner_ = std::make_shared<InlineSnapshotRunner>();
    ExpectRecovers(h, 40);
  }
}

TEST(BackgroundSnapshotTest, FailedSnapshotIsRetriedLaterWithoutHarm) {
  testing::TempDir dir;
  testing::FaultyFileSystem fs;
  NodeHarness h(dir.path(), &fs);
  h.config_.snapshot_entries = 5;
  auto runner = std::make_shared<ManualSnapshotRunner>();
  h.snapshot_runner_ = runner;
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  WriteKeys(h, *node, 0, 5);
  ASSERT_TRUE(runner->running());
  fs.FailWritesAfter(20, ENOSPC);  // the disk fills up in the middle of the file
  ASSERT_TRUE(runner->RunPending());
  fs.ClearFaults();
  h.Tick(*node);
  EXPECT_EQ(node->counters().snapshot_failures, 1u);
  EXPECT_EQ(node->counters().snapshots, 0u);
  // The member goes on; no new attempt before the retry delay.
  WriteKeys(h, *node, 5, 20);
  EXPECT_FALSE(runner->running());
  EXPECT_EQ(node->counters().snapshots_started, 1u);
  for (int i = 0; i < 200 && !runner->running(); ++i) h.Tick(*node);
  ASSERT_TRUE(runner->running()) << "the snapshot is tried again";
  EXPECT_EQ(node->counters().snapshots_started, 2u);
  ASSERT_TRUE(runner->RunPending());
  h.Tick(*node);
  EXPECT_EQ(node->counters().snapshots, 1u);
  // No leftover of the failed attempt.
  std::vector<std::string> names;
  ASSERT_TRUE(PosixFileSystem()->List(dir.path() + "/snap", &names).ok());
  for (const std::string& name : names) EXPECT_FALSE(name.ends_with(".tmp")) << name;
  fs.SimulateCrash();
  node.reset();
  h.snapshot_runner_ = nullptr;
  ExpectRecovers(h, 20);
}

// A runner error at start (fork failed) is a failed snapshot too.
class RefusingRunner : public SnapshotRunner {
 public:
  Status Start(SnapshotJob) override { return Status::IoError("fork: out of memory"); }
  std::optional<Status> Poll() override { return std::nullopt; }
  bool running() const override { return false; }
  void Abandon() override {}
};

TEST(BackgroundSnapshotTest, RunnerThatCannotStartLeavesTheMemberServing) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.snapshot_entries = 5;
  h.snapshot_runner_ = std::make_shared<RefusingRunner>();
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  WriteKeys(h, *node, 0, 30);
  EXPECT_EQ(node->counters().snapshot_failures, 1u);
  EXPECT_EQ(node->counters().snapshots, 0u);
  ASSERT_TRUE(node->Close().ok());
  node.reset();
  ExpectRecovers(h, 30);
}

}  // namespace
}  // namespace nines::store
