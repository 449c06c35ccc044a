// A past attack: the rate-limit cluster trusted any datagram from a peer's address.
// With a key, a spoofed report (no MAC, a wrong MAC, another key), a replayed
// one and a stale one change nothing and are counted; a report signed with the
// key is taken.
#include <gtest/gtest.h>

#include <asio/ip/udp.hpp>

#include <chrono>
#include <string>

#include "base/secret.h"
#include "ratelimit/cluster.h"

namespace nines::ratelimit {
namespace {

constexpr const char* kHost = "127.0.212.1";
constexpr uint16_t kSelf = 17611;
constexpr uint16_t kPeer = 17612;

// An NRL2 report signed with `key` (the wire format of docs/lb.md).
std::string Signed(const std::string& key, const std::string& id, uint64_t seq, double demand) {
  std::string content = "NRL2 " + id + " " + std::to_string(seq) + " " + std::to_string(demand);
  return content + " " + HexEncode(HmacSha256(key, content)) + "\n";
}

struct ClusterFixture : ::testing::Test {
  asio::io_context io;
  GlobalRateLimiter limiter{1000, 1, 100};
  ClusterConfig config = [] {
    ClusterConfig c;
    c.id = "self";
    c.bind = Endpoint{kHost, kSelf};
    c.peers = {Endpoint{kHost, kSelf}, Endpoint{kHost, kPeer}};
    c.interval_ms = 20;
    c.peer_timeout_ms = 60000;
    c.key = "cluster-key";
    return c;
  }();
  RateLimitCluster cluster{io, config, &limiter};
  // The spoofer sends from the peer's own address: the source is no proof.
  asio::ip::udp::socket spoofer{io};

  void SetUp() override {
    cluster.Start();
    spoofer.open(asio::ip::udp::v4());
    spoofer.bind({asio::ip::make_address(kHost), kPeer});
  }
  void TearDown() override { cluster.Stop(); }

  // Sends a datagram and runs io until `counter` moves (or 10 s pass).
  template <typename Counter>
  void SendAndWait(const std::string& datagram, Counter counter) {
    uint64_t before = counter();
    spoofer.send_to(asio::buffer(datagram), {asio::ip::make_address(kHost), kSelf});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (counter() == before && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(counter(), before) << "not counted: " << datagram;
  }
  PeerStatus Peer() { return cluster.peers().at(0); }
};

TEST_F(ClusterFixture, SpoofedReportsChangeNothing) {
  auto unauthenticated = [&] { return cluster.unauthenticated(); };
  SendAndWait("NRL1 peer 1 1000000\n", unauthenticated);  // the old, unsigned format
  SendAndWait("NRL2 peer 2 1000000\n", unauthenticated);  // no MAC
  std::string forged = Signed("another-key", "peer", 3, 1000000);
  SendAndWait(forged, unauthenticated);
  std::string tampered = Signed("cluster-key", "peer", 4, 1);
  tampered.replace(tampered.find(" 1.0"), 4, " 9.0");  // demand changed after signing
  SendAndWait(tampered, unauthenticated);
  EXPECT_EQ(Peer().last_seen_age_ms, -1) << "a spoofed report was taken as the peer's";
  EXPECT_EQ(Peer().demand, 0);

  // A signed report is taken; replaying it or an older one is not.
  auto seen = [&] { return static_cast<uint64_t>(Peer().last_seen_age_ms >= 0); };
  SendAndWait(Signed("cluster-key", "peer", 10, 50), seen);
  EXPECT_EQ(Peer().demand, 50);
  auto replayed = [&] { return cluster.replayed(); };
  SendAndWait(Signed("cluster-key", "peer", 10, 50), replayed);
  SendAndWait(Signed("cluster-key", "peer", 9, 1000000), replayed);
  EXPECT_EQ(Peer().demand, 50) << "a replayed or stale report moved the peer's demand";
}

}  // namespace
}  // namespace nines::ratelimit
