// One capacity step against test_backend: a fast server sustains the rate
// with every request answered; a slow one (400 ms) and a failing one (503)
// do not, and the step says why (p99, share not 2xx).
#include "drill/capacity_probe.h"

#include <gtest/gtest.h>

#include <atomic>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::drill {
namespace {

struct Backend {
  test::ChildProcess process;
  Backend(const std::string& host, const std::vector<std::string>& extra, const std::string& log) {
    std::vector<std::string> argv = {test::TestBackendBinary(), "--listen", host + ":18080",
                                     "--name", "b"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = test::ChildProcess(argv, log);
    EXPECT_TRUE(test::WaitUntil(
        [&] { return http::Get(host, 18080, "/healthz", http::ClientOptions().Timeout(500)).ok; },
        10000));
  }
  ~Backend() { process.Stop(SIGTERM, 5000); }
};

CapacityStep Step(const std::string& host, double rate) {
  RegionResolver resolver({}, "shop.test.", {"10.1.0.0/24"});
  resolver.Pin(0, host);
  std::vector<SimUser> users = CapacityUsers(0, 1);
  std::atomic<bool> interrupted{false};
  return RunCapacityStep(resolver, users, 18080, rate, 1000, CapacityCriteria{}, interrupted);
}

TEST(CapacityProbe, AFastServerSustainsTheStep) {
  std::string dir = test::TestDir("capacity_probe_fast");
  Backend backend("127.0.9.41", {}, dir + "/backend.log");
  CapacityStep s = Step("127.0.9.41", 200);
  EXPECT_EQ(s.requests, 200u);
  EXPECT_EQ(s.ok, 200u);
  EXPECT_EQ(s.unfinished, 0u);
  EXPECT_LT(s.p99_ms, 250);
  EXPECT_TRUE(s.sustained);
}

TEST(CapacityProbe, ASlowServerMissesTheLatencyObjective) {
  std::string dir = test::TestDir("capacity_probe_slow");
  Backend backend("127.0.9.42", {"--delay-ms", "400"}, dir + "/backend.log");
  CapacityStep s = Step("127.0.9.42", 50);
  EXPECT_EQ(s.requests, 50u);
  EXPECT_EQ(s.not_ok, 0u);
  EXPECT_GE(s.p99_ms, 400);
  EXPECT_FALSE(s.sustained);
}

TEST(CapacityProbe, A503IsNotOk) {
  std::string dir = test::TestDir("capacity_probe_503");
  Backend backend("127.0.9.43", {"--fail-status", "503"}, dir + "/backend.log");
  CapacityStep s = Step("127.0.9.43", 50);
  EXPECT_EQ(s.requests, 50u);
  EXPECT_EQ(s.not_ok, 50u);
  EXPECT_FALSE(s.sustained);
}

TEST(CapacityProbe, UsersAreDistinctClientsOfTheirRegion) {
  std::vector<SimUser> one = CapacityUsers(1, 3);
  ASSERT_EQ(one.size(), 250u);
  EXPECT_EQ(one.front().source_ip, "127.97.2.1");
  EXPECT_EQ(one.front().resolver_entry, 1u);
  std::vector<SimUser> all = CapacityUsers(3, 3);
  ASSERT_EQ(all.size(), 750u);
  EXPECT_EQ(all.back().source_ip, "127.97.3.250");
  EXPECT_EQ(all.back().resolver_entry, 2u);
}

}  // namespace
}  // namespace nines::drill
