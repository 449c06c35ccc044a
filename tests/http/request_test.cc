// Request head parsing: valid shapes, framing, keep-alive, and every hostile input with the status
// it must be answered with.
#include <string>

#include <gtest/gtest.h>

#include "http/parser.h"

namespace nines::http {
namespace {

struct Parsed {
  ParseStatus status;
  RequestHead head;
  ParseError error;
};

Parsed Parse(std::string_view data, const Limits& limits = Limits()) {
  Parsed p;
  p.status = ParseRequestHead(data, limits, &p.head, &p.error);
  return p;
}

// Expects `data` to be refused with `status`.
void ExpectError(std::string_view data, int status, const Limits& limits = Limits()) {
  const Parsed p = Parse(data, limits);
  ASSERT_EQ(p.status, ParseStatus::kError) << data;
  EXPECT_EQ(p.error.status, status) << data << " -> " << p.error.reason;
  EXPECT_STRNE(p.error.reason, "");
}

TEST(RequestHead, SimpleGet) {
  const std::string data =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  const Parsed p = Parse(data);
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.target, "/index.html?q=1");
  EXPECT_EQ(p.head.version_minor, 1);
  ASSERT_EQ(p.head.headers.size(), 2u);
  EXPECT_EQ(p.head.headers[0].name, "Host");
  EXPECT_EQ(p.head.headers[0].value, "example.com");
  EXPECT_EQ(p.head.headers[1].name, "Accept");
  EXPECT_EQ(p.head.headers[1].value, "*/*");
  EXPECT_EQ(p.head.body, BodyKind::kNone);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_FALSE(p.head.expect_continue);
  EXPECT_EQ(p.head.head_size, data.size());
}

TEST(RequestHead, ValueWhitespaceIsTrimmedAndInnerKept) {
  const Parsed p =
      Parse("GET / HTTP/1.1\r\nHost:x\r\nX-A: \t a \t b \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  ASSERT_EQ(p.head.headers.size(), 4u);
  EXPECT_EQ(p.head.headers[0].value, "x");
  EXPECT_EQ(p.head.headers[1].value, "a \t b");
  EXPECT_EQ(p.head.headers[2].value, "");
  EXPECT_EQ(p.head.headers[3].value, "");
}

TEST(RequestHead, ObsTextAndLongValuesAccepted) {
  std::string value(3000, 'v');
  value[1234] = '\t';
  value[2000] = static_cast<char>(0xC3);
  value[2001] = static_cast<char>(0xA9);
  const std::string data = "GET / HTTP/1.1\r\nHost: h\r\nCookie: " + value + "\r\n\r\n";
  const Parsed p = Parse(data);
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.Find("cookie")->value, value);
}

TEST(RequestHead, FindIsCaseInsensitiveAndReturnsFirst) {
  const Parsed p = Parse("GET / HTTP/1.1\r\nhOsT: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  ASSERT_NE(p.head.Find("HOST"), nullptr);
  EXPECT_EQ(p.head.Find("host")->value, "h");
  EXPECT_EQ(p.head.Find("X-DUP")->value, "1");
  EXPECT_EQ(p.head.Find("x-missing"), nullptr);
}

TEST(RequestHead, TargetForms) {
  for (const char* target : {"/", "*", "http://example.com:8080/a?b#c", "example.com:443",
                             "/%7Euser/a;b=c?x=[1]&y={2}"}) {
    const std::string method = std::string(target) == "example.com:443" ? "CONNECT" : "OPTIONS";
    const std::string data = method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n";
    const Parsed p = Parse(data);
    ASSERT_EQ(p.status, ParseStatus::kDone) << target << ": " << p.error.reason;
    EXPECT_EQ(p.head.target, target);
    EXPECT_EQ(p.head.method, method);
  }
}

TEST(RequestHead, ExtensionMethodsAreTokens) {
  const Parsed p = Parse("M-SEARCH! * HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.method, "M-SEARCH!");
}

TEST(RequestHead, Http10) {
  const Parsed p = Parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.version_minor, 0);
  EXPECT_FALSE(p.head.keep_alive);
  const Parsed ka = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_EQ(ka.status, ParseStatus::kDone);
  EXPECT_TRUE(ka.head.keep_alive);
}

TEST(RequestHead, ConnectionTokens) {
  struct Case {
    const char* headers;
    bool keep_alive;
  } cases[] = {
      {"Connection: close\r\n", false},
      {"Connection: CLOSE\r\n", false},
      {"Connection: keep-alive, Close\r\n", false},
      {"Connection: upgrade,close\r\n", false},
      {"Connection: te\r\nConnection: close\r\n", false},
      {"Connection: closed\r\n", true},
      {"Connection: keep-alive\r\n", true},
      {"Connection:\r\n", true},
  };
  for (const Case& c : cases) {
    const Parsed p = Parse(std::string("GET / HTTP/1.1\r\nHost: h\r\n") + c.headers + "\r\n");
    ASSERT_EQ(p.status, ParseStatus::kDone) << c.headers;
    EXPECT_EQ(p.head.keep_alive, c.keep_alive) << c.headers;
  }
  const Parsed p10 = Parse("GET / HTTP/1.0\r\nConnection: foo, KEEP-ALIVE\r\n\r\n");
  ASSERT_EQ(p10.status, ParseStatus::kDone);
  EXPECT_TRUE(p10.head.keep_alive);
}

TEST(RequestHead, ExpectContinue) {
  const Parsed p =
      Parse("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_TRUE(p.head.expect_continue);
  const Parsed p10 = Parse("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(p10.status, ParseStatus::kDone);
  EXPECT_FALSE(p10.head.expect_continue);
  const Parsed other = Parse("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n");
  ASSERT_EQ(other.status, ParseStatus::kDone);
  EXPECT_FALSE(other.head.expect_continue);
}

TEST(RequestHead, ContentLength) {
  const Parsed p = Parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n");
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.body, BodyKind::kContentLength);
  EXPECT_EQ(p.head.content_length, 42u);

  const Parsed zero = Parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(zero.status, ParseStatus::kDone);
  EXPECT_EQ(zero.head.body, BodyKind::kContentLength);
  EXPECT_EQ(zero.head.content_length, 0u);

  const Parsed max =
      Parse("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n");
  ASSERT_EQ(max.status, ParseStatus::kDone);
  EXPECT_EQ(max.head.content_length, 18446744073709551615ull);
}

TEST(RequestHead, IdenticalContentLengthsMerge) {
  for (const char* headers :
       {"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5, 5\r\n",
        "Content-Length: 5,5 ,\t5\r\n", "Content-Length: 005\r\ncontent-length: 5\r\n"}) {
    const Parsed p = Parse(std::string("POST / HTTP/1.1\r\nHost: h\r\n") + headers + "\r\n");
    ASSERT_EQ(p.status, ParseStatus::kDone) << headers;
    EXPECT_EQ(p.head.body, BodyKind::kContentLength);
    EXPECT_EQ(p.head.content_length, 5u);
  }
}

TEST(RequestHead, Chunked) {
  for (const char* te : {"chunked", "Chunked", "CHUNKED", " chunked ", ", chunked", "chunked,"}) {
    const Parsed p =
        Parse(std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + te + "\r\n\r\n");
    ASSERT_EQ(p.status, ParseStatus::kDone) << te << ": " << p.error.reason;
    EXPECT_EQ(p.head.body, BodyKind::kChunked);
  }
}

TEST(RequestHead, LeadingEmptyLine) {
  const std::string data = "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const Parsed p = Parse(data);
  ASSERT_EQ(p.status, ParseStatus::kDone);
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.head_size, data.size());
  // Only one is ignored.
  ExpectError("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestHead, Pipelined) {
  const std::string first = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second = "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  const std::string both = first + second;
  const Parsed p1 = Parse(both);
  ASSERT_EQ(p1.status, ParseStatus::kDone);
  EXPECT_EQ(p1.head.target, "/1");
  EXPECT_EQ(p1.head.head_size, first.size());
  const Parsed p2 = Parse(std::string_view(both).substr(p1.head.head_size));
  ASSERT_EQ(p2.status, ParseStatus::kDone);
  EXPECT_EQ(p2.head.target, "/2");
  EXPECT_EQ(p2.head.head_size, second.size() - 3);
}

TEST(RequestHead, NeedMoreOnEveryPrefix) {
  const std::string data =
      "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nX-A: b\r\n\r\n";
  for (size_t n = 0; n < data.size(); ++n) {
    const Parsed p = Parse(std::string_view(data).substr(0, n));
    EXPECT_EQ(p.status, ParseStatus::kNeedMore) << n;
  }
  EXPECT_EQ(Parse(data).status, ParseStatus::kDone);
}

TEST(RequestHead, HeadReuseClearsPreviousState) {
  RequestHead head;
  ParseError error;
  ASSERT_EQ(ParseRequestHead(
                "POST / HTTP/1.0\r\nContent-Length: 9\r\nExpect: 100-continue\r\nA: 1\r\n\r\n",
                Limits(), &head, &error),
            ParseStatus::kDone);
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits(), &head, &error),
            ParseStatus::kDone);
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(head.body, BodyKind::kNone);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_TRUE(head.keep_alive);
}

// --- Hostile input: each must be refused with the stated status. ---

TEST(RequestHostile, Method) {
  ExpectError("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET(x) / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("\x16\x03\x01\x02\x00", 400);  // a TLS ClientHello, refused before it ends
  ExpectError("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestHostile, Target) {
  ExpectError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);  // empty target
  ExpectError("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError(std::string("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 29), 400);
  ExpectError("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET /\r\nHost: h\r\n\r\n", 400);  // HTTP/0.9 style
  ExpectError("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestHostile, Version) {
  ExpectError("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
  ExpectError("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
  ExpectError("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
  ExpectError("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/11\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / FOO\r\nHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestHostile, BareLfAndCr) {
  ExpectError("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\n\rX", 400);
  // Refused as soon as the bare LF is seen, not when the head ends.
  ExpectError("GET / HTTP/1.1\n", 400);
}

TEST(RequestHostile, HeaderNames) {
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX@A: b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX(A): b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX\tA: b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX\x80: b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n", 400);
}

TEST(RequestHostile, HeaderValues) {
  ExpectError(std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35), 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\x1b[31m\r\n\r\n", 400);
  // A CTL deep in a long value (found by the word-at-a-time scan).
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'a') + "\x0b" +
                  std::string(100, 'a') + "\r\n\r\n",
              400);
}

TEST(RequestHostile, ObsFold) {
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
}

TEST(RequestHostile, Host) {
  ExpectError("GET / HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400);
}

TEST(RequestHostile, ContentLengthAndTransferEncoding) {
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
}

TEST(RequestHostile, ConflictingContentLength) {
  ExpectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
  ExpectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400);
  ExpectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\ncontent-length: 00001\r\n\r\n",
              400);
}

TEST(RequestHostile, InvalidContentLength) {
  for (const char* value : {"", "abc", "-1", "+5", "5a", "0x10", "5 5", "5,", ",5", "5,,5", "1.0",
                            "5;", "\"5\"", "18446744073709551616", "99999999999999999999999"}) {
    ExpectError(std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + value + "\r\n\r\n",
                400);
  }
}

TEST(RequestHostile, TransferEncoding) {
  struct Case {
    const char* te;
    int status;
  } cases[] = {
      {"gzip", 400},              // chunked not final
      {"chunked, gzip", 400},     // chunked not final
      {"chunked, chunked", 400},  // applied twice
      {"identity", 400},
      {"", 400},
      {",", 400},
      {"chunked;q=1", 400},  // chunked has no parameters
      {"chunked x", 400},
      {"\"chunked\"", 400},
      {"chunk", 400},
      {"xchunked", 400},
      {"gzip, chunked", 501},  // valid, but no coding except chunked is supported
      {"gzip;level=\"9, x\", chunked", 501},
  };
  for (const Case& c : cases) {
    ExpectError(
        std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + c.te + "\r\n\r\n",
        c.status);
  }
  // Two header lines form one list, in order.
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: gzip\r\n\r\n",
      400);
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      400);
  ExpectError(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      501);
  // HTTP/1.0 has no transfer codings.
  ExpectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST(RequestHostile, RequestLineTooLong) {
  const Limits limits;
  const std::string long_target(limits.max_request_line, 'a');
  ExpectError("GET /" + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n", 414);
  // Refused before the line ends: no CRLF ever arrives.
  ExpectError("GET /" + long_target, 414);
  ExpectError(std::string(limits.max_request_line + 1, 'G'), 414);
  ExpectError("GET /" + long_target + std::string(100000, 'b'), 414);
  // Exactly at the limit is fine.
  const std::string at_limit_target(limits.max_request_line - 14, 'a');
  const std::string line = "GET /" + at_limit_target + " HTTP/1.1";
  ASSERT_EQ(line.size(), limits.max_request_line);
  EXPECT_EQ(Parse(line + "\r\nHost: h\r\n\r\n").status, ParseStatus::kDone);
  EXPECT_EQ(Parse(line).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse(line + "\r").status, ParseStatus::kNeedMore);
  ExpectError("GET /a" + at_limit_target + " HTTP/1.1\r", 414);
}

TEST(RequestHostile, SmallRequestLineLimit) {
  Limits limits;
  limits.max_request_line = 20;
  EXPECT_EQ(Parse("GET /0123 HTTP/1.1\r\nHost: h\r\n\r\n", limits).status, ParseStatus::kDone);
  ExpectError("GET /0123456 HTTP/1.1\r\nHost: h\r\n\r\n", 414, limits);
  EXPECT_EQ(Parse("GET /0123456", limits).status, ParseStatus::kNeedMore);  // 12 bytes so far
  ExpectError("GET /0123456789012345678", 414, limits);
  // A byte past the bound decides nothing: the line is too long, whatever that byte is (found by
  // fuzzing: a prefix and the whole input must not get different answers).
  ExpectError("GET /0123456789abcd X HTTP/1.1\r\n", 414, limits);
  ExpectError("GET /0123456789abcd HTTP/1.1\r\n", 414, limits);
  EXPECT_EQ(Parse("GET /0123456789abcd ", limits).status, ParseStatus::kNeedMore);
}

TEST(RequestHostile, HeadTooLarge) {
  const Limits limits;
  std::string data = "GET / HTTP/1.1\r\nHost: h\r\n";
  while (data.size() <= limits.max_head_bytes)
    data += "X-Filler: " + std::string(1000, 'f') + "\r\n";
  ExpectError(data + "\r\n", 431);
  // Refused before the head ends.
  ExpectError(data, 431);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(limits.max_head_bytes, 'v'), 431);
}

TEST(RequestHostile, HeadExactlyAtLimit) {
  Limits limits;
  limits.max_head_bytes = 100;
  std::string data = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  data += std::string(limits.max_head_bytes - data.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(data.size(), limits.max_head_bytes);
  const Parsed p = Parse(data + "body", limits);
  ASSERT_EQ(p.status, ParseStatus::kDone) << p.error.reason;
  EXPECT_EQ(p.head.head_size, limits.max_head_bytes);
  data.insert(data.size() - 4, "v");
  ExpectError(data, 431, limits);
}

TEST(RequestHostile, TooManyHeaders) {
  const Limits limits;
  std::string data = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (size_t i = 1; i < limits.max_headers; ++i) data += "X-" + std::to_string(i) + ": v\r\n";
  const Parsed ok = Parse(data + "\r\n");
  ASSERT_EQ(ok.status, ParseStatus::kDone);
  EXPECT_EQ(ok.head.headers.size(), limits.max_headers);
  ExpectError(data + "X-Last: v\r\n\r\n", 431);
  ExpectError(data + "X-Last: v", 431);  // before the head ends
}

TEST(EqualsIgnoreCase, Basics) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));  // 0x40 and 0x60 differ only in the case bit
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));
}

TEST(IsHopByHop, FixedListAndConnectionTokens) {
  for (const char* name :
       {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer", "transfer-encoding",
        "Upgrade", "Proxy-Authorization", "Proxy-Authenticate"}) {
    EXPECT_TRUE(IsHopByHop(name, "")) << name;
  }
  EXPECT_FALSE(IsHopByHop("Content-Length", ""));
  EXPECT_FALSE(IsHopByHop("Trailers", ""));
  EXPECT_FALSE(IsHopByHop("Host", "close"));
  EXPECT_TRUE(IsHopByHop("X-Secret", "close, x-secret"));
  EXPECT_TRUE(IsHopByHop("x-secret", " X-Secret ,foo"));
  EXPECT_FALSE(IsHopByHop("X-Sec", "x-secret"));
  EXPECT_FALSE(IsHopByHop("", ",,"));
}

}  // namespace
}  // namespace nines::http
