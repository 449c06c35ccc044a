// LoadEngine against test_backend: the open-loop schedule is kept, every
// request is accounted for, statuses are classified, a dead address fails
// within the deadline (after retries), and users bind their own source
// addresses (a bind failure would fail every request).
#include "drill/load_engine.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <thread>

#include "support/http_client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::drill {
namespace {

struct Backend {
  test::ChildProcess process;
  Backend(const std::string& listen, const std::vector<std::string>& extra,
          const std::string& log) {
    std::vector<std::string> argv = {test::TestBackendBinary(), "--listen", listen, "--name", "b"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = test::ChildProcess(argv, log);
    std::string host = listen.substr(0, listen.find(':'));
    int port = std::stoi(listen.substr(listen.find(':') + 1));
    EXPECT_TRUE(
        test::WaitUntil([&] { return test::HttpGet(host, port, "/healthz", "", 500).ok; }, 10000));
  }
  ~Backend() { process.Stop(SIGTERM, 5000); }
};

Totals RunLoad(const std::string& address, uint16_t port, double rate, int seconds,
               std::vector<SimUser> users, LoadOptions options = {},
               uint64_t* acknowledged_without_id = nullptr) {
  RegionResolver resolver({}, "shop.test.", {"10.1.0.0/24"});
  resolver.Pin(0, address);
  Timeline timeline(seconds + 1);
  asio::io_context io;
  int64_t start = LoadEngine::NowNanos();
  options.lb_port = port;
  LoadEngine engine(io, resolver, timeline, start, options);
  engine.Start(LoadSchedule(rate, start, int64_t{seconds} * 1'000'000'000), users);
  std::thread loop([&] { io.run(); });
  EXPECT_TRUE(test::WaitUntil([&] { return engine.Idle(); }, (seconds + 15) * 1000));
  engine.StopSending();
  io.stop();
  loop.join();
  if (acknowledged_without_id) {
    *acknowledged_without_id = engine.counters().acknowledged_without_id;
    EXPECT_TRUE(engine.Acknowledged().empty());
  }
  return timeline.totals();
}

TEST(LoadEngine, EveryScheduledRequestSucceedsAgainstAHealthyServer) {
  std::string dir = test::TestDir("load_engine_ok");
  Backend backend("127.0.9.1:18080", {}, dir + "/backend.log");
  std::vector<SimUser> users = {{"127.0.9.100", 0}, {"127.0.9.101", 0}};
  Totals t = RunLoad("127.0.9.1", 18080, 100, 2, users);
  EXPECT_EQ(t.regular(), 200u);
  EXPECT_EQ(t.ok, 200u);
  EXPECT_EQ(t.failed, 0u);
  // The server saw each request exactly once (no duplicate from a retry).
  test::HttpResult count = test::HttpGet("127.0.9.1", 18080, "/count");
  ASSERT_TRUE(count.ok);
  EXPECT_EQ(std::stoi(count.body), 200);
}

// test_backend answers POST /orders with 200 "NAME": a success for
// availability, but an acknowledged write that can never be read back.
TEST(LoadEngine, A2xxToAPostWithoutAnIdIsCountedAsUncheckable) {
  std::string dir = test::TestDir("load_engine_no_id");
  Backend backend("127.0.9.5:18080", {}, dir + "/backend.log");
  uint64_t without_id = 0;
  Totals t = RunLoad("127.0.9.5", 18080, 50, 1, {{"127.0.9.100", 0}}, {}, &without_id);
  EXPECT_EQ(t.ok, 50u);
  EXPECT_EQ(without_id, 50u);  // every request was a POST: no id yet to read
}

TEST(LoadEngine, ServerErrorsAndRateLimitsAreClassified) {
  std::string dir = test::TestDir("load_engine_status");
  Backend failing("127.0.9.2:18080", {"--fail-status", "503"}, dir + "/b503.log");
  Totals t = RunLoad("127.0.9.2", 18080, 50, 1, {{"127.0.9.100", 0}});
  EXPECT_EQ(t.regular(), 50u);
  EXPECT_EQ(t.failed, 50u);
  Backend limiting("127.0.9.3:18080", {"--fail-status", "429"}, dir + "/b429.log");
  Totals l = RunLoad("127.0.9.3", 18080, 50, 1, {{"127.0.9.100", 0}});
  EXPECT_EQ(l.rate_limited, 50u);
  EXPECT_EQ(l.ok, 0u);
}

TEST(LoadEngine, DeadAddressFailsWithinTheDeadline) {
  LoadOptions options;
  options.request_timeout_ms = 800;
  auto started = std::chrono::steady_clock::now();
  Totals t = RunLoad("127.0.9.4", 18080, 20, 1, {{"127.0.9.100", 0}}, options);
  EXPECT_EQ(t.regular(), 20u);
  EXPECT_EQ(t.failed, 20u);
  // Bounded: retries stop at the deadline (generous bound, not a speed test).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

}  // namespace
}  // namespace nines::drill
