// ChunkedReader: well-formed bodies (with extensions and trailers), where the message ends when
// the next one follows, byte-at-a-time feeding, and malformed bodies.
#include <string>

#include <gtest/gtest.h>

#include "http/parser.h"

namespace nines::http {
namespace {

struct Fed {
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
  ParseError error;
  uint64_t data_bytes = 0;
};

// Feeds `body` in pieces of `step` bytes (0: all at once), as a proxy would, stopping at the end
// of the message or at the first error.
Fed Feed(std::string_view body, size_t step = 0) {
  ChunkedReader reader;
  Fed fed;
  size_t offset = 0;
  while (offset < body.size() && !fed.done) {
    const size_t n = step == 0 ? body.size() - offset : std::min(step, body.size() - offset);
    const std::string_view piece = body.substr(offset, n);
    const size_t used = reader.Consume(piece, &fed.done, &fed.error);
    fed.consumed += used;
    offset += n;
    if (!fed.done && used < piece.size()) {
      fed.failed = true;
      break;
    }
    EXPECT_LE(used, piece.size());
  }
  fed.data_bytes = reader.data_bytes();
  return fed;
}

void ExpectMalformed(std::string_view body) {
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}}) {
    const Fed fed = Feed(body, step);
    EXPECT_TRUE(fed.failed) << body << " step " << step;
    EXPECT_FALSE(fed.done);
    EXPECT_EQ(fed.error.status, 400);
  }
}

TEST(ChunkedReader, SimpleBody) {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{7}}) {
    const Fed fed = Feed(body, step);
    EXPECT_TRUE(fed.done) << step;
    EXPECT_FALSE(fed.failed);
    EXPECT_EQ(fed.consumed, body.size());
    EXPECT_EQ(fed.data_bytes, 11u);
  }
}

TEST(ChunkedReader, EmptyBody) {
  const Fed fed = Feed("0\r\n\r\n");
  EXPECT_TRUE(fed.done);
  EXPECT_EQ(fed.consumed, 5u);
  EXPECT_EQ(fed.data_bytes, 0u);
}

TEST(ChunkedReader, HexSizesExtensionsTrailers) {
  const std::string data(0x1aF, 'x');
  const std::string body = "1aF;name=value;q=\"quoted; \\\"x\"\r\n" + data +
                           "\r\n000\r\nExpires: never\r\nX-Checksum:\tabc \r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{5}}) {
    const Fed fed = Feed(body, step);
    EXPECT_TRUE(fed.done) << step;
    EXPECT_EQ(fed.consumed, body.size());
    EXPECT_EQ(fed.data_bytes, 0x1afu);
  }
}

TEST(ChunkedReader, StopsAtEndOfMessage) {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  ChunkedReader reader;
  bool done = false;
  ParseError error;
  EXPECT_EQ(reader.Consume(body + next, &done, &error), body.size());
  EXPECT_TRUE(done);
  // Further calls consume nothing and keep reporting done.
  EXPECT_EQ(reader.Consume(next, &done, &error), 0u);
  EXPECT_TRUE(done);
  // Reset starts a new body.
  reader.Reset();
  EXPECT_EQ(reader.data_bytes(), 0u);
  EXPECT_EQ(reader.Consume("0\r\n\r\n", &done, &error), 5u);
  EXPECT_TRUE(done);
}

TEST(ChunkedReader, StopsAtEndOfMessageFedBytewise) {
  const std::string body = "2\r\nab\r\n0\r\nT: v\r\n\r\n";
  const std::string stream = body + "HTTP/1.1 200 OK\r\n";
  ChunkedReader reader;
  ParseError error;
  size_t consumed = 0;
  bool done = false;
  for (size_t i = 0; i < stream.size() && !done; ++i) {
    consumed += reader.Consume(std::string_view(stream).substr(i, 1), &done, &error);
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(consumed, body.size());
}

TEST(ChunkedReader, MaxSize) {
  ChunkedReader reader;
  bool done = false;
  ParseError error;
  const std::string head = "ffffffffffffffff\r\n";
  EXPECT_EQ(reader.Consume(head + "abc", &done, &error), head.size() + 3);
  EXPECT_FALSE(done);
  EXPECT_EQ(reader.data_bytes(), 3u);
}

TEST(ChunkedReader, EmptyInput) {
  ChunkedReader reader;
  bool done = true;
  ParseError error;
  EXPECT_EQ(reader.Consume("", &done, &error), 0u);
  EXPECT_FALSE(done);
}

TEST(ChunkedReaderHostile, BadSizes) {
  ExpectMalformed("\r\n");
  ExpectMalformed("x\r\n");
  ExpectMalformed("-1\r\n");
  ExpectMalformed("+5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("0x5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed(" 5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5 \r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5 ;a=b\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\t\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("10000000000000000\r\n");  // 17 digits: would overflow
  ExpectMalformed("00000000000000005\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\rhello\r\n0\r\n\r\n");
  ExpectMalformed(";ext\r\n");
}

TEST(ChunkedReaderHostile, BadData) {
  ExpectMalformed("5\r\nhelloX\r\n0\r\n\r\n");  // longer than the size
  ExpectMalformed("5\r\nhell\r\n0\r\n\r\n");    // shorter: CRLF lands inside the data
  ExpectMalformed("5\r\nhello\n0\r\n\r\n");
  ExpectMalformed("5\r\nhello\r0\r\n\r\n");
}

TEST(ChunkedReaderHostile, BadExtensions) {
  ExpectMalformed("5;a\nb\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed(std::string("5;a\0b\r\nhello\r\n0\r\n\r\n", 19));
  ExpectMalformed("5;a\rb\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5;" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n");
}

TEST(ChunkedReaderHostile, BadTrailers) {
  ExpectMalformed("0\r\n\n");
  ExpectMalformed("0\r\nX: y\n\r\n");
  ExpectMalformed("0\r\nX y\r\n\r\n");
  ExpectMalformed("0\r\nNoColon\r\n\r\n");
  ExpectMalformed("0\r\n: v\r\n\r\n");
  ExpectMalformed("0\r\n v\r\n\r\n");  // folding
  ExpectMalformed("0\r\nX: a\x01\r\n\r\n");
  ExpectMalformed("0\r\nX: y\r\n\rx");
  ExpectMalformed("0\r\nX: " + std::string(20000, 't') + "\r\n\r\n");
  ExpectMalformed("0\r\n\rX");
}

TEST(ChunkedReaderHostile, ErrorIsSticky) {
  ChunkedReader reader;
  bool done = false;
  ParseError error;
  EXPECT_EQ(reader.Consume("5\r\nhelloX", &done, &error), 0u);
  ParseError again;
  EXPECT_EQ(reader.Consume("\r\n0\r\n\r\n", &done, &again), 0u);
  EXPECT_FALSE(done);
  EXPECT_EQ(again.status, 400);
  EXPECT_STREQ(again.reason, error.reason);
}

// Decoding (for HTTP/1.0 recipients): the chunk data alone, however split.
TEST(ChunkedReader, DecodesChunkDataWhateverTheSplit) {
  const std::string body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1";
  for (size_t step = 1; step <= body.size(); ++step) {
    ChunkedReader reader;
    std::string data;
    ParseError error;
    bool done = false;
    for (size_t offset = 0; offset < body.size() && !done; offset += step) {
      reader.Consume(std::string_view(body).substr(offset, step), &done, &error, &data);
    }
    EXPECT_TRUE(done) << step;
    EXPECT_EQ(data, "hello world") << step;
  }
}

}  // namespace
}  // namespace nines::http
