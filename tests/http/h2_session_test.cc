// H2Session in memory, against nghttp2's client session and raw frames:
// requests and responses, request-body flow control, the header list limit
// (431, HPACK bomb), rapid reset and CONTINUATION floods (GOAWAY
// ENHANCE_YOUR_CALM), with a manual clock.
#include "http/h2_session.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>

#include "support/h2_client.h"

namespace nines::http {
namespace {

using test::H2Client;
using test::H2Frame;

// Records what the session tells it; answers each request from `answer`.
struct Recorder : H2Handler {
  void OnRequest(int32_t stream, H2Request request) override {
    requests[stream] = std::move(request);
    if (auto_answer) {
      session->SubmitResponse(stream, 200, {{"X-Server", "t"}}, true);
      session->SendBody(stream, "hello", true);
    }
  }
  void OnRequestData(int32_t stream, std::string_view data) override {
    bodies[stream].append(data);
    if (consume) session->ConsumeBody(stream, data.size());
  }
  void OnRequestEnd(int32_t stream) override { ended[stream] = true; }
  void OnStreamClose(int32_t stream, uint32_t code) override { closed[stream] = code; }
  void OnLimit(H2Limit limit) override { ++limits[limit]; }

  H2Session* session = nullptr;
  bool auto_answer = true;
  bool consume = true;
  std::map<int32_t, H2Request> requests;
  std::map<int32_t, std::string> bodies;
  std::map<int32_t, bool> ended;
  std::map<int32_t, uint32_t> closed;
  std::map<H2Limit, int> limits;
};

class H2SessionTest : public ::testing::Test {
 protected:
  void Make(const H2Limits& limits = H2Limits()) {
    session_ = std::make_unique<H2Session>(limits, &handler_, [this] { return now_ms_; });
    handler_.session = session_.get();
  }
  // Moves bytes both ways until neither side has anything to say.
  void Pump(H2Client& client) {
    for (int i = 0; i < 100; ++i) {
      std::string to_server = client.Output();
      if (!to_server.empty()) session_->Receive(to_server);
      std::string to_client;
      session_->TakeOutput(&to_client, 1 << 20);
      if (!to_client.empty()) client.Input(to_client);
      if (to_server.empty() && to_client.empty()) return;
    }
  }
  std::string Drain() {
    std::string out;
    session_->TakeOutput(&out, 16 << 20);
    return out;
  }

  int64_t now_ms_ = 1000;
  Recorder handler_;
  std::unique_ptr<H2Session> session_;
};

TEST_F(H2SessionTest, RequestAndResponse) {
  Make();
  H2Client client;
  int32_t id = client.Submit("GET", "/a?b=1", {{"x-user", "u1"}, {"cookie", "a=1"}});
  Pump(client);
  ASSERT_TRUE(client.Done(id));
  EXPECT_EQ(client.response(id).status, 200);
  EXPECT_EQ(client.response(id).body, "hello");
  EXPECT_EQ(client.response(id).Header("x-server"), "t");  // lowercased
  const H2Request& r = handler_.requests[id];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/a?b=1");
  EXPECT_EQ(r.authority, "test");
  EXPECT_FALSE(r.has_body);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].first, "x-user");
  EXPECT_TRUE(handler_.ended[id]);
  EXPECT_EQ(handler_.closed.count(id), 1u);
  EXPECT_EQ(session_->open_streams(), 0u);
}

TEST_F(H2SessionTest, RequestBodyWaitsForTheHandlerToConsumeIt) {
  H2Limits limits;
  limits.initial_window_size = 1000;
  Make(limits);
  handler_.consume = false;
  handler_.auto_answer = false;
  H2Client client;
  Pump(client);  // the client learns the window from our SETTINGS
  int32_t id = client.Submit("POST", "/up", {}, std::string(5000, 'x'));
  Pump(client);
  // Only the window's worth arrived.
  EXPECT_EQ(handler_.bodies[id].size(), 1000u);
  EXPECT_FALSE(handler_.ended[id]);
  for (int i = 0; i < 10 && !handler_.ended[id]; ++i) {
    session_->ConsumeBody(id, handler_.bodies[id].size());
    Pump(client);
  }
  EXPECT_EQ(handler_.bodies[id], std::string(5000, 'x'));
  EXPECT_TRUE(handler_.ended[id]);
  EXPECT_TRUE(handler_.requests[id].has_body);
  session_->SubmitResponse(id, 201, {}, false);
  Pump(client);
  EXPECT_EQ(client.response(id).status, 201);
}

