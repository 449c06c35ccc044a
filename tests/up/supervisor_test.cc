// The supervisor with a real child (the built `nines`) on a manual clock: a
// child that exits with status 2 (bad config) is not restarted, and the event
// says why; a kill of a node that is not running is refused (a drill fault
// with no effect). The slow fault's duty cycle on a child that sleeps: stopped
// and continued on the manual clock's beat, and ended by itself at for_ms.
#include "up/supervisor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/process.h"
#include "support/wait.h"

namespace nines::up {
namespace {

// One app child named broken-app whose config is bad (it exits with status 2).
NodeSpec BrokenApp(const std::string& dir) {
  std::filesystem::create_directories(dir + "/logs");
  NodeSpec spec;
  spec.name = "broken-app";
  spec.kind = NodeKind::kApp;
  spec.config_path = dir + "/broken.toml";
  test::WriteFile(spec.config_path, "listen = \"not an address\"\n");
  return spec;
}

// Starts the supervisor's children and waits until the first has exited with status 2.
bool StartAndWaitForExit2(Supervisor& sup, const Clock& clock) {
  sup.StartAll(clock.NowMillis());
  return test::WaitUntil(
      [&] {
        sup.Tick(clock.NowMillis());
        return sup.Snapshot()[0].last_exit == "exit 2";
      },
      10000);
}

TEST(Supervisor, BadConfigExitIsNotRestarted) {
  std::string dir = test::TestDir("supervisor_bad_config");
  Supervisor sup({BrokenApp(dir)}, dir, test::NinesBinary());
  ManualClock clock;
  ASSERT_TRUE(StartAndWaitForExit2(sup, clock)) << sup.Snapshot()[0].last_exit;
  // Its backoff would be 250 ms (8 s at most): past that, it would (wrongly) restart.
  clock.AdvanceMillis(2 * RestartBackoffMs(1000));
  sup.Tick(clock.NowMillis());
  EXPECT_EQ(sup.Snapshot()[0].restarts, 0);
  EXPECT_EQ(sup.Snapshot()[0].state, NodeState::kStopped);
  bool explained = false;
  for (const std::string& e : sup.Events()) {
    explained = explained || (e.find("broken-app") != std::string::npos &&
                              e.find("bad config") != std::string::npos &&
                              e.find("logs/broken-app.log") != std::string::npos);
  }
  EXPECT_TRUE(explained);
  sup.StopAll(2000);
}

TEST(Supervisor, KillOfANodeThatIsNotRunningIsRefused) {
  std::string dir = test::TestDir("supervisor_kill_not_running");
  Supervisor sup({BrokenApp(dir)}, dir, test::NinesBinary());
  ManualClock clock;
  ASSERT_TRUE(StartAndWaitForExit2(sup, clock)) << sup.Snapshot()[0].last_exit;
  Status refused = sup.Kill("broken-app");
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("not running"), std::string::npos) << refused.ToString();
  Status unknown = sup.Kill("nope");
  EXPECT_TRUE(unknown.IsNotFound()) << unknown.ToString();
  EXPECT_NE(unknown.message().find("no node"), std::string::npos);
  sup.StopAll(2000);
}

// A node whose "binary" is a shell script that sleeps (the supervisor's
// arguments are ignored): a process that stays up without any address.
NodeSpec Sleeper(const std::string& dir, std::string* binary) {
  std::filesystem::create_directories(dir + "/logs");
  *binary = dir + "/sleeper.sh";
  test::WriteFile(*binary, "#!/bin/sh\nexec sleep 120\n");
  std::filesystem::permissions(*binary, std::filesystem::perms::owner_all);
  NodeSpec spec;
  spec.name = "sleeper";
  spec.kind = NodeKind::kApp;
  spec.config_path = dir + "/unused.toml";
  return spec;
}

// The state letter of /proc/PID/stat: 'T' stopped, 'S' sleeping, ...
char ProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  size_t paren = s.rfind(')');
  return paren == std::string::npos || paren + 2 >= s.size() ? '?' : s[paren + 2];
}

