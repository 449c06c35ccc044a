// The forked snapshot child (store/fork_snapshot_runner.h) runs none of its
// parent's signal handlers. The store's are Asio's (SIGTERM, SIGINT): it
// writes the signal number to its pipe's descriptor, a number the child has
// closed and may have reused for the snapshot file; and a Ctrl-C in a
// terminal or a systemd stop signals the child along with its parent.
#include "store/fork_snapshot_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "test_util.h"

namespace nines::store {
namespace {

char g_handler_ran[512];  // the file the test's handler creates

void RecordHandlerRan(int) {
  int fd = ::open(g_handler_ran, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void SleepMs(long ms) {
  timespec ts{0, ms * 1'000'000};
  ::nanosleep(&ts, nullptr);
}

// The pid of this process's only child (0: none found).
pid_t OnlyChild() {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  pid_t found = 0;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so from the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid()) {
      found = pid;
    }
  }
  ::closedir(proc);
  return found;
}

TEST(ForkSnapshotRunner, TheChildRunsNoneOfTheParentsSignalHandlers) {
  testing::TempDir dir;
  const std::string ready = dir.Sub("ready");
  const std::string gate = dir.Sub("gate");
  std::snprintf(g_handler_ran, sizeof(g_handler_ran), "%s", dir.Sub("handler-ran").c_str());
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = RecordHandlerRan;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(::sigaction(SIGTERM, &action, &previous), 0);

  ForkSnapshotRunner runner;
  SnapshotJob job;
  job.serialize = [] { return std::string("content"); };
  job.write = [ready, gate](std::string_view) {
    // In the child: tells the test it runs, then waits for the gate.
    int fd = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    for (int i = 0; i < 20000 && !Exists(gate); ++i) SleepMs(1);
    return Status::Ok();
  };
  ASSERT_TRUE(runner.Start(std::move(job)).ok());
  for (int i = 0; i < 10000 && !Exists(ready); ++i) SleepMs(1);
  ASSERT_TRUE(Exists(ready)) << "the child never ran its job";
  const pid_t child = OnlyChild();
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(child, SIGTERM), 0);

  // Until the signal has landed: the handler ran, or the child ended.
  std::optional<Status> outcome;
  for (int i = 0; i < 10000 && !outcome && !Exists(g_handler_ran); ++i) {
    outcome = runner.Poll();
    if (!outcome) SleepMs(1);
  }
  { std::ofstream open_gate(gate); }
  for (int i = 0; i < 20000 && !outcome; ++i) {
    outcome = runner.Poll();
    if (!outcome) SleepMs(1);
  }
  ASSERT_EQ(::sigaction(SIGTERM, &previous, nullptr), 0);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(Exists(g_handler_ran)) << "the child ran the parent's SIGTERM handler";
}

}  // namespace
}  // namespace nines::store
