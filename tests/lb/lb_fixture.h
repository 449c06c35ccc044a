// A load balancer in front of test backends, all real processes on their own
// loopback addresses (127.0.N.x, N unique per test), for integration tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::test {

struct BackendSpec {
  BackendSpec(std::string name_in, bool backup_in = false, std::string extra = "")
      : name(std::move(name_in)), backup(backup_in), extra_args(std::move(extra)) {}
  std::string name;
  bool backup = false;
  std::string extra_args;  // e.g. "--fail-status 503"
};

class LbFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> next{0};
    net_ = 30 + (next++ % 200);
    host_ = "127.0." + std::to_string(net_) + ".1";
    dir_ = TestDir(std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  void TearDown() override {
    lb_.Stop(SIGKILL, 5000);
    for (auto& [name, b] : backends_) b.Stop(SIGKILL, 5000);
  }

  std::string BackendHost(size_t i) const {
    return "127.0." + std::to_string(net_) + "." + std::to_string(11 + i);
  }
  std::string BackendAddress(size_t i) const { return BackendHost(i) + ":8081"; }

  void StartBackend(size_t i) {
    const BackendSpec& spec = specs_[i];
    std::vector<std::string> argv = {TestBackendBinary(), "--listen", BackendAddress(i), "--name",
                                     spec.name};
    if (!spec.extra_args.empty()) {
      size_t space = spec.extra_args.find(' ');
      argv.push_back(spec.extra_args.substr(0, space));
      argv.push_back(spec.extra_args.substr(space + 1));
    }
    backends_[spec.name] = ChildProcess(argv, dir_ + "/" + spec.name + ".log");
    ASSERT_TRUE(WaitUntil([&] { return http::Get(BackendHost(i), 8081, "/healthz").ok; }, 5000))
        << "backend " << spec.name << " did not start";
  }
  void KillBackend(size_t i) { backends_[specs_[i].name].Stop(SIGKILL, 5000); }

  // Writes lb.toml for `specs` plus `extra` top-level/table text.
  void WriteConfig(const std::vector<BackendSpec>& specs, const std::string& extra = "",
                   const std::string& health =
                       "interval_ms = 300\ntimeout_ms = 200\n"
                       "rise = 2\nfall = 2\n") {
    std::string text = "listen = \"" + host_ + ":8080\"\nadmin = \"" + host_ + ":9901\"\n" +
                       "threads = 2\n" + extra + "\n[health]\npath = \"/healthz\"\n" + health;
    for (size_t i = 0; i < specs.size(); ++i) {
      size_t index = IndexOf(specs[i].name);
      text += "[[server]]\nname = \"" + specs[i].name + "\"\naddress = \"" + BackendAddress(index) +
              "\"\nbackup = " + (specs[i].backup ? "true" : "false") + "\n";
    }
    WriteFile(config_path(), text);
  }

  // Starts backends and the balancer with `specs`.
  void StartAll(const std::vector<BackendSpec>& specs, const std::string& extra = "",
                const std::string& health =
                    "interval_ms = 300\ntimeout_ms = 200\n"
                    "rise = 2\nfall = 2\n") {
    for (const BackendSpec& s : specs) {
      IndexOf(s.name);
    }
    specs_ = specs;
    for (size_t i = 0; i < specs.size(); ++i) StartBackend(i);
    WriteConfig(specs, extra, health);
    StartLb();
  }

  void StartLb() {
    std::vector<std::string> argv = {NinesBinary(), "lb", "--config", config_path()};
    if (const char* level = std::getenv("NINES_TEST_LOG_LEVEL")) {
      argv.push_back("--log-level");
      argv.push_back(level);
    }
    lb_ = ChildProcess(argv, dir_ + "/lb.log");
    ASSERT_TRUE(WaitUntil([&] { return http::Get(host_, 9901, "/status").ok; }, 10000))
        << "lb did not start:\n"
        << lb_.Log();
  }

  size_t IndexOf(const std::string& name) {
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (specs_[i].name == name) return i;
    }
    specs_.push_back(BackendSpec(name));
    return specs_.size() - 1;
  }

  http::ClientResponse Get(const std::string& path, const std::string& headers = "") {
    // "Host: test", as the balancer tests expect to find it echoed.
    return http::Get(host_, 8080, path, http::ClientOptions().Host("test").Headers(headers));
  }
  std::string AdminGet(const std::string& path) { return http::Get(host_, 9901, path).body; }
  // "up", "down", "draining" or "" for server `name` in /status.
  std::string ServerState(const std::string& name);
  int BackendCount(size_t i) {
    http::ClientResponse r = http::Get(BackendHost(i), 8081, "/count");
    return r.ok ? std::stoi(r.body) : -1;
  }
  std::string config_path() const { return dir_ + "/lb.toml"; }

  int net_ = 0;
  std::string host_;
  std::string dir_;
  std::vector<BackendSpec> specs_;
  std::map<std::string, ChildProcess> backends_;
  ChildProcess lb_;
};

}  // namespace nines::test
