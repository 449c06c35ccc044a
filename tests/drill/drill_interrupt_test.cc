// A gray fault never outlives the drill that injected it: against a running
// `nines up`, a drill interrupted (SIGINT) while `slow` holds an app server
// undoes it on its way out, and one killed (SIGKILL) leaves it to `nines up`,
// which ends it at the end of the fault's hold. Either way the process is
// left running, not stopped (/proc/PID/stat). The store's gray faults
// (disk-full, slow-disk, clock) with the drill's own `nines up --gray-faults`: each is
// injected, has its effect and is undone; a drill killed mid-fault takes its
// `nines up` with it, and nothing is left mounted or running.
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::test {
namespace {

constexpr const char* kApi = "127.0.0.1:9900";

nlohmann::json State() {
  http::ClientResponse r =
      http::FetchAddress(kApi, "GET", "/api/state", "", http::ClientOptions().Timeout(2000));
  if (!r.ok || r.status != 200) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, false);
}

// The node's entry in /api/state, or null.
nlohmann::json Node(const std::string& name) {
  nlohmann::json s = State();
  if (!s.is_object()) return nullptr;
  for (const auto& n : s["nodes"]) {
    if (n["name"] == name) return n;
  }
  return nullptr;
}

bool AllRunningWithLeader() {
  nlohmann::json s = State();
  if (!s.is_object() || !s["store"]["leader"].is_string()) return false;
  for (const auto& n : s["nodes"]) {
    if (n["state"] != "running") return false;
  }
  return true;
}

// The state letter of /proc/PID/stat ('T': stopped).
char ProcState(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  size_t paren = s.rfind(')');
  return paren == std::string::npos || paren + 2 >= s.size() ? '?' : s[paren + 2];
}

// Whether the process is never seen stopped over 1.2 s (more than the slow
// fault's 700 ms period), sampled every 10 ms.
bool NeverStoppedFor1200Ms(int pid) {
  return !WaitUntil([&] { return ProcState(pid) == 'T'; }, 1200, 10);
}

ChildProcess StartDrill(const std::string& dir, const std::string& report) {
  return ChildProcess(
      {NinesBinary(), "drill", "--up", std::string("http://") + kApi, "--admin-token-file",
       dir + "/run/conf/admin.token", "--faults", "slow", "--duration", "20", "--rate", "20",
       "--report", report, "--startup-timeout", "60"},
      report + ".log");
}

// Waits until the drill says it injected the slow fault and `nines up` shows
// the node slow and, once, stopped.
void WaitForSlow(ChildProcess& drill, const std::string& app, int pid) {
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::string log = drill.Log();
        return log.find("fault slow " + app + " injected") != std::string::npos;
      },
      60000, 50))
      << drill.Log();
  nlohmann::json n = Node(app);
  ASSERT_TRUE(n.is_object());
  EXPECT_EQ(n["state"], "slow") << n.dump();
  EXPECT_TRUE(WaitUntil([&] { return ProcState(pid) == 'T'; }, 2000, 5));
}

TEST(DrillInterrupt, SlowIsUndoneOnSigintAndEndsByItselfAfterSigkill) {
  std::string dir = TestDir("drill_interrupt");
  ChildProcess up({NinesBinary(), "up", "--fresh", "--dir", dir + "/run"}, dir + "/up.log");
  ASSERT_TRUE(WaitUntil(AllRunningWithLeader, 150000, 250)) << up.Log();
  nlohmann::json s = State();
  std::string app = s["regions"][0]["name"].get<std::string>() + "-app-1";
  int pid = Node(app)["pid"].get<int>();
  ASSERT_GT(pid, 0);

  // SIGINT mid-fault: the drill undoes the fault before it exits.
  {
    ChildProcess drill = StartDrill(dir, dir + "/sigint");
    WaitForSlow(drill, app, pid);
    drill.Signal(SIGINT);
    int status = drill.Wait(60000);
    EXPECT_EQ(status, 1) << drill.Log();  // an interrupted run fails its verdict
    EXPECT_NE(Node(app)["state"], "slow");
    EXPECT_TRUE(NeverStoppedFor1200Ms(pid));
    std::ifstream in(dir + "/sigint/report.json");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json report = nlohmann::json::parse(text.str(), nullptr, false);
    ASSERT_TRUE(report.is_object()) << drill.Log();
    EXPECT_NE(report["fail_reasons"].dump().find("interrupted"), std::string::npos)
        << report["fail_reasons"].dump();
    ASSERT_EQ(report["faults"].size(), 1u);
    EXPECT_TRUE(report["faults"][0]["undone"].get<bool>());
    EXPECT_EQ(report["faults"][0]["kind"], "slow");
  }

  // SIGKILL mid-fault: nothing in the drill runs any more; `nines up` ends the
  // fault at the end of its hold (20 s run: 6.5 s), then the process runs.
  {
    ChildProcess drill = StartDrill(dir, dir + "/sigkill");
    WaitForSlow(drill, app, pid);
    int64_t killed_at = SteadyMs();
    drill.Signal(SIGKILL);
    EXPECT_EQ(drill.Wait(10000), 128 + SIGKILL);
    EXPECT_TRUE(WaitUntil([&] { return Node(app)["state"] != "slow"; }, 15000, 50));
    EXPECT_LT(SteadyMs() - killed_at, 8000);
    EXPECT_TRUE(NeverStoppedFor1200Ms(pid));
  }
  EXPECT_EQ(Node(app)["pid"], pid) << "the slow app server was never restarted";
  EXPECT_EQ(up.Stop(SIGINT, 60000), 0) << up.Log();
}

