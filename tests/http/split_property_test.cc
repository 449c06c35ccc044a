// Properties: however the bytes of a message are split across reads, the parsers give the same
// result as when the message arrives at once (RapidCheck, plus exhaustive byte-at-a-time runs).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "http/parser.h"

namespace nines::http {
namespace {

// Pieces that random messages are made of: mostly valid syntax, with the hostile bytes mixed in.
const std::vector<std::string>& Fragments() {
  static const std::vector<std::string> fragments = {"GET / HTTP/1.1\r\n",
                                                     "POST /upload?x=1 HTTP/1.1\r\n",
                                                     "HTTP/1.1 200 OK\r\n",
                                                     "HTTP/1.0 204 No Content\r\n",
                                                     "Host: example.com\r\n",
                                                     "Content-Length: 5\r\n",
                                                     "Content-Length: 6\r\n",
                                                     "Transfer-Encoding: chunked\r\n",
                                                     "Transfer-Encoding: gzip\r\n",
                                                     "Connection: close\r\n",
                                                     "Connection: Content-Length\r\n",
                                                     "Connection: keep-alive, Host\r\n",
                                                     "Connection: Transfer-Encoding, close\r\n",
                                                     "Connection: HOST,content-length\r\n",
                                                     "Expect: 100-continue\r\n",
                                                     "X-Long: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                                                     "\r\n",
                                                     "\r\n",
                                                     "\r\n",
                                                     "\n",
                                                     "\r",
                                                     " ",
                                                     "\t",
                                                     ":",
                                                     "x",
                                                     "HTTP/1.1",
                                                     "GET",
                                                     "/",
                                                     "0",
                                                     std::string(1, '\0'),
                                                     "\x7f",
                                                     "\xff",
                                                     "5\r\nhello\r\n",
                                                     "0\r\n\r\n",
                                                     "3;e=1\r\nabc\r\n",
                                                     "T: v\r\n",
                                                     "ffffffffffffffffff\r\n"};
  return fragments;
}

std::string Concat(const std::vector<size_t>& picks) {
  std::string out;
  for (size_t i : picks) out += Fragments()[i % Fragments().size()];
  return out;
}

// A random message: random fragments, often after a valid head.
rc::Gen<std::string> Message() {
  return rc::gen::map(
      rc::gen::pair(rc::gen::element(0, 1, 2),
                    rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, 1000))),
      [](const std::pair<int, std::vector<size_t>>& p) {
        static const char* kStarts[] = {"", "GET /a HTTP/1.1\r\nHost: h\r\n",
                                        "HTTP/1.1 200 OK\r\n"};
        return kStarts[p.first] + Concat(p.second);
      });
}

Limits SmallLimits() {
  Limits limits;
  limits.max_request_line = 40;
  limits.max_head_bytes = 200;
  limits.max_headers = 6;
  return limits;
}

bool SameHeaders(const std::vector<Header>& a, const std::vector<Header>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  }
  return true;
}

struct RequestResult {
  ParseStatus status;
  RequestHead head;
  ParseError error;
};

RequestResult ParseRequest(std::string_view data, const Limits& limits) {
  RequestResult r;
  r.status = ParseRequestHead(data, limits, &r.head, &r.error);
  return r;
}

// The full result, and the one from a prefix: a prefix either needs more or agrees.
void ExpectPrefixAgrees(const RequestResult& full, const RequestResult& prefix, size_t cut) {
  if (prefix.status == ParseStatus::kNeedMore) {
    // A complete head is never "needs more" once all its bytes are there.
    if (full.status == ParseStatus::kDone) RC_ASSERT(cut < full.head.head_size);
    return;
  }
  RC_ASSERT(prefix.status == full.status);
  if (full.status == ParseStatus::kError) {
    RC_ASSERT(prefix.error.status == full.error.status);
    RC_ASSERT(std::string_view(prefix.error.reason) == full.error.reason);
    return;
  }
  const RequestHead& a = full.head;
  const RequestHead& b = prefix.head;
  RC_ASSERT(a.method == b.method);
  RC_ASSERT(a.target == b.target);
  RC_ASSERT(a.version_minor == b.version_minor);
  RC_ASSERT(SameHeaders(a.headers, b.headers));
  RC_ASSERT(a.body == b.body);
  RC_ASSERT(a.content_length == b.content_length);
  RC_ASSERT(a.keep_alive == b.keep_alive);
  RC_ASSERT(a.expect_continue == b.expect_continue);
  RC_ASSERT(a.head_size == b.head_size);
}

