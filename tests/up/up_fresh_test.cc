// `nines up --fresh` deletes only what nines up made: pointed at a directory
// it did not create (a foreign file in it, no marker), it refuses with a clear
// error and exit status 1, and the file survives. The blueprint lives on this
// test's own loopback addresses (127.0.187.x), never the built-in ones.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/process.h"

namespace nines::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBlueprint = R"(dashboard = "127.0.187.250:9987"
[dns]
servers = ["127.0.187.240:5387"]
admin_port = 9988
[[region]]
name = "fresh"
location = [0, 0]
prefix = "127.0.187"
lbs = 1
apps = 1
stores = 1
)";

TEST(UpFresh, RefusesADirectoryNinesDidNotMake) {
  std::string dir = TestDir("up_fresh_refuses");
  std::string target = dir + "/mine";
  fs::create_directories(target);
  WriteFile(target + "/thesis.txt", "years of work\n");
  WriteFile(dir + "/blueprint.toml", kBlueprint);

  ChildProcess up({NinesBinary(), "up", dir + "/blueprint.toml", "--fresh", "--dir", target},
                  dir + "/up.log");
  int status = up.Wait(10000);
  if (status < 0) up.Stop(SIGKILL, 5000);  // the old code went on to run the blueprint
  EXPECT_EQ(status, 1) << up.Log();
  EXPECT_TRUE(fs::exists(target + "/thesis.txt")) << "--fresh deleted a file nines did not make";
  EXPECT_NE(up.Log().find("--fresh"), std::string::npos) << up.Log();
}

}  // namespace
}  // namespace nines::test
