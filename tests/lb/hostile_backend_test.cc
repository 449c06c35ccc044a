// Hostile or careless backends behind nines lb: bad hop-by-hop headers,
// stale keep-alive connections, error statuses, early replies to uploads,
// unsolicited bytes. Each backend is a ScriptedBackend on the fixture's
// first backend address.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <memory>

#include "lb/lb_fixture.h"
#include "lb/scripted_backend.h"

namespace nines::test {
namespace {

class HostileBackend : public LbFixture {
 protected:
  void TearDown() override {
    LbFixture::TearDown();
    scripted_.reset();
  }
  // Starts one scripted server "a" and the balancer in front of it.
  void Start(ScriptedBackend::Handler handler, const std::string& extra = "") {
    scripted_ = std::make_unique<ScriptedBackend>(BackendHost(0), 8081, std::move(handler));
    WriteConfig({{"a"}}, extra);
    StartLb();
    ASSERT_TRUE(WaitUntil([&] { return ServerState("a") == "up"; }, 5000));
  }
  std::unique_ptr<ScriptedBackend> scripted_;
};

bool Reply(int fd, const std::string& bytes) {
  return ScriptedBackend::SendAll(fd, bytes);
}

TEST_F(HostileBackend, ConnectionNamingContentLengthKeepsTheResponseFraming) {
  Start([](int fd, const ScriptedRequest&) {
    return Reply(fd,
                 "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello");
  });
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    http::ClientResponse r = c.Read("GET", 3000);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.Header("Content-Length"), "5") << r.head;
    EXPECT_EQ(r.body, "hello");
    ASSERT_FALSE(r.closed);
  }
}

// True if `fd` has a request within `ms` (the connection is not idle).
bool RequestWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0;
}

