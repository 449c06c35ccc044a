// StoreClient against fake RESP members (blocking sockets in threads on
// 127.0.162.5x): -TRYAGAIN and refused connections move a command to the next
// member, a silent one is left after the attempt timeout (the client's or
// the command's own), a deadline gives kUnavailable, max_pending gives kOverloaded, and
// PINGs make the store reachable.
#include "app/store_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nines::app {
namespace {

// A member that answers every command with `reply` (or never, if empty);
// PING gets +PONG when it answers at all and is not counted.
class FakeMember {
 public:
  FakeMember(const std::string& host, int port, std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
             ::listen(fd_, 16) == 0;
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeMember() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  int commands() const { return commands_.load(); }
  int auths() const { return auths_.load(); }
  // Commands (PING included) sent on a connection before its AUTH.
  int unauthenticated() const { return unauthenticated_.load(); }

 private:
  void Serve() {
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    std::vector<std::string> buffers(1);
    std::vector<bool> authed(1);
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (i == 0) {
          int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            fds.push_back({c, POLLIN, 0});
            buffers.emplace_back();
            authed.push_back(false);
          }
          continue;
        }
        char chunk[4096];
        ssize_t n = ::recv(fds[i].fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          continue;
        }
        buffers[i].append(chunk, static_cast<size_t>(n));
        // A request is an array of bulk strings: the reply parser reads it.
        while (true) {
          RespReply request;
          size_t used = 0;
          std::string error;
          if (ParseRespReply(buffers[i], {}, &request, &used, &error) != RespParse::kReply) break;
          buffers[i].erase(0, used);
          bool ping = request.elements.size() == 1 && request.elements[0].text == "PING";
          if (!request.elements.empty() && request.elements[0].text == "AUTH") {
            auths_++;
            authed[i] = true;
            std::string ok = "+OK\r\n";
            ::send(fds[i].fd, ok.data(), ok.size(), MSG_NOSIGNAL);
            continue;
          }
          if (!authed[i]) unauthenticated_++;
          if (!ping) commands_++;
          if (!reply_.empty()) {
            std::string r = ping ? "+PONG\r\n" : reply_;
            ::send(fds[i].fd, r.data(), r.size(), MSG_NOSIGNAL);
          }
        }
      }
      for (size_t i = fds.size(); i-- > 1;) {
        if (fds[i].fd < 0) {
          fds.erase(fds.begin() + static_cast<long>(i));
          buffers.erase(buffers.begin() + static_cast<long>(i));
          authed.erase(authed.begin() + static_cast<long>(i));
        }
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) ::close(fds[i].fd);
  }

  std::string reply_;
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> commands_{0};
  std::atomic<int> auths_{0};
  std::atomic<int> unauthenticated_{0};
  std::thread thread_;
};

Endpoint At(int last, int port) {
  return Endpoint{"127.0.162." + std::to_string(last), static_cast<uint16_t>(port)};
}

struct Harness {
  asio::io_context io;
  MetricsRegistry metrics;
  std::optional<StoreClient> client;
  ManualClock* manual = nullptr;  // options.clock, if manual: each turn of the loop moves it 10 ms
  explicit Harness(StoreClientOptions options) {
    client.emplace(io, std::move(options), &metrics);
    client->Start();  // the sweep: timeouts, backoff, PINGs
  }
  ~Harness() { client->Stop(); }
  StoreResult Call(std::vector<std::string> args, int budget_ms, int attempt_timeout_ms = 0) {
    std::optional<StoreResult> result;
    client->Call(
        std::move(args), client->NowMs() + budget_ms, [&](StoreResult r) { result = std::move(r); },
        attempt_timeout_ms);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!result && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
      if (manual) manual->AdvanceMillis(10);
    }
    return result.value_or(StoreResult{});
  }
};

TEST(StoreClient, TryAgainMovesToTheNextMember) {
  FakeMember busy("127.0.162.51", 16401, "-TRYAGAIN no leader\r\n");
  FakeMember good("127.0.162.52", 16401, "+OK\r\n");
  ASSERT_TRUE(busy.bound() && good.bound());
  StoreClientOptions o;
  o.members = {At(51, 16401), At(52, 16401)};
  Harness h(o);
  StoreResult r = h.Call({"SET", "k", "v"}, 2000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.reply.text, "OK");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(busy.commands(), 1);
  EXPECT_NE(h.metrics.RenderPrometheus().find("nines_app_store_retries_total 1"),
            std::string::npos);
}

TEST(StoreClient, RefusedConnectionMovesToTheNextMember) {
  FakeMember good("127.0.162.52", 16402, ":7\r\n");
  ASSERT_TRUE(good.bound());
  StoreClientOptions o;
  o.members = {At(51, 16402), At(52, 16402)};  // nothing listens on .51
  Harness h(o);
  StoreResult r = h.Call({"INCR", "n"}, 2000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.reply.integer, 7);
  // The refused member is now suspect: the next command goes straight to .52.
  r = h.Call({"INCR", "n"}, 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.attempts, 1);
}

