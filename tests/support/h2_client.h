// HTTP/2 for tests, with no dependency on curl's h2 support: a client over
// nghttp2's client session (in memory, or over a blocking socket), and
// builders of raw frames for the hostile cases (rapid reset, CONTINUATION
// floods, HPACK bombs) that no well-behaved client library would send.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace nines::test {

struct H2Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool closed = false;
  uint32_t error_code = 0;  // RST_STREAM code, 0 if the stream ended normally
  std::string Header(std::string_view name) const;
};

class H2Client {
 public:
  H2Client();
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Queues a request; returns its stream id. A non-empty body is sent as DATA.
  int32_t Submit(const std::string& method, const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& headers = {},
                 const std::string& body = "", const std::string& authority = "test");
  // Bytes for the server (the preface and SETTINGS come first).
  std::string Output();
  // Bytes from the server; false on a protocol error.
  bool Input(std::string_view bytes);

  const H2Response& response(int32_t stream) { return responses_[stream]; }
  bool Done(int32_t stream) { return responses_[stream].closed; }
  bool goaway() const { return goaway_; }
  uint32_t goaway_code() const { return goaway_code_; }

  // Over a connected blocking socket: writes Output, reads Input until
  // `stream` closes, the connection ends or `timeout_ms` passes.
  bool RunUntilDone(int fd, int32_t stream, int timeout_ms);
  bool RunUntil(int fd, const std::vector<int32_t>& streams, int timeout_ms);

 private:
  friend struct H2ClientCallbacks;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, H2Response> responses_;
  std::map<int32_t, std::pair<std::string, size_t>> bodies_;  // request bodies being sent
  bool goaway_ = false;
  uint32_t goaway_code_ = 0;
};

// ---- Raw frames ------------------------------------------------------------

inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
// The client preface and an empty SETTINGS frame.
std::string H2ClientStart();
// A minimal HPACK request block: GET http://a/ (static-table references and
// one literal :authority, never indexed).
std::string H2GetBlock();
std::string H2RstStream(uint32_t stream, uint32_t code);

// What a server sent, as frames.
struct H2RawFrame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
};
// Splits `bytes` (from the server, no preface) into frames; a partial frame
// at the end is left out.
std::vector<H2RawFrame> H2ParseFrames(std::string_view bytes);
// The error code of the first GOAWAY in `bytes`, or -1 if none.
int64_t H2GoawayCode(std::string_view bytes);

}  // namespace nines::test
