// Response head parsing: status lines, body kinds by method and status, keep-alive, and the
// smuggling rules (answered with 502 since the fault is the server's).
#include <string>

#include <gtest/gtest.h>

#include "http/parser.h"

namespace nines::http {
namespace {

struct Parsed {
  ParseStatus status;
  ResponseHead head;
  ParseError error;
};

Parsed Parse(std::string_view data, std::string_view method = "GET",
             const Limits& limits = Limits()) {
  Parsed p;
  p.status = ParseResponseHead(data, limits, method, &p.head, &p.error);
  return p;
}

void ExpectBad(std::string_view data, std::string_view method = "GET",
               const Limits& limits = Limits()) {
  const Parsed p = Parse(data, method, limits);
  ASSERT_EQ(p.status, ParseStatus::kError) << data;
  EXPECT_EQ(p.error.status, 502) << data;
  EXPECT_STRNE(p.error.reason, "");
}

TEST(ResponseHead, ContentLength) {
  const std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n";
  const std::string with_body = data + "hello world!";
  const Parsed p = Parse(with_body);
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_EQ(p.head.status, 200);
  EXPECT_EQ(p.head.reason, "OK");
  EXPECT_EQ(p.head.body, BodyKind::kContentLength);
  EXPECT_EQ(p.head.content_length, 12u);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_EQ(p.head.head_size, data.size());
  EXPECT_EQ(p.head.Find("server")->value, "x");
}

TEST(ResponseHead, ReasonPhrases) {
  EXPECT_EQ(Parse("HTTP/1.1 404 Not Found\r\n\r\n").head.reason, "Not Found");
  EXPECT_EQ(Parse("HTTP/1.1 200 \r\n\r\n").head.reason, "");
  EXPECT_EQ(Parse("HTTP/1.1 200\r\n\r\n").head.reason, "");  // missing SP tolerated
  EXPECT_EQ(Parse("HTTP/1.1 200 d\xc3\xa9j\xc3\xa0 \tvu\r\n\r\n").head.reason,
            "d\xc3\xa9j\xc3\xa0 \tvu");
  EXPECT_EQ(Parse("HTTP/1.1 999 Custom\r\n\r\n").head.status, 999);
  EXPECT_EQ(Parse("HTTP/1.1 100 Continue\r\n\r\n").head.status, 100);
}

TEST(ResponseHead, Chunked) {
  const Parsed p = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.body, BodyKind::kChunked);
  EXPECT_TRUE(p.head.keep_alive);
  // Codings before chunked are the client's business: the proxy forwards the bytes.
  const Parsed gz = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  ASSERT_EQ(gz.status, ParseStatus::kDone);
  EXPECT_EQ(gz.head.body, BodyKind::kChunked);
}

TEST(ResponseHead, FinalCodingNotChunkedReadsUntilClose) {
  const Parsed p = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.body, BodyKind::kUntilClose);
  EXPECT_FALSE(p.head.keep_alive);
}

TEST(ResponseHead, UntilClose) {
  const Parsed p = Parse("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody...");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.body, BodyKind::kUntilClose);
  EXPECT_FALSE(p.head.keep_alive);
  const Parsed p10 = Parse("HTTP/1.0 200 OK\r\n\r\n");
  ASSERT_EQ(p10.status, ParseStatus::kDone);
  EXPECT_EQ(p10.head.version_minor, 0);
  EXPECT_EQ(p10.head.body, BodyKind::kUntilClose);
  EXPECT_FALSE(p10.head.keep_alive);
}