// Mount points under `dir` (/proc/mounts).
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/mounts");
  std::string device, mount_point, rest;
  while (in >> device >> mount_point && std::getline(in, rest)) {
    if (mount_point.rfind(dir + "/", 0) == 0) out.push_back(mount_point);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DrillInterrupt, StoreGrayFaultsTakeEffectAndLeaveNothingBehind) {
  if (geteuid() != 0) GTEST_SKIP() << "disk-full needs root (a tmpfs per store member)";
  std::string dir = TestDir("drill_gray_store");
  std::string run = std::filesystem::absolute(dir + "/full").string();
  {
    ChildProcess drill(
        {NinesBinary(), "drill", "--faults", "disk-full,slow-disk,clock", "--duration", "40",
         "--rate", "20", "--slo", "90", "--report", run, "--startup-timeout", "150"},
        dir + "/full.log");
    int status = drill.Wait(300000);
    if (status == -1) drill.Stop(SIGINT, 60000);
    nlohmann::json report = nlohmann::json::parse(ReadFile(run + "/report.json"), nullptr, false);
    ASSERT_TRUE(report.is_object()) << drill.Log();
    ASSERT_EQ(report["faults"].size(), 3u) << report.dump();
    const auto& full = report["faults"][0];
    EXPECT_EQ(full["kind"], "disk-full");
    EXPECT_FALSE(full["skipped"].get<bool>()) << full.dump();
    EXPECT_TRUE(full["undone"].get<bool>()) << full.dump();
    // The NOSPACE alarm hands leadership over: the fault is detected.
    EXPECT_FALSE(full["detected_after_ms"].is_null()) << full.dump() << drill.Log();
    std::string leader = full["target"];
    EXPECT_NE(ReadFile(run + "/run/logs/" + leader + ".log").find("NOSPACE"), std::string::npos);
    // Every fsync of the leader 200 ms late: the store's slow-disk guard
    // hands leadership over, and says so in the old leader's log.
    const auto& slow_disk = report["faults"][1];
    EXPECT_EQ(slow_disk["kind"], "slow-disk");
    EXPECT_FALSE(slow_disk["skipped"].get<bool>()) << slow_disk.dump();
    EXPECT_TRUE(slow_disk["undone"].get<bool>()) << slow_disk.dump();
    EXPECT_FALSE(slow_disk["detected_after_ms"].is_null()) << slow_disk.dump() << drill.Log();
    std::string slow_leader = slow_disk["target"];
    EXPECT_NE(ReadFile(run + "/run/logs/" + slow_leader + ".log").find("slow disk: handing"),
              std::string::npos);
    const auto& clock = report["faults"][2];
    EXPECT_EQ(clock["kind"], "clock");
    EXPECT_FALSE(clock["skipped"].get<bool>()) << clock.dump();
    EXPECT_TRUE(clock["undone"].get<bool>()) << clock.dump();
    EXPECT_EQ(report["writes"]["lost"], 0u) << report["writes"].dump();
    EXPECT_EQ(report["writes"]["mismatched"], 0u) << report["writes"].dump();
    EXPECT_TRUE(MountsUnder(run).empty());
  }

  // SIGKILL while disk-full is held: the drill's `nines up` stops as on
  // SIGTERM (--exit-with-parent), unmounting the members' tmpfs.
  std::string killed = std::filesystem::absolute(dir + "/killed").string();
  ChildProcess drill({NinesBinary(), "drill", "--faults", "disk-full", "--duration", "20", "--rate",
                      "20", "--report", killed, "--startup-timeout", "150"},
                     dir + "/killed.log");
  ASSERT_TRUE(WaitUntil([&] { return drill.Log().find("fault disk-full") != std::string::npos; },
                        200000, 50))
      << drill.Log();
  EXPECT_FALSE(MountsUnder(killed).empty()) << "the members' tmpfs while the fault is held";
  std::string log = drill.Log();
  size_t at = log.find("(pid ");
  ASSERT_NE(at, std::string::npos) << log;
  int up_pid = std::stoi(log.substr(at + 5));
  drill.Signal(SIGKILL);
  EXPECT_EQ(drill.Wait(10000), 128 + SIGKILL);
  // The up child (not ours: reparented) is gone once /proc/PID is, or is a
  // zombie of whoever adopted it.
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::string stat = ReadFile("/proc/" + std::to_string(up_pid) + "/stat");
        size_t paren = stat.rfind(')');
        return stat.empty() || (paren != std::string::npos && stat[paren + 2] == 'Z');
      },
      30000, 50));
  EXPECT_TRUE(MountsUnder(killed).empty());
  EXPECT_FALSE(
      http::FetchAddress(kApi, "GET", "/api/state", "", http::ClientOptions().Timeout(500)).ok)
      << "its nines up still answers";
}

}  // namespace
}  // namespace nines::test