// Small random limits, so that the limit checks are hit often.
rc::Gen<Limits> RandomLimits() {
  return rc::gen::exec([] {
    Limits limits;
    limits.max_request_line = *rc::gen::inRange<size_t>(4, 80);
    limits.max_head_bytes = *rc::gen::inRange<size_t>(8, 400);
    limits.max_headers = *rc::gen::inRange<size_t>(0, 10);
    return limits;
  });
}

RC_GTEST_PROP(SplitProperty, RequestPrefixNeedsMoreOrAgrees, ()) {
  const std::string data = *Message();
  const Limits random_limits = *RandomLimits();
  for (const Limits& limits : {Limits(), SmallLimits(), random_limits}) {
    const RequestResult full = ParseRequest(data, limits);
    for (size_t cut = 0; cut <= data.size(); ++cut) {
      ExpectPrefixAgrees(full, ParseRequest(std::string_view(data).substr(0, cut), limits), cut);
    }
  }
}

RC_GTEST_PROP(SplitProperty, ResponsePrefixNeedsMoreOrAgrees, ()) {
  const std::string data = *Message();
  const Limits limits = *RandomLimits();
  const std::string_view method = *rc::gen::element<std::string_view>("GET", "HEAD", "CONNECT");
  ResponseHead full;
  ParseError full_error;
  const ParseStatus full_status = ParseResponseHead(data, limits, method, &full, &full_error);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    ResponseHead part;
    ParseError part_error;
    const ParseStatus part_status = ParseResponseHead(std::string_view(data).substr(0, cut), limits,
                                                      method, &part, &part_error);
    if (part_status == ParseStatus::kNeedMore) {
      if (full_status == ParseStatus::kDone) RC_ASSERT(cut < full.head_size);
      continue;
    }
    RC_ASSERT(part_status == full_status);
    if (full_status == ParseStatus::kError) {
      RC_ASSERT(part_error.status == 502);
      RC_ASSERT(std::string_view(part_error.reason) == full_error.reason);
      continue;
    }
    RC_ASSERT(part.status == full.status);
    RC_ASSERT(part.reason == full.reason);
    RC_ASSERT(SameHeaders(part.headers, full.headers));
    RC_ASSERT(part.body == full.body);
    RC_ASSERT(part.content_length == full.content_length);
    RC_ASSERT(part.keep_alive == full.keep_alive);
    RC_ASSERT(part.head_size == full.head_size);
  }
}

struct ChunkedResult {
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
  uint64_t data_bytes = 0;
};

ChunkedResult FeedChunked(std::string_view body, const std::vector<size_t>& cuts) {
  ChunkedReader reader;
  ChunkedResult r;
  ParseError error;
  size_t offset = 0;
  for (size_t i = 0; i <= cuts.size() && !r.done && !r.failed; ++i) {
    const size_t end =
        i < cuts.size() ? std::max(offset, std::min(cuts[i], body.size())) : body.size();
    const std::string_view piece = body.substr(offset, end - offset);
    const size_t used = reader.Consume(piece, &r.done, &error);
    r.consumed += used;
    if (!r.done && used < piece.size()) r.failed = true;
    offset = end;
  }
  r.data_bytes = reader.data_bytes();
  return r;
}

// A chunked body: random chunks, extensions, trailers, sometimes a corrupted byte, and the
// start of a next message after it.
rc::Gen<std::string> ChunkedBody() {
  return rc::gen::exec([] {
    std::string body;
    const auto chunks = *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 40));
    for (size_t n : chunks) {
      char size[32];
      std::snprintf(size, sizeof(size), *rc::gen::element("%zx", "%zX", "%03zx"), n);
      body += size;
      if (*rc::gen::inRange(0, 4) == 0) body += ";ext=\"v\"";
      body += "\r\n" + std::string(n, 'd') + "\r\n";
    }
    body += "0\r\n";
    if (*rc::gen::inRange(0, 3) == 0) body += "Trailer-A: 1\r\nB: two\r\n";
    body += "\r\n";
    if (*rc::gen::inRange(0, 3) == 0 && !body.empty()) {
      const size_t at = *rc::gen::inRange<size_t>(0, body.size());
      body[at] = *rc::gen::element('\n', '\r', 'g', ' ', '\0', ';', ':');
    }
    return body + "GET /next HTTP/1.1\r\n";
  });
}

