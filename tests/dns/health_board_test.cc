// The health board against real sockets on loopback: an address whose check
// port refuses connections goes down after `fall` checks, and an IPv6
// address follows its region's IPv4 addresses.
#include "dns/health_board.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "dns/config.h"

namespace nines::dns {
namespace {

TEST(HealthBoardTest, RefusedChecksTakeAddressesDownAndIpv6Follows) {
  // Port 1 on loopback: nothing listens, connect is refused at once.
  const char* text = R"(listen = "127.0.0.1:5353"
zone = "shop.test."
[health]
interval_ms = 20
timeout_ms = 10
fall = 2
[[region]]
name = "a"
location = [0, 0]
addresses = ["127.0.0.1", "::1"]
check_port = 1
[[region]]
name = "b"
location = [1, 1]
addresses = ["::2"]
)";
  ConfigErrors errors;
  auto config = ParseDnsConfig(text, "t.toml", &errors);
  ASSERT_TRUE(config) << errors.ToString();
  asio::io_context io;
  MetricsRegistry metrics;
  HealthBoard board(io, *config, nullptr, &metrics);
  // Optimistic start: everything up before the first check.
  EXPECT_TRUE(board.IsUp(0));
  EXPECT_TRUE(board.IsUp(1));
  EXPECT_TRUE(board.IsUp(2));
  board.Start();
  for (int i = 0; i < 200 && board.IsUp(0); ++i) io.run_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(board.IsUp(0));
  EXPECT_FALSE(board.IsUp(1));  // ::1 follows region a's IPv4 address
  EXPECT_TRUE(board.IsUp(2));   // region b has no IPv4 address: its IPv6 one stays up
  EXPECT_NE(
      metrics.RenderPrometheus().find("nines_dns_address_up{region=\"a\",address=\"127.0.0.1\"} 0"),
      std::string::npos);

  // A reload carries the state of unchanged targets over.
  HealthBoard next(io, *config, &board, &metrics);
  EXPECT_FALSE(next.IsUp(0));
  EXPECT_FALSE(next.IsUp(1));
  board.Stop();
  next.Stop();
  // The stopped checks' handlers run out: io stops when it has no work left (at most 5 s).
  io.restart();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!io.stopped() && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(io.stopped()) << "work left after both boards stopped";
}

}  // namespace
}  // namespace nines::dns