bool WaitForState(pid_t pid, bool stopped) {
  return test::WaitUntil([&] { return (ProcState(pid) == 'T') == stopped; }, 5000, 5);
}

TEST(Supervisor, SlowStopsAndContinuesOnItsBeatAndEndsByItself) {
  std::string dir = test::TestDir("supervisor_slow");
  std::string binary;
  NodeSpec spec = Sleeper(dir, &binary);
  ManualClock clock;
  Supervisor sup({spec}, dir, binary, clock);
  sup.StartAll(clock.NowMillis());
  pid_t pid = sup.Snapshot()[0].pid;
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(test::WaitUntil([&] { return ProcState(pid) == 'S'; }, 5000, 5));

  SlowSpec bad;
  bad.stop_ms = 500;
  bad.period_ms = 500;
  EXPECT_EQ(sup.Slow("sleeper", bad).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(sup.Slow("nope", SlowSpec()).IsNotFound());

  SlowSpec slow;  // 400 ms stopped of every 500, for 1.2 s
  slow.stop_ms = 400;
  slow.period_ms = 500;
  slow.for_ms = 1200;
  ASSERT_TRUE(sup.Slow("sleeper", slow).ok());
  EXPECT_EQ(sup.Snapshot()[0].state, NodeState::kSlow);
  EXPECT_TRUE(WaitForState(pid, true)) << "stopped at once";
  clock.AdvanceMillis(399);
  sup.Tick(clock.NowMillis());
  EXPECT_EQ(ProcState(pid), 'T') << "still in the stopped part of the period";
  clock.AdvanceMillis(1);
  sup.Tick(clock.NowMillis());
  EXPECT_TRUE(WaitForState(pid, false)) << "running for the last 100 ms of the period";
  clock.AdvanceMillis(100);
  sup.Tick(clock.NowMillis());
  EXPECT_TRUE(WaitForState(pid, true)) << "the next period starts stopped";
  // Past for_ms: continued and no longer slow, without any call to Fast.
  clock.AdvanceMillis(700);
  sup.Tick(clock.NowMillis());
  EXPECT_TRUE(WaitForState(pid, false));
  EXPECT_NE(sup.Snapshot()[0].state, NodeState::kSlow);
  bool ended = false;
  for (const std::string& e : sup.Events()) {
    ended = ended || e.find("slow ended") != std::string::npos;
  }
  EXPECT_TRUE(ended);
  // Further ticks leave it running.
  clock.AdvanceMillis(100);
  sup.Tick(clock.NowMillis());
  EXPECT_NE(ProcState(pid), 'T');

  // Fast ends it at once, in the stopped part; a second Fast is a no-op.
  slow.for_ms = 0;
  ASSERT_TRUE(sup.Slow("sleeper", slow).ok());
  EXPECT_TRUE(WaitForState(pid, true));
  EXPECT_TRUE(sup.Fast("sleeper").ok());
  EXPECT_TRUE(WaitForState(pid, false));
  EXPECT_TRUE(sup.Fast("sleeper").ok());
  clock.AdvanceMillis(500);
  sup.Tick(clock.NowMillis());
  EXPECT_NE(ProcState(pid), 'T');

  // Freeze takes over from slow: the beat must not continue a frozen process.
  ASSERT_TRUE(sup.Slow("sleeper", slow).ok());
  ASSERT_TRUE(sup.Freeze("sleeper").ok());
  clock.AdvanceMillis(450);
  sup.Tick(clock.NowMillis());
  EXPECT_TRUE(WaitForState(pid, true));
  EXPECT_EQ(sup.Snapshot()[0].state, NodeState::kFrozen);
  EXPECT_EQ(sup.Slow("sleeper", slow).code(), Status::Code::kFailedPrecondition);
  ASSERT_TRUE(sup.Thaw("sleeper").ok());
  EXPECT_TRUE(WaitForState(pid, false));
  sup.StopAll(2000);
}

}  // namespace
}  // namespace nines::up