TEST(StoreClient, SilentMemberIsGivenUpAfterTheAttemptTimeout) {
  FakeMember silent("127.0.162.51", 16403, "");
  FakeMember good("127.0.162.52", 16403, "+OK\r\n");
  StoreClientOptions o;
  o.members = {At(51, 16403), At(52, 16403)};
  o.attempt_timeout_ms = 200;
  Harness h(o);
  StoreResult r = h.Call({"SET", "k", "v"}, 3000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.attempts, 2);
}

// A command whose deadline is shorter than the client's attempt timeout (a
// lease's renewal) leaves a silent member after its own attempt timeout, and
// the member is suspected: the next such command goes to the other one first.
TEST(StoreClient, ACommandsOwnAttemptTimeoutLeavesASilentMember) {
  FakeMember silent("127.0.162.51", 16410, "");
  FakeMember good("127.0.162.52", 16410, ":1\r\n");
  ASSERT_TRUE(silent.bound() && good.bound());
  StoreClientOptions o;
  o.members = {At(51, 16410), At(52, 16410)};
  o.attempt_timeout_ms = 1500;
  Harness h(o);
  StoreResult r = h.Call({"PEXPIRE", "k", "400"}, 400, 100);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.reply.integer, 1);
  EXPECT_EQ(r.attempts, 2);
  r = h.Call({"PEXPIRE", "k", "400"}, 400, 100);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(good.commands(), 2);
}

TEST(StoreClient, DeadlineGivesUnavailable) {
  // The deadline is on the client's clock: a manual one here.
  ManualClock clock;
  StoreClientOptions o;
  o.members = {At(51, 16404), At(52, 16404)};  // nobody listens
  o.clock = &clock;
  Harness h(o);
  h.manual = &clock;
  int64_t start = clock.NowMillis();
  StoreResult r = h.Call({"GET", "k"}, 300);
  EXPECT_EQ(r.outcome, StoreResult::Outcome::kUnavailable);
  EXPECT_GE(clock.NowMillis() - start, 300);
  EXPECT_GT(r.attempts, 2);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(h.client->Reachable());
}

TEST(StoreClient, MaxPendingGivesOverloaded) {
  FakeMember silent("127.0.162.51", 16405, "");
  StoreClientOptions o;
  o.members = {At(51, 16405)};
  o.max_pending = 1;
  Harness h(o);
  bool first_done = false;
  h.client->Call({"GET", "a"}, h.client->NowMs() + 5000, [&](StoreResult) { first_done = true; });
  StoreResult r = h.Call({"GET", "b"}, 1000);
  EXPECT_EQ(r.outcome, StoreResult::Outcome::kOverloaded);
  EXPECT_FALSE(first_done);
  EXPECT_EQ(h.client->pending(), 1u);
}

TEST(StoreClient, PingsMakeTheStoreReachable) {
  FakeMember good("127.0.162.52", 16406, "+OK\r\n");
  StoreClientOptions o;
  o.members = {At(52, 16406)};
  o.health_interval_ms = 20;
  Harness h(o);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!h.client->Reachable() && std::chrono::steady_clock::now() < deadline) {
    h.io.run_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(h.client->Reachable());
}

TEST(StoreClient, RetryableErrors) {
  RespReply r;
  r.type = RespReply::Type::kError;
  for (std::string t : {"TRYAGAIN x", "LOADING y", "READONLY z", "MASTERDOWN", "CLUSTERDOWN"}) {
    r.text = t;
    EXPECT_TRUE(IsRetryableStoreError(r)) << t;
  }
  for (std::string t : {"ERR syntax error", "OOM command not allowed", "WRONGTYPE"}) {
    r.text = t;
    EXPECT_FALSE(IsRetryableStoreError(r)) << t;
  }
  r.type = RespReply::Type::kSimple;
  r.text = "TRYAGAIN";
  EXPECT_FALSE(IsRetryableStoreError(r));
}

// With a password (the store's requirepass), every connection sends AUTH
// before anything else, PINGs included.
TEST(StoreClient, AuthenticatesEveryConnectionFirst) {
  FakeMember member("127.0.162.51", 16409, "+OK\r\n");
  ASSERT_TRUE(member.bound());
  StoreClientOptions o;
  o.members = {At(51, 16409)};
  o.password = "pw";
  Harness h(o);
  StoreResult r = h.Call({"SET", "k", "v"}, 3000);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_GE(member.auths(), 1);
  EXPECT_EQ(member.unauthenticated(), 0);
}

}  // namespace
}  // namespace nines::app
