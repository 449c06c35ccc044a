// The supervisor with a real child (the built `nines`): a child that exits
// with status 2 (bad config) is not restarted, and the event says why; a
// kill of a node that is not running is refused (a drill fault with no effect).
#include "up/supervisor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/process.h"
#include "support/wait.h"

namespace nines::up {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
bool StartAndWaitForExit2(Supervisor& sup) {
  sup.StartAll(NowMs());
  return test::WaitUntil(
      [&] {
        sup.Tick(NowMs());
        return sup.Snapshot()[0].last_exit == "exit 2";
      },
      10000);
}

TEST(Supervisor, BadConfigExitIsNotRestarted) {
  std::string dir = test::TestDir("supervisor_bad_config");
  Supervisor sup({BrokenApp(dir)}, dir, test::NinesBinary());
  ASSERT_TRUE(StartAndWaitForExit2(sup)) << sup.Snapshot()[0].last_exit;
  // Its backoff would be 250 ms: give it four times that to (wrongly) restart.
  bool restarted = test::WaitUntil(
      [&] {
        sup.Tick(NowMs());
        return sup.Snapshot()[0].restarts > 0;
      },
      1000);
  EXPECT_FALSE(restarted);
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
  ASSERT_TRUE(StartAndWaitForExit2(sup)) << sup.Snapshot()[0].last_exit;
  std::string err = sup.Kill("broken-app");
  EXPECT_NE(err.find("not running"), std::string::npos) << err;
  EXPECT_NE(sup.Kill("nope").find("no node"), std::string::npos);
  sup.StopAll(2000);
}

}  // namespace
}  // namespace nines::up
