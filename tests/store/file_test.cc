// PosixFileSystem::CreateDirs makes each directory it creates durable by
// fsyncing the directory that holds it (a crash must not lose a data
// directory whose files were already synced). fsync is interposed here to
// record which directories were synced.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <climits>
#include <set>
#include <string>

#include "store/file.h"
#include "test_util.h"

namespace {
std::set<std::string>* synced_paths = nullptr;  // set while a test records
}  // namespace

// Replaces libc's fsync for this test binary: records the path, then syncs.
extern "C" int fsync(int fd) {
  if (synced_paths != nullptr) {
    char path[PATH_MAX];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), path, sizeof(path) - 1);
    if (n > 0) synced_paths->insert(std::string(path, static_cast<size_t>(n)));
  }
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace nines::store {
namespace {

TEST(FileSystemTest, CreateDirsSyncsTheParentOfEveryDirectoryItCreates) {
  testing::TempDir dir;
  std::set<std::string> synced;
  synced_paths = &synced;
  Status s = PosixFileSystem()->CreateDirs(dir.Sub("a/b/c"));
  synced_paths = nullptr;
  ASSERT_TRUE(s.ok()) << s.ToString();
  char real[PATH_MAX];
  ASSERT_NE(::realpath(dir.path().c_str(), real), nullptr);
  const std::string root(real);
  EXPECT_EQ(synced.count(root), 1u) << "the parent of a/ was not synced";
  EXPECT_EQ(synced.count(root + "/a"), 1u);
  EXPECT_EQ(synced.count(root + "/a/b"), 1u);

  // Nothing new: nothing to sync.
  std::set<std::string> again;
  synced_paths = &again;
  s = PosixFileSystem()->CreateDirs(dir.Sub("a/b/c"));
  synced_paths = nullptr;
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(again.empty());
}

}  // namespace
}  // namespace nines::store