TEST_F(H2SessionTest, TooLargeHeaderListGets431AndTheConnectionLives) {
  H2Limits limits;
  limits.max_header_list_size = 16384;
  Make(limits);
  H2Client client;
  int32_t big = client.Submit("GET", "/",
                              {{"x-a", std::string(10000, 'a')}, {"x-b", std::string(10000, 'b')}});
  Pump(client);
  EXPECT_EQ(client.response(big).status, 431);
  EXPECT_EQ(handler_.requests.count(big), 0u);  // never reached the handler
  EXPECT_EQ(handler_.limits[H2Limit::kHeaderListSize], 1);
  int32_t next = client.Submit("GET", "/");
  Pump(client);
  EXPECT_EQ(client.response(next).status, 200);
  EXPECT_TRUE(session_->Alive());
}

TEST_F(H2SessionTest, HpackBombIsCutOffAtTheHeaderListLimit) {
  Make();
  // One 4000-byte header enters the dynamic table, then 1-byte references
  // to it repeat it: 20 KB on the wire decode to 80 MB.
  std::string block = test::H2GetBlock();
  block += '\x40';  // literal with incremental indexing, new name
  block += '\x03';
  block += "x-b";
  block += '\x7f';  // value length 4000: 127 + varint(3873)
  uint32_t rest = 4000 - 127;
  while (rest >= 128) {
    block += static_cast<char>((rest & 0x7f) | 0x80);
    rest >>= 7;
  }
  block += static_cast<char>(rest);
  block += std::string(4000, 'b');
  block += std::string(16000 - block.size(), '\xbe');  // indexed: dynamic entry 62
  std::string in =
      test::H2ClientStart() +
      H2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, block);
  session_->Receive(in);
  std::string out = Drain();
  EXPECT_EQ(handler_.limits[H2Limit::kHeaderListSize], 1);
  EXPECT_EQ(handler_.requests.count(1), 0u);
  bool saw_431 = false;
  for (const auto& f : test::H2ParseFrames(out)) {
    if (f.type == NGHTTP2_HEADERS && f.stream == 1) saw_431 = true;
  }
  EXPECT_TRUE(saw_431);
  EXPECT_TRUE(session_->Alive());
}

TEST_F(H2SessionTest, RapidResetClosesTheConnectionWithEnhanceYourCalm) {
  H2Limits limits;
  Make(limits);
  handler_.auto_answer = false;  // the attack: work started, then cancelled
  std::string in = test::H2ClientStart();
  for (uint32_t i = 0; i < 10000; ++i) {
    uint32_t id = 1 + 2 * i;
    in += H2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                  test::H2GetBlock());
    in += test::H2RstStream(id, NGHTTP2_CANCEL);
  }
  bool alive = session_->Receive(in);
  std::string out = Drain();
  EXPECT_FALSE(alive);
  EXPECT_EQ(test::H2GoawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(handler_.limits[H2Limit::kResets], 1);
  EXPECT_FALSE(session_->Alive());
  EXPECT_NE(session_->close_reason().find("rapid reset"), std::string::npos);
  // The handler saw at most the allowed resets' worth of streams, not 10,000.
  EXPECT_LE(handler_.requests.size(), limits.max_resets + 2);
}

