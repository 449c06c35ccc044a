// HTTP/2 through the balancer ([h2] listen, cleartext with prior knowledge)
// to real test backends: requests, bodies both ways, rate limits and
// retries shared with HTTP/1.1, and hostile clients (rapid reset,
// CONTINUATION flood) closed while a well-behaved client is served.
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>

#include "lb_fixture.h"
#include "support/h2_client.h"

namespace nines::test {
namespace {

class LbH2Test : public LbFixture {
 protected:
  std::string H2Extra(const std::string& more = "") {
    return "[h2]\nlisten = \"" + host_ + ":8082\"\n" + more;
  }
  bool Connect(http::ClientConnection* conn) { return conn->Connect(host_, 8082, 3000); }
  int64_t LimitHits(const std::string& limit) {
    std::string metrics = AdminGet("/metrics");
    std::string key = "nines_lb_h2_limit_hits_total{limit=\"" + limit + "\"} ";
    size_t at = metrics.find(key);
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + key.size()));
  }
  // Sends `bytes` (as much as the server takes before closing), then reads
  // until it closes; returns what it sent us.
  std::string Attack(const std::string& bytes, bool* closed) {
    http::ClientConnection conn;
    EXPECT_TRUE(Connect(&conn));
    int fd = conn.fd();
    std::string got;
    size_t sent = 0;
    *closed = false;
    int64_t deadline = SteadyMs() + 10000;
    while (SteadyMs() < deadline) {
      short events = POLLIN | (sent < bytes.size() ? POLLOUT : 0);
      pollfd p{fd, events, 0};
      if (::poll(&p, 1, 50) < 0) break;
      if (p.revents & POLLOUT) {
        ssize_t n = ::send(fd, bytes.data() + sent, std::min<size_t>(bytes.size() - sent, 65536),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) sent = bytes.size();  // reset by the server
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[65536];
        ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          *closed = true;
          break;
        }
      }
    }
    return got;
  }
  // A well-behaved client on its own connection, making requests until
  // told to stop; counts the failures.
  struct GoodClient {
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::thread thread;
  };
  void StartGoodClient(GoodClient* g) {
    g->thread = std::thread([this, g] {
      http::ClientConnection conn;
      if (!Connect(&conn)) {
        ++g->failed;
        return;
      }
      H2Client client;
      while (!g->stop) {
        int32_t id = client.Submit("GET", "/");
        if (!client.RunUntilDone(conn.fd(), id, 5000) || client.response(id).status != 200) {
          ++g->failed;
          return;
        }
        ++g->ok;
      }
    });
  }
  void StopGoodClient(GoodClient* g) {
    g->stop = true;
    g->thread.join();
  }
};

TEST_F(LbH2Test, RequestsAndBodiesReachTheBackends) {
  StartAll({BackendSpec("b1"), BackendSpec("b2")}, H2Extra());
  http::ClientConnection conn;
  ASSERT_TRUE(Connect(&conn));
  H2Client client;
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(client.Submit("GET", "/"));
  std::string big(300000, 'q');
  int32_t echo = client.Submit("POST", "/echo", {}, big);
  int32_t headers = client.Submit("GET", "/headers", {{"cookie", "a=1"}, {"cookie", "b=2"}});
  ids.push_back(echo);
  ids.push_back(headers);
  ASSERT_TRUE(client.RunUntil(conn.fd(), ids, 10000));
  std::set<std::string> served;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.response(ids[i]).status, 200);
    served.insert(client.response(ids[i]).body);
  }
  EXPECT_EQ(served.size(), 2u) << "both backends serve h2 requests";
  EXPECT_EQ(client.response(echo).status, 200);
  EXPECT_EQ(client.response(echo).body.size(), big.size());
  EXPECT_EQ(client.response(echo).body, big);
  const std::string& head = client.response(headers).body;
  EXPECT_NE(head.find("X-Forwarded-Proto: http"), std::string::npos) << head;
  EXPECT_NE(head.find("cookie: a=1; b=2"), std::string::npos) << head;
  EXPECT_NE(head.find("host: test"), std::string::npos) << head;
  // Plain HTTP/1.1 keeps working beside it.
  EXPECT_EQ(Get("/").status, 200);
}

TEST_F(LbH2Test, RateLimitsAnswer429WithRetryAfter) {
  StartAll({BackendSpec("b1")}, H2Extra("[rate_limit]\nper_client = \"3/min\"\n"));
  http::ClientConnection conn;
  ASSERT_TRUE(Connect(&conn));
  H2Client client;
  std::vector<int32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.Submit("GET", "/"));
  ASSERT_TRUE(client.RunUntil(conn.fd(), ids, 5000));
  int ok = 0, limited = 0;
  for (int32_t id : ids) {
    const H2Response& r = client.response(id);
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      EXPECT_FALSE(r.Header("retry-after").empty());
      EXPECT_NE(r.Header("ratelimit").find("\"client\""), std::string::npos);
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited, 2);
  // The limit is the client's, whatever the protocol: HTTP/1.1 is refused too.
  EXPECT_EQ(Get("/").status, 429);
}

TEST_F(LbH2Test, FailedServersAreRetriedOnAnother) {
  StartAll({BackendSpec("bad", false, "--fail-status 503"), BackendSpec("good")},
           "retries = 2\n" + H2Extra());
  http::ClientConnection conn;
  ASSERT_TRUE(Connect(&conn));
  H2Client client;
  std::vector<int32_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(client.Submit("GET", "/"));
  ASSERT_TRUE(client.RunUntil(conn.fd(), ids, 5000));
  for (int32_t id : ids) {
    EXPECT_EQ(client.response(id).status, 200);
    EXPECT_EQ(client.response(id).body, "good\n");
  }
}

