// The supervisor with a real child (the built `nines`) on a manual clock: a
// child that exits with status 2 (bad config) is not restarted, and the event
// says why; a kill of a node that is not running is refused (a drill fault
// with no effect).
#include "up/supervisor.h"

#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace nines::up