TEST_F(H2SessionTest, ResetsSpreadOverTimeAreAllowed) {
  H2Limits limits;
  limits.max_resets = 10;
  limits.reset_window_ms = 1000;
  Make(limits);
  handler_.auto_answer = false;
  session_->Receive(test::H2ClientStart());
  uint32_t id = 1;
  for (int window = 0; window < 5; ++window) {
    std::string in;
    for (int i = 0; i < 10; ++i, id += 2) {
      in += H2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                    test::H2GetBlock());
      in += test::H2RstStream(id, NGHTTP2_CANCEL);
    }
    EXPECT_TRUE(session_->Receive(in)) << "window " << window;
    now_ms_ += 1000;
  }
  EXPECT_EQ(test::H2GoawayCode(Drain()), -1);
  EXPECT_TRUE(session_->Alive());
}

TEST_F(H2SessionTest, ContinuationFloodClosesTheConnection) {
  Make();
  // 1 MB of header block: HEADERS then CONTINUATIONs, never END_HEADERS.
  std::string field;  // a literal without indexing: "x-f: <1000 x 'v'>"
  field += '\x00';
  field += '\x03';
  field += "x-f";
  field += '\x7f';
  field += static_cast<char>(((1000 - 127) & 0x7f) | 0x80);
  field += static_cast<char>((1000 - 127) >> 7);
  field += std::string(1000, 'v');
  std::string chunk;
  while (chunk.size() + field.size() <= 16384) chunk += field;
  std::string in =
      test::H2ClientStart() + H2Frame(NGHTTP2_HEADERS, 0, 1, test::H2GetBlock() + chunk);
  for (size_t sent = chunk.size(); sent < (1u << 20); sent += chunk.size()) {
    in += H2Frame(NGHTTP2_CONTINUATION, 0, 1, chunk);
  }
  bool alive = session_->Receive(in);
  std::string out = Drain();
  EXPECT_FALSE(alive);
  EXPECT_EQ(test::H2GoawayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(handler_.limits[H2Limit::kContinuations], 1);
  EXPECT_FALSE(session_->Alive());
  EXPECT_TRUE(handler_.requests.empty());
}

TEST_F(H2SessionTest, StreamsPastTheLimitCloseTheConnection) {
  H2Limits limits;
  limits.max_concurrent_streams = 2;
  Make(limits);
  handler_.auto_answer = false;
  // nghttp2's client would queue the third request itself: raw frames.
  std::string in = test::H2ClientStart() + H2Frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "");
  for (uint32_t id = 1; id <= 5; id += 2) {
    in += H2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                  test::H2GetBlock());
  }
  Drain();
  EXPECT_FALSE(session_->Receive(in));
  std::string out = Drain();
  // Past an acknowledged limit nghttp2 closes the connection (RFC 9113
  // 5.1.2 allows a stream or a connection error).
  EXPECT_EQ(handler_.requests.size(), 2u);
  EXPECT_EQ(handler_.limits[H2Limit::kStreams], 1);
  EXPECT_EQ(handler_.limits[H2Limit::kProtocol], 0);
  EXPECT_EQ(test::H2GoawayCode(out), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_FALSE(session_->Alive());
}

TEST_F(H2SessionTest, GarbageInsteadOfThePrefaceClosesTheConnection) {
  Make();
  EXPECT_FALSE(session_->Receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  Drain();
  EXPECT_FALSE(session_->Alive());
  EXPECT_EQ(handler_.limits[H2Limit::kProtocol], 1);
}

TEST_F(H2SessionTest, ResponseBodyIsHeldBackByTheClientWindow) {
  Make();
  handler_.auto_answer = false;
  H2Client client;
  int32_t id = client.Submit("GET", "/big");
  Pump(client);
  session_->SubmitResponse(id, 200, {}, true);
  session_->SendBody(id, std::string(200000, 'z'), true);
  Pump(client);
  // The client consumes (nghttp2 client auto window update): all arrives.
  EXPECT_EQ(client.response(id).body.size(), 200000u);
  EXPECT_TRUE(client.Done(id));
}

}  // namespace
}  // namespace nines::http