TEST_F(LbH2Test, RapidResetClosesTheOffenderAndNotTheOthers) {
  StartAll({BackendSpec("b1")}, H2Extra());
  GoodClient good;
  StartGoodClient(&good);
  ASSERT_TRUE(WaitUntil([&] { return good.ok > 0 || good.failed > 0; }, 5000));
  std::string attack = H2ClientStart();
  for (uint32_t i = 0; i < 10000; ++i) {
    uint32_t id = 1 + 2 * i;
    attack += H2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                      H2GetBlock());
    attack += H2RstStream(id, NGHTTP2_CANCEL);
  }
  bool closed = false;
  std::string got = Attack(attack, &closed);
  EXPECT_TRUE(closed) << "the offender's connection was closed";
  EXPECT_EQ(H2GoawayCode(got), NGHTTP2_ENHANCE_YOUR_CALM);
  int before = good.ok;
  ASSERT_TRUE(WaitUntil([&] { return good.ok > before + 10 || good.failed > 0; }, 5000));
  StopGoodClient(&good);
  EXPECT_EQ(good.failed, 0);
  EXPECT_EQ(LimitHits("resets"), 1);
}

TEST_F(LbH2Test, ContinuationFloodClosesTheOffenderAndNotTheOthers) {
  StartAll({BackendSpec("b1")}, H2Extra());
  GoodClient good;
  StartGoodClient(&good);
  ASSERT_TRUE(WaitUntil([&] { return good.ok > 0 || good.failed > 0; }, 5000));
  // 1 MB of header block: HEADERS, then CONTINUATIONs, never END_HEADERS.
  std::string field = std::string("\x00\x03x-f\x7f", 6);
  field += static_cast<char>(((1000 - 127) & 0x7f) | 0x80);
  field += static_cast<char>((1000 - 127) >> 7);
  field += std::string(1000, 'v');
  std::string chunk;
  while (chunk.size() + field.size() <= 16384) chunk += field;
  std::string attack = H2ClientStart() + H2Frame(NGHTTP2_HEADERS, 0, 1, H2GetBlock() + chunk);
  for (size_t sent = chunk.size(); sent < (1u << 20); sent += chunk.size()) {
    attack += H2Frame(NGHTTP2_CONTINUATION, 0, 1, chunk);
  }
  bool closed = false;
  std::string got = Attack(attack, &closed);
  EXPECT_TRUE(closed) << "the offender's connection was closed";
  EXPECT_EQ(H2GoawayCode(got), NGHTTP2_ENHANCE_YOUR_CALM);
  int before = good.ok;
  ASSERT_TRUE(WaitUntil([&] { return good.ok > before + 10 || good.failed > 0; }, 5000));
  StopGoodClient(&good);
  EXPECT_EQ(good.failed, 0);
  EXPECT_EQ(LimitHits("continuations"), 1);
}

TEST_F(LbH2Test, OversizedHeadersGet431) {
  StartAll({BackendSpec("b1")}, H2Extra("max_header_list_size = 4096\n"));
  http::ClientConnection conn;
  ASSERT_TRUE(Connect(&conn));
  H2Client client;
  int32_t big = client.Submit("GET", "/", {{"x-big", std::string(8000, 'x')}});
  int32_t fine = client.Submit("GET", "/");
  ASSERT_TRUE(client.RunUntil(conn.fd(), {big, fine}, 5000));
  EXPECT_EQ(client.response(big).status, 431);
  EXPECT_EQ(client.response(fine).status, 200);
  EXPECT_EQ(LimitHits("header_list_size"), 1);
}

TEST_F(LbH2Test, SigtermLetsStreamsFinishThenSaysGoaway) {
  StartAll({BackendSpec("b1")}, H2Extra());
  http::ClientConnection conn;
  ASSERT_TRUE(Connect(&conn));
  H2Client client;
  int32_t first = client.Submit("GET", "/");
  ASSERT_TRUE(client.RunUntilDone(conn.fd(), first, 5000));
  int32_t slow = client.Submit("GET", "/slow?ms=1000");
  std::string out = client.Output();
  ASSERT_EQ(::send(conn.fd(), out.data(), out.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(out.size()));
  ASSERT_TRUE(WaitUntil([&] { return BackendCount(0) >= 2; }, 3000));
  lb_.Signal(SIGTERM);
  ASSERT_TRUE(client.RunUntilDone(conn.fd(), slow, 10000));
  EXPECT_EQ(client.response(slow).status, 200);
  EXPECT_EQ(lb_.Wait(10000), 0);
  EXPECT_TRUE(client.goaway());
  EXPECT_EQ(client.goaway_code(), 0u);
}

TEST_F(LbH2Test, ASilentConnectionIsClosedAfterRequestHeaderMs) {
  StartAll({BackendSpec("b1")}, "[timeouts]\nrequest_header_ms = 300\n" + H2Extra());
  bool closed = false;
  std::string got = Attack(H2ClientStart(), &closed);  // a preface, then nothing
  EXPECT_TRUE(closed);
  EXPECT_EQ(H2GoawayCode(got), NGHTTP2_NO_ERROR);
}

}  // namespace
}  // namespace nines::test
