// http::AsyncConnection and AsyncFetch against the scripted server: bodies
// by length and chunked, keep-alive, a source bind, and the ways an exchange
// fails (a malformed response, the deadline, a server that closes early, a
// refused connection, a bad source address, a response over the limit).
#include "http/async_client.h"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "scripted_server.h"

namespace nines::http {
namespace {

using asio::ip::tcp;
using std::chrono::milliseconds;

// Runs `task` on `io` until it completes; returns its result.
template <typename T>
T RunOn(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    out = std::move(value);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

tcp::endpoint Local(int port) {
  return tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), static_cast<uint16_t>(port));
}

ExchangeOptions Within(int ms) {
  ExchangeOptions options;
  options.deadline = std::chrono::steady_clock::now() + milliseconds(ms);
  return options;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(AsyncHttpClient, FetchReadsABodyFromABoundSourceAddress) {
  ScriptedServer server([](const std::string&) { return Ok("hello"); });
  asio::io_context io;
  ClientResponse r = RunOn(
      io, AsyncFetch(io.get_executor(), Local(server.port()), kGet, Within(5000), "127.0.0.2"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Header("content-length"), "5");
  ASSERT_EQ(server.peers().size(), 1u);
  EXPECT_EQ(server.peers()[0], "127.0.0.2");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0], kGet);
}

TEST(AsyncHttpClient, DecodesAChunkedBodyAndKeepsTheConnection) {
  ScriptedServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
  });
  asio::io_context io;
  AsyncConnection c(io.get_executor());
  ASSERT_EQ(RunOn(io, c.Connect(Local(server.port()), Within(5000).deadline)),
            ConnectStatus::kConnected)
      << c.error();
  for (int i = 0; i < 3; ++i) {
    ClientResponse r = RunOn(io, c.Exchange(kGet, Within(5000)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.body, "hello, world");
    EXPECT_TRUE(c.is_open());  // the message ended exactly at the trailers
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(AsyncHttpClient, MalformedResponsesAreErrors) {
  ScriptedServer bad_head(
      [](const std::string&) { return std::string("HTTP/1.1 2x0 OK\r\n\r\n"); });
  ScriptedServer bad_chunk([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  });
  asio::io_context io;
  ClientResponse r =
      RunOn(io, AsyncFetch(io.get_executor(), Local(bad_head.port()), kGet, Within(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("bad response head"), std::string::npos) << r.error;
  EXPECT_TRUE(r.received);
  EXPECT_FALSE(r.timed_out);
  r = RunOn(io, AsyncFetch(io.get_executor(), Local(bad_chunk.port()), kGet, Within(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("bad chunked body"), std::string::npos) << r.error;
}

TEST(AsyncHttpClient, DeadlineExpiresAgainstASilentServer) {
  ScriptedServer server([](const std::string&) { return std::string(); });
  asio::io_context io;
  auto start = std::chrono::steady_clock::now();
  AsyncConnection c(io.get_executor());
  ASSERT_EQ(RunOn(io, c.Connect(Local(server.port()), Within(5000).deadline)),
            ConnectStatus::kConnected);
  ClientResponse r = RunOn(io, c.Exchange(kGet, Within(200)));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.received);
  EXPECT_EQ(r.error, "no response: timeout");
  EXPECT_FALSE(c.is_open());
  // It waited at least its deadline (the upper side is not asserted: speed).
  EXPECT_GE(waited, milliseconds(200));
}

TEST(AsyncHttpClient, ServerThatClosesEarly) {
  ScriptedServer silent([](const std::string&) { return std::string(); },
                        /*close_after_reply=*/true);
  ScriptedServer short_body(
      [](const std::string&) {
        return std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
      },
      /*close_after_reply=*/true);
  asio::io_context io;
  ClientResponse r =
      RunOn(io, AsyncFetch(io.get_executor(), Local(silent.port()), kGet, Within(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "no response: connection closed");
  EXPECT_TRUE(r.closed);
  EXPECT_FALSE(r.received);  // nothing came back: a retry is safe
  EXPECT_FALSE(r.timed_out);
  r = RunOn(io, AsyncFetch(io.get_executor(), Local(short_body.port()), kGet, Within(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "body cut short: connection closed");
  EXPECT_EQ(r.status, 200);  // the head had arrived
  EXPECT_TRUE(r.received);
}

TEST(AsyncHttpClient, ConnectionCloseAndBodyUntilCloseEndTheConnection) {
  ScriptedServer server(
      [](const std::string&) {
        return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
      },
      /*close_after_reply=*/true);
  asio::io_context io;
  AsyncConnection c(io.get_executor());
  ASSERT_EQ(RunOn(io, c.Connect(Local(server.port()), Within(5000).deadline)),
            ConnectStatus::kConnected);
  ClientResponse r = RunOn(io, c.Exchange(kGet, Within(5000)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "all of it");
  EXPECT_TRUE(r.closed);
  EXPECT_FALSE(c.is_open());
  r = RunOn(io, c.Exchange(kGet, Within(5000)));
  EXPECT_EQ(r.error, "not connected");
}

TEST(AsyncHttpClient, HeadOnlyStopsAtTheStatus) {
  ScriptedServer server([](const std::string&) {
    return std::string("HTTP/1.1 503 Busy\r\nRetry-After: 2\r\nContent-Length: 100\r\n\r\n");
  });
  asio::io_context io;
  ExchangeOptions options = Within(5000);
  options.head_only = true;
  ClientResponse r = RunOn(io, AsyncFetch(io.get_executor(), Local(server.port()), kGet, options));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "2");
  EXPECT_EQ(r.body, "");
}

TEST(AsyncHttpClient, RefusedConnectionAndBadSourceAreConnectErrors) {
  int port = 0;
  {
    ScriptedServer server([](const std::string&) { return std::string(); });
    port = server.port();
  }
  asio::io_context io;
  AsyncConnection c(io.get_executor());
  EXPECT_EQ(RunOn(io, c.Connect(Local(port), Within(1000).deadline)), ConnectStatus::kFailed);
  EXPECT_NE(c.error().find("connect 127.0.0.1:"), std::string::npos) << c.error();
  EXPECT_FALSE(c.is_open());
  EXPECT_EQ(RunOn(io, c.Connect(Local(port), Within(1000).deadline, "not-an-address")),
            ConnectStatus::kSetupFailed);
  EXPECT_EQ(c.error(), "bad source address not-an-address");
  ClientResponse r = RunOn(io, AsyncFetch(io.get_executor(), Local(port), kGet, Within(1000)));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

TEST(AsyncHttpClient, ResponseLargerThanTheLimitIsAnError) {
  ScriptedServer server([](const std::string&) { return Ok(std::string(10000, 'x')); });
  asio::io_context io;
  ExchangeOptions options = Within(5000);
  options.max_response_bytes = 1000;
  ClientResponse r = RunOn(io, AsyncFetch(io.get_executor(), Local(server.port()), kGet, options));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "response too large");
}

}  // namespace
}  // namespace nines::http
