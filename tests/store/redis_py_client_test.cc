// A real client library against three `nines store` processes (NINES_BIN):
// tests/store/redis_py_client.py drives them with Debian's python3-redis
// (hashes, lists, sets, sorted sets, pipelines, MULTI/EXEC, WATCH) while this
// test kills the leader with SIGKILL; the script retries through the other
// members and then checks that every acknowledged write is on every
// surviving member and no transaction is half applied.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

// Debian's interpreter: python3-redis installs into its dist-packages, which
// another python3 on the PATH (pyenv, a venv) does not see.
constexpr const char* kPython = "/usr/bin/python3";

long ReadCount(const std::string& path) {
  std::ifstream in(path);
  long n = -1;
  in >> n;
  return in ? n : -1;
}

TEST(RedisPyClient, SurvivesALeaderKillWithEveryAcknowledgedWrite) {
  ASSERT_EQ(std::system((std::string(kPython) + " -c 'import redis' 2>/dev/null").c_str()), 0)
      << "python3-redis is not installed (scripts/deps.sh installs it)";
  const char* source = std::getenv("NINES_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "NINES_SOURCE_DIR not set (run through ctest)";

  StoreGroup g("redis_py", 224);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";

  const std::string control = TestDir("store_redis_py_control");
  std::vector<std::string> argv = {kPython, std::string(source) + "/tests/store/redis_py_client.py",
                                   control};
  for (int i = 0; i < 3; ++i) argv.push_back(g.Addr(g.member(i).client));
  ChildProcess client(argv, control + "/client.log");

  // Kill the leader once the clients are well under way.
  ASSERT_TRUE(WaitUntil([&] { return ReadCount(control + "/progress") >= 30; }, 15000, 10))
      << "the client made no progress:\n"
      << client.Log();
  EXPECT_EQ(g.member(leader).process.Stop(SIGKILL, 2000), 128 + SIGKILL);
  WriteFile(control + "/killed", std::to_string(leader));

  const int status = client.Wait(40000);
  std::printf("%s", client.Log().c_str());
  EXPECT_EQ(status, 0) << "the client's checks failed (see its output above)";
  const int new_leader = g.WaitLeader({(leader + 1) % 3, (leader + 2) % 3});
  EXPECT_GE(new_leader, 0);
  EXPECT_NE(new_leader, leader);
}

}  // namespace
}  // namespace nines::test
