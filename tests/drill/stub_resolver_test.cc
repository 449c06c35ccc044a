// The drill's clients resolve as a stub resolver does: an answer is kept for
// its TTL, a failed connection moves on to the next address of the answer,
// and nothing is looked up again before the TTL runs out unless
// reresolve_on_failure asks for the old browser-like behaviour. A fake DNS
// server (UDP, 127.0.9.31:18053) answers with two addresses and counts the
// queries; 127.0.9.32 has no server (connection refused), 127.0.9.33 runs
// test_backend.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>

#include <atomic>
#include <cstring>
#include <thread>

#include "drill/dns_lookup.h"
#include "drill/load_engine.h"
#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::drill {
namespace {

// Answers every A query with 127.0.9.32 and 127.0.9.33, TTL 60 s.
class FakeDns {
 public:
  FakeDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(18053);
    inet_pton(AF_INET, "127.0.9.31", &at.sin_addr);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0;
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  int queries() const { return queries_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      uint8_t q[512];
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      ssize_t n = recvfrom(fd_, q, sizeof(q), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      size_t end = 12;  // end of the question's name, then type and class
      while (end < static_cast<size_t>(n) && q[end] != 0) end += q[end] + 1;
      end += 5;
      if (end > static_cast<size_t>(n)) continue;
      ++queries_;
      std::vector<uint8_t> r(q, q + end);
      r[2] = 0x84;  // QR, AA
      r[3] = 0x00;
      r[6] = 0, r[7] = 2;               // ANCOUNT 2
      r[8] = r[9] = r[10] = r[11] = 0;  // no NS, no additional
      for (uint8_t last : {32, 33}) {
        const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 9, last};
        r.insert(r.end(), rr, rr + sizeof(rr));
      }
      sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

TEST(StubResolver, KeepsEveryAddressOfTheAnswerForItsTtl) {
  FakeDns dns;
  ASSERT_TRUE(dns.bound()) << "127.0.9.31:18053 in use";
  RegionResolver resolver({"127.0.9.31:18053"}, "shop.test.", {"10.1.0.0/24"});
  Status s = resolver.ResolveAll(0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(resolver.Addresses(0), (std::vector<std::string>{"127.0.9.32", "127.0.9.33"}));
  EXPECT_EQ(resolver.Current(0), "127.0.9.32");
  resolver.RefreshDue(1000);
  resolver.RefreshDue(59'000);
  EXPECT_EQ(dns.queries(), 1);
  resolver.RefreshDue(60'000);  // the TTL ran out
  EXPECT_EQ(dns.queries(), 2);
}

struct LoadRun {
  Totals totals;
  int dns_queries = 0;
};

LoadRun LoadThroughTheFakeDns(bool reresolve_on_failure) {
  LoadRun run;
  FakeDns dns;
  EXPECT_TRUE(dns.bound()) << "127.0.9.31:18053 in use";
  std::string dir = test::TestDir("stub_resolver");
  test::ChildProcess backend(
      {test::TestBackendBinary(), "--listen", "127.0.9.33:18080", "--name", "b"},
      dir + "/backend.log");
  EXPECT_TRUE(test::WaitUntil(
      [] {
        return http::Get("127.0.9.33", 18080, "/healthz", http::ClientOptions().Timeout(500)).ok;
      },
      10000));
  RegionResolver resolver({"127.0.9.31:18053"}, "shop.test.", {"10.1.0.0/24"});
  Status s = resolver.ResolveAll(LoadEngine::NowNanos() / 1'000'000);
  EXPECT_TRUE(s.ok()) << s.ToString();
  Timeline timeline(3);
  asio::io_context io;
  int64_t start = LoadEngine::NowNanos();
  LoadOptions options;
  options.lb_port = 18080;
  options.reresolve_on_failure = reresolve_on_failure;
  LoadEngine engine(io, resolver, timeline, start, options);
  engine.Start(LoadSchedule(20, start, 1'000'000'000), {{"127.0.9.100", 0}});
  std::atomic<bool> stop{false};
  std::thread refresher([&] {  // what the drill's resolver thread does
    while (!stop) {
      resolver.RefreshDue(LoadEngine::NowNanos() / 1'000'000);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::thread loop([&] { io.run(); });
  EXPECT_TRUE(test::WaitUntil([&] { return engine.Idle(); }, 20000));
  engine.StopSending();
  io.stop();
  loop.join();
  stop = true;
  refresher.join();
  backend.Stop(SIGTERM, 5000);
  run.totals = timeline.totals();
  run.dns_queries = dns.queries();
  return run;
}

TEST(StubResolver, ADeadAddressMovesTheClientToTheNextOneWithoutANewLookup) {
  LoadRun run = LoadThroughTheFakeDns(false);
  EXPECT_EQ(run.totals.regular(), 20u);
  EXPECT_EQ(run.totals.ok, 20u);  // the second address of the answer served them
  EXPECT_EQ(run.dns_queries, 1);  // the answer was kept for its TTL
}

TEST(StubResolver, ReresolveOnFailureIsAnOptIn) {
  LoadRun run = LoadThroughTheFakeDns(true);
  EXPECT_EQ(run.totals.ok, 20u);
  EXPECT_GT(run.dns_queries, 1);  // looked up again after failed connections
}

}  // namespace
}  // namespace nines::drill
