// The run directory's marker and what --fresh may delete: only conf/, logs/,
// data/ and up.pid, only in a directory nines up marked; anything else is
// refused and left as it was.
#include "up/run_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/process.h"

namespace nines::up {
namespace {

namespace fs = std::filesystem;

void Touch(const std::string& path) {
  std::ofstream(path) << "x\n";
}

TEST(RunDir, NewDirectoryIsMarkedAndWipedOfOnlyWhatNinesMade) {
  std::string dir = test::TestDir("run_dir_marked") + "/run";
  ASSERT_EQ(PrepareRunDir(dir).ToString(), "ok");
  EXPECT_TRUE(IsNinesRunDir(dir));
  Touch(dir + "/conf/a.toml");
  Touch(dir + "/logs/a.log");
  Touch(dir + "/up.pid");
  Touch(dir + "/notes.txt");  // the user's, inside a marked directory
  ASSERT_EQ(WipeRunDir(dir).ToString(), "ok");
  EXPECT_FALSE(fs::exists(dir + "/conf"));
  EXPECT_FALSE(fs::exists(dir + "/logs"));
  EXPECT_FALSE(fs::exists(dir + "/up.pid"));
  EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
  EXPECT_TRUE(IsNinesRunDir(dir));
}

TEST(RunDir, ForeignDirectoryIsRefusedAndNeverMarked) {
  std::string dir = test::TestDir("run_dir_foreign");
  fs::create_directories(dir + "/data");
  Touch(dir + "/data/precious.db");
  Touch(dir + "/README");
  // Running there is allowed, but it does not claim the directory.
  ASSERT_EQ(PrepareRunDir(dir).ToString(), "ok");
  EXPECT_FALSE(IsNinesRunDir(dir));
  Status s = WipeRunDir(dir);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("refusing"), std::string::npos) << s.ToString();
  EXPECT_TRUE(fs::exists(dir + "/data/precious.db"));
  EXPECT_TRUE(fs::exists(dir + "/README"));
}

TEST(RunDir, EmptyOrMissingDirectoryNeedsNothing) {
  std::string dir = test::TestDir("run_dir_empty");
  EXPECT_EQ(WipeRunDir(dir + "/missing").ToString(), "ok");
  fs::create_directories(dir + "/empty");
  EXPECT_EQ(WipeRunDir(dir + "/empty").ToString(), "ok");
  ASSERT_EQ(PrepareRunDir(dir + "/empty").ToString(), "ok");
  EXPECT_TRUE(IsNinesRunDir(dir + "/empty"));
}

TEST(RunDir, SymlinkedSubdirectoryLosesOnlyTheLink) {
  std::string dir = test::TestDir("run_dir_link");
  std::string outside = dir + "/outside";
  fs::create_directories(outside);
  Touch(outside + "/keep.txt");
  ASSERT_EQ(PrepareRunDir(dir + "/run").ToString(), "ok");
  fs::remove_all(dir + "/run/data");
  fs::create_directory_symlink(outside, dir + "/run/data");
  ASSERT_EQ(WipeRunDir(dir + "/run").ToString(), "ok");
  EXPECT_FALSE(fs::exists(dir + "/run/data"));
  EXPECT_TRUE(fs::exists(outside + "/keep.txt"));
}

}  // namespace
}  // namespace nines::up
