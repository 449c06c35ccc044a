// Request smuggling vectors and oversized or slow requests: each gets its
// error status, the connection is closed, and no server sees the request.
#include "lb/lb_fixture.h"

namespace nines::test {
namespace {

class Hostile : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    StartAll({{"a"}});
  }
  // Sends `raw`, expects `status` and a closed connection, and checks the
  // server saw nothing.
  void Expect(const std::string& raw, int status) {
    int before = BackendCount(0);
    HttpConnection c;
    ASSERT_TRUE(c.Connect(host_, 8080));
    c.Send(raw);
    HttpResult r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, status) << raw.substr(0, 200);
    bool closed = false;
    c.ReadUntilClose(3000, &closed);
    EXPECT_TRUE(closed) << "connection left open after " << status;
    EXPECT_EQ(BackendCount(0), before) << "the server saw a bad request";
  }
};

TEST_F(Hostile, ContentLengthWithTransferEncoding) {
  Expect(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      400);
}

TEST_F(Hostile, TwoDifferentContentLengths) {
  Expect("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
}

TEST_F(Hostile, BadChunkSize) {
  Expect("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         400);
}

TEST_F(Hostile, ObsoleteLineFolding) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nX-A: one\r\n  folded\r\n\r\n", 400);
}

TEST_F(Hostile, BareLineFeedInRequestLine) {
  Expect("GET / HTTP/1.1\nHost: t\r\n\r\n", 400);
}

TEST_F(Hostile, NonTokenHeaderName) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400);
  Expect("GET / HTTP/1.1\r\nHost: t\r\nB@d: x\r\n\r\n", 400);
}

TEST_F(Hostile, MissingHostOnHttp11) {
  Expect("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
}

TEST_F(Hostile, RequestLineOver8KiB) {
  Expect("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
}

TEST_F(Hostile, HeadersOver64KiB) {
  std::string headers;
  for (int i = 0; i < 80; ++i)
    headers += "X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
  Expect("GET / HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n", 431);
}

TEST_F(Hostile, GoodRequestAfterwardsStillWorks) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
  HttpResult r = Get("/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace nines::test