TEST(ResponseHead, NoBody) {
  struct Case {
    const char* status_line;
    const char* method;
  } cases[] = {
      {"HTTP/1.1 200 OK", "HEAD"},
      {"HTTP/1.1 100 Continue", "POST"},
      {"HTTP/1.1 101 Switching Protocols", "GET"},
      {"HTTP/1.1 103 Early Hints", "GET"},
      {"HTTP/1.1 204 No Content", "DELETE"},
      {"HTTP/1.1 304 Not Modified", "GET"},
      {"HTTP/1.1 200 Connection Established", "CONNECT"},
  };
  for (const Case& c : cases) {
    const Parsed p =
        Parse(std::string(c.status_line) + "\r\nContent-Length: 100\r\n\r\n", c.method);
    ASSERT_EQ(p.status, ParseStatus::kDone) << c.status_line;
    EXPECT_EQ(p.head.body, BodyKind::kNone) << c.status_line << " " << c.method;
    EXPECT_TRUE(p.head.keep_alive);
  }
  const Parsed fail = Parse("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT");
  EXPECT_EQ(fail.head.body, BodyKind::kContentLength);
  // Methods are case-sensitive: "head" is an unknown method to the server, answered with a body.
  const Parsed lower = Parse("HTTP/1.1 400 Bad\r\nContent-Length: 3\r\n\r\n", "head");
  EXPECT_EQ(lower.head.body, BodyKind::kContentLength);
}

TEST(ResponseHead, KeepAlive) {
  EXPECT_FALSE(
      Parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(Parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                  .head.keep_alive);
  EXPECT_FALSE(Parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").head.keep_alive);
}

TEST(ResponseHead, PipelinedInterimThenFinal) {
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_head = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  const std::string both = interim + final_head;
  const Parsed p1 = Parse(both, "PUT");
  ASSERT_EQ(p1.status, ParseStatus::kDone);
  EXPECT_EQ(p1.head.status, 100);
  EXPECT_EQ(p1.head.head_size, interim.size());
  const Parsed p2 = Parse(std::string_view(both).substr(p1.head.head_size), "PUT");
  ASSERT_EQ(p2.status, ParseStatus::kDone);
  EXPECT_EQ(p2.head.status, 201);
}

TEST(ResponseHead, NeedMoreOnEveryPrefix) {
  const std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  for (size_t n = 0; n < data.size(); ++n) {
    EXPECT_EQ(Parse(std::string_view(data).substr(0, n)).status, ParseStatus::kNeedMore) << n;
  }
}

TEST(ResponseHostile, StatusLine) {
  ExpectBad("HTTP/1.1 20 OK\r\n\r\n");
  ExpectBad("HTTP/1.1 2000 OK\r\n\r\n");
  ExpectBad("HTTP/1.1 099 OK\r\n\r\n");
  ExpectBad("HTTP/1.1 abc OK\r\n\r\n");
  ExpectBad("HTTP/1.1  200 OK\r\n\r\n");
  ExpectBad("HTTP/1.1 200 O\x01K\r\n\r\n");
  ExpectBad("HTTP/2.0 200 OK\r\n\r\n");
  ExpectBad("HTTP/1.2 200 OK\r\n\r\n");
  ExpectBad("http/1.1 200 OK\r\n\r\n");
  ExpectBad("ICY 200 OK\r\n\r\n");
  ExpectBad("\r\nHTTP/1.1 200 OK\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n");
}

TEST(ResponseHostile, Framing) {
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nTransfer-Encoding: x;a=\"b,chunked\r\n\r\n");
  ExpectBad("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  // The rules apply even when no body follows.
  ExpectBad("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD");
}

TEST(ResponseHostile, QuotedCommaDoesNotFakeChunked) {
  // The quoted parameter hides ", chunked": the final coding is x, so read until close.
  const Parsed p = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: x;a=\"b, chunked\"\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.body, BodyKind::kUntilClose);
}

TEST(ResponseHostile, Headers) {
  ExpectBad("HTTP/1.1 200 OK\r\nX : y\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\n: y\r\n\r\n");
  ExpectBad("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n");
  ExpectBad(std::string("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", 24));
}

TEST(ResponseHostile, Limits) {
  const Limits limits;
  ExpectBad("HTTP/1.1 200 " + std::string(limits.max_request_line, 'r'));
  ExpectBad("HTTP/1.1 200 OK\r\nX: " + std::string(limits.max_head_bytes, 'v'));
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= limits.max_headers; ++i) many += "X: y\r\n";
  ExpectBad(many + "\r\n");
}

}  // namespace
}  // namespace nines::http