// A server that closes keep-alive connections idle for 300 ms (as many do):
// the balancer must not send a request on the closed connection, nor count
// the close as the server's failure.
TEST_F(HostileBackend, ServerClosingIdleConnectionsCostsNoRequest) {
  std::atomic<int> idle_closes{0};
  Start([&](int fd, const ScriptedRequest&) {
    if (!Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")) return false;
    if (RequestWithin(fd, 300)) return true;
    ++idle_closes;
    return false;
  });
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (int round = 0; round < 5; ++round) {
    int closes = idle_closes.load();
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    http::ClientResponse r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200) << "round " << round;
    ASSERT_TRUE(WaitUntil([&] { return idle_closes.load() > closes; }, 3000));
  }
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_server_failures_total{server=\"a\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(ServerState("a"), "up");
}

// The close can also cross the request on the wire: the server reads the
// request on a reused connection and closes without answering. The request
// goes again on a fresh connection to the same server, which is not charged.
TEST_F(HostileBackend, RequestLostOnAReusedConnectionIsSentOnAFreshOne) {
  Start([](int fd, const ScriptedRequest& request) {
    if (request.index > 0) return false;  // closes without a response
    return Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
  });
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (const char* method : {"GET", "GET", "DELETE", "GET"}) {
    ASSERT_TRUE(c.Send(std::string(method) + " / HTTP/1.1\r\nHost: t\r\n\r\n"));
    http::ClientResponse r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200) << method;
  }
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_server_failures_total{server=\"a\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(ServerState("a"), "up");
}

// With no other server to try, the server's own 502/504 reaches the client
// as it was sent: status, body and Retry-After.
TEST_F(HostileBackend, ServerErrorPassesThroughWhenNoOtherServer) {
  Start([](int fd, const ScriptedRequest& request) {
    std::string status = request.path == "/504" ? "504 Gateway Timeout" : "502 Bad Gateway";
    return Reply(
        fd, "HTTP/1.1 " + status + "\r\nRetry-After: 7\r\nContent-Length: 12\r\n\r\nbackend err\n");
  });
  for (const char* path : {"/502", "/504"}) {
    http::ClientResponse r = Get(path);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(std::to_string(r.status), std::string(path + 1));
    EXPECT_EQ(r.body, "backend err\n");
    EXPECT_EQ(r.Header("Retry-After"), "7");
  }
}

// A server that refuses an upload early (413) and closes while the body is
// still streaming: the client gets the 413, and the server is not charged.
TEST_F(HostileBackend, EarlyResponseToAnUploadPassesThrough) {
  Start([](int fd, const ScriptedRequest&) {
    Reply(fd,
          "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 10\r\n\r\n"
          "too large\n");
    return false;  // closes with the body unread
  });
  for (int round = 0; round < 5; ++round) {
    http::ClientConnection c;
    ASSERT_TRUE(c.Connect(host_, 8080));
    ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n"));
    // Stream the body until the response arrives or the connection ends.
    std::string received;
    const std::string block(65536, 'u');
    int64_t deadline = SteadyMs() + 5000;
    bool ended = false;
    while (!ended && SteadyMs() < deadline && received.find("\r\n\r\n") == std::string::npos) {
      pollfd p{c.fd(), POLLIN | POLLOUT, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      if (p.revents & POLLIN) {
        char buf[4096];
        ssize_t n = recv(c.fd(), buf, sizeof(buf), 0);
        if (n <= 0) ended = true;
        if (n > 0) received.append(buf, static_cast<size_t>(n));
      } else if (p.revents & POLLOUT) {
        if (send(c.fd(), block.data(), block.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
            errno != EAGAIN) {
          ended = true;
        }
      } else {
        ended = true;
      }
    }
    EXPECT_EQ(received.substr(0, 12), "HTTP/1.1 413") << "round " << round << ": " << received;
  }
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_server_failures_total{server=\"a\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(ServerState("a"), "up");
}

// Bytes a server sends after a complete response (here a body after a HEAD
// response) must not be read as the next request's response.
TEST_F(HostileBackend, UnsolicitedBytesNeverReachTheNextRequest) {
  std::atomic<int> junk_sent{0};
  Start([&](int fd, const ScriptedRequest& request) {
    if (request.method != "HEAD") {
      return Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nright");
    }
    if (!Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")) return false;
    RequestWithin(fd, 100);  // the balancer has the response by now
    bool ok = Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG");
    ++junk_sent;
    return ok;
  });
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (int round = 0; round < 3; ++round) {
    int sent = junk_sent.load();
    ASSERT_TRUE(c.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
    http::ClientResponse r = c.Read("HEAD");
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_TRUE(WaitUntil([&] { return junk_sent.load() > sent; }, 3000));
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "right") << "round " << round;
  }
}

// The same with a POST after the junk: a request that must not go out twice
// is sent only on a pooled connection known clean, so the server sees it
// once, on a clean connection, and the client gets its answer.
TEST_F(HostileBackend, UnsolicitedBytesNeverMeetAPost) {
  std::atomic<int> junk_sent{0};
  std::atomic<int> posts{0};
  Start([&](int fd, const ScriptedRequest& request) {
    if (request.method == "POST") {
      ++posts;
      return Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nright");
    }
    if (request.method != "HEAD") {
      return Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    if (!Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")) return false;
    RequestWithin(fd, 100);  // the balancer has the response by now
    bool ok = Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG");
    ++junk_sent;
    return ok;
  });
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (int round = 0; round < 3; ++round) {
    int sent = junk_sent.load();
    ASSERT_TRUE(c.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
    http::ClientResponse r = c.Read("HEAD");
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_TRUE(WaitUntil([&] { return junk_sent.load() > sent; }, 3000));
    ASSERT_TRUE(c.Send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
    r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "right") << "round " << round;
    EXPECT_EQ(posts.load(), round + 1);
  }
  // POSTs on a clean pooled connection: each waits for the watch's verdict.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
    http::ClientResponse r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.body, "right");
  }
  EXPECT_EQ(posts.load(), 6);
}

// HTTP/1.0 has no chunked coding: a chunked response is decoded for a 1.0
// client and delimited by closing the connection (as nginx does).
TEST_F(HostileBackend, ChunkedResponseIsDecodedForHttp10Clients) {
  Start([](int fd, const ScriptedRequest&) {
    return Reply(fd,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  });
  for (const char* extra : {"", "Connection: keep-alive\r\n"}) {
    http::ClientConnection c;
    ASSERT_TRUE(c.Connect(host_, 8080));
    ASSERT_TRUE(c.Send(std::string("GET / HTTP/1.0\r\n") + extra + "\r\n"));
    bool closed = false;
    std::string raw = c.ReadUntilClose(3000, &closed);
    EXPECT_TRUE(closed);
    size_t end = raw.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << raw;
    std::string head = raw.substr(0, end);
    EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
    EXPECT_EQ(raw.substr(end + 4), "hello world");
  }
}

// A client that goes away while the server works is noticed at once: the
// server connection closes long before the server would answer.
TEST_F(HostileBackend, ClientLeavingAbandonsTheServerConnection) {
  std::atomic<bool> server_saw_close{false};
  Start(
      [&](int fd, const ScriptedRequest&) {
        // Answers only after 20 s; watches for the balancer closing meanwhile.
        int64_t until = SteadyMs() + 20000;
        while (SteadyMs() < until) {
          if (!RequestWithin(fd, 100)) continue;
          char byte;
          if (recv(fd, &byte, 1, 0) <= 0) {
            server_saw_close = true;
            return false;
          }
        }
        return Reply(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
      },
      "[timeouts]\nserver_ms = 30000\n");
  {
    http::ClientConnection c;
    ASSERT_TRUE(c.Connect(host_, 8080));
    ASSERT_TRUE(c.Send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(WaitUntil([&] { return scripted_->requests() == 1; }, 5000));
  }  // the client closes
  EXPECT_TRUE(WaitUntil([&] { return server_saw_close.load(); }, 10000));
}

}  // namespace
}  // namespace nines::test