RC_GTEST_PROP(SplitProperty, ChunkedSplitsAgree, ()) {
  const std::string body = *ChunkedBody();
  const auto cuts =
      *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, body.size() + 1));
  std::vector<size_t> sorted = cuts;
  std::sort(sorted.begin(), sorted.end());
  const ChunkedResult whole = FeedChunked(body, {});
  const ChunkedResult split = FeedChunked(body, sorted);
  RC_ASSERT(whole.done == split.done);
  RC_ASSERT(whole.failed == split.failed);
  RC_ASSERT(whole.done != whole.failed);  // the body is followed by more bytes: one or the other
  if (whole.done) {
    RC_ASSERT(whole.consumed == split.consumed);
    RC_ASSERT(whole.data_bytes == split.data_bytes);
  }
}

// What a proxy forwards: the head without its hop-by-hop headers (those named
// in Connection included), Transfer-Encoding written back for chunked bodies.
std::string ForwardedRequest(const RequestHead& head) {
  std::string tokens;
  for (const Header& h : head.headers) {
    if (EqualsIgnoreCase(h.name, "connection")) tokens += std::string(h.value) + ",";
  }
  std::string out = std::string(head.method) + " " + std::string(head.target) + " HTTP/1.1\r\n";
  for (const Header& h : head.headers) {
    if (IsHopByHop(h.name, tokens)) continue;
    out += std::string(h.name) + ": " + std::string(h.value) + "\r\n";
  }
  if (head.body == BodyKind::kChunked) out += "Transfer-Encoding: chunked\r\n";
  return out + "\r\n";
}

// Framing and routing survive forwarding whatever Connection names: the next
// hop sees the same body length and the same Host as the proxy did.
RC_GTEST_PROP(SplitProperty, ForwardingKeepsFramingAndHost, ()) {
  static const char* kTokens[] = {"Content-Length",    "content-length", "Host",       "HOST",
                                  "Transfer-Encoding", "close",          "keep-alive", "X-A"};
  const auto picks = *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, 8));
  std::string connection;
  for (size_t i : picks) connection += std::string(connection.empty() ? "" : ", ") + kTokens[i];
  const int framing = *rc::gen::inRange(0, 3);
  std::string data = "POST /p HTTP/1.1\r\nHost: origin.example\r\nX-A: 1\r\n";
  if (framing == 1) data += "Content-Length: 17\r\n";
  if (framing == 2) data += "Transfer-Encoding: chunked\r\n";
  data += "Connection: " + connection + "\r\n\r\n";
  RequestHead head;
  ParseError error;
  RC_ASSERT(ParseRequestHead(data, Limits(), &head, &error) == ParseStatus::kDone);
  const std::string forwarded = ForwardedRequest(head);
  RequestHead next;
  RC_ASSERT(ParseRequestHead(forwarded, Limits(), &next, &error) == ParseStatus::kDone);
  RC_ASSERT(next.body == head.body);
  RC_ASSERT(next.content_length == head.content_length);
  const Header* host = next.Find("host");
  RC_ASSERT(host != nullptr);
  RC_ASSERT(host->value == "origin.example");
}

TEST(SplitProperty, ConnectionCannotRemoveFramingOrRouting) {
  for (const char* name : {"Content-Length", "content-length", "Host", "hOsT"}) {
    EXPECT_FALSE(IsHopByHop(name, "close, Content-Length, Host")) << name;
  }
  EXPECT_TRUE(IsHopByHop("Transfer-Encoding", ""));  // written back by the proxy itself
  EXPECT_TRUE(IsHopByHop("X-Secret", "keep-alive, X-Secret"));
}

// Exhaustive byte-at-a-time feeding of fixed samples: every prefix agrees with the whole.
TEST(SplitProperty, ByteAtATimeSamples) {
  const std::vector<std::string> samples = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "\r\nPOST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "PUT /x HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET /" + std::string(50, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(300, 'v') + "\r\n\r\n",
  };
  for (const Limits& limits : {Limits(), SmallLimits()}) {
    for (const std::string& sample : samples) {
      const RequestResult full = ParseRequest(sample, limits);
      bool finished = false;
      for (size_t n = 0; n <= sample.size() && !finished; ++n) {
        const RequestResult prefix = ParseRequest(std::string_view(sample).substr(0, n), limits);
        if (prefix.status == ParseStatus::kNeedMore) continue;
        finished = true;
        EXPECT_EQ(prefix.status, full.status) << sample;
        EXPECT_EQ(prefix.error.status, full.error.status) << sample;
        if (full.status == ParseStatus::kDone) {
          EXPECT_EQ(n, full.head.head_size) << sample;
          EXPECT_EQ(prefix.head.headers.size(), full.head.headers.size());
        }
      }
      EXPECT_TRUE(finished) << sample;
    }
  }
}

}  // namespace
}  // namespace nines::http
