// The HTTP/2 server side of one client connection (RFC 9113), over
// libnghttp2, with no I/O of its own: bytes read from the client go in
// (Receive), bytes to write come out (TakeOutput), and each stream surfaces
// as a request to a handler, which answers through the session. The same
// session serves cleartext h2 with prior knowledge and, once TLS's ALPN
// picked "h2", the decrypted bytes of a TLS stream.
//
// Limits and protections live here, where they can be tested without
// sockets and fuzzed: concurrent streams, the decoded header list size
// (HPACK bombs), CONTINUATION frames per header block (CONTINUATION floods),
// and client RST_STREAMs per time window (rapid reset, CVE-2023-44487):
// past the last two, the session sends GOAWAY(ENHANCE_YOUR_CALM) and asks
// to be closed, as nginx and HAProxy do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace nines::http {

struct H2Limits {
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS (nginx, HAProxy: 100)
  uint32_t max_header_list_size = 65536;  // decoded (name + value + 32 per field); more: 431
  uint32_t initial_window_size = 65535;   // per-stream request-body window (SETTINGS)
  uint32_t connection_window_size = 1 << 20;  // all streams' request bodies together
  uint32_t max_continuations = 8;             // CONTINUATION frames per header block
  uint32_t max_resets = 100;                  // client RST_STREAMs (and refused streams) ...
  uint32_t reset_window_ms = 1000;            // ... per this window; then GOAWAY
};

// The limits that can be hit, for counters.
enum class H2Limit {
  kStreams,         // a stream past max_concurrent_streams was refused
  kHeaderListSize,  // a request's decoded headers were too large: 431
  kResets,          // rapid reset: the connection was closed
  kContinuations,   // CONTINUATION flood: the connection was closed
  kProtocol,        // the client broke the protocol: the connection was closed
};
inline constexpr int kH2LimitCount = 5;
const char* H2LimitName(H2Limit limit);

// A request as a stream's HEADERS carried it. Names are lowercase (HTTP/2
// requires it; nghttp2 checked), pseudo-headers apart.
struct H2Request {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // regular fields, in order
  bool has_body = false;                                     // HEADERS did not end the stream
};

class H2Handler {
 public:
  virtual ~H2Handler() = default;
  // A complete request head. The handler answers with SubmitResponse (now
  // or later) or ResetStream.
  virtual void OnRequest(int32_t stream, H2Request request) = 0;
  // Request body bytes. The window stays closed for them until the handler
  // calls ConsumeBody(stream, n) (flow control: the client sends no faster
  // than the body is forwarded).
  virtual void OnRequestData(int32_t stream, std::string_view data) = 0;
  virtual void OnRequestEnd(int32_t stream) = 0;
  // The stream is gone (answered, or reset by either side): forget it.
  virtual void OnStreamClose(int32_t stream, uint32_t error_code) = 0;
  // The response body queued for `stream` fell below the low-water mark:
  // more may be sent.
  virtual void OnResponseDrained(int32_t stream) {}
  virtual void OnLimit(H2Limit limit) {}
};

class H2Session {
 public:
  // `now_ms` is a steady clock (injectable for tests).
  H2Session(const H2Limits& limits, H2Handler* handler, std::function<int64_t()> now_ms);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Feeds bytes read from the client. False: the connection is to be closed
  // once the pending output is written (a protocol error, a flood); see
  // close_reason().
  bool Receive(std::string_view bytes);
  // Appends the frames ready to go, up to about `max_bytes` (the rest stays
  // queued: a slow reader holds back our reading of its servers).
  void TakeOutput(std::string* out, size_t max_bytes = 65536);
  // True while either side may still send: false means close after writing.
  bool Alive() const;
  bool HasOutput() const;
  const std::string& close_reason() const { return close_reason_; }
  size_t open_streams() const { return streams_.size(); }
  const H2Limits& limits() const { return limits_; }

  // Answers a request. `headers` are written lowercase; connection-specific
  // fields are dropped. Without a body the stream ends here; with one, the
  // body follows through SendBody.
  void SubmitResponse(int32_t stream, int status,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      bool has_body);
  // A response of our own with a short text body ("503 Service Unavailable\n").
  void SubmitLocalResponse(int32_t stream, int status,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           bool head_request = false);
  // Queues response body bytes; `end` ends the stream after them.
  void SendBody(int32_t stream, std::string_view data, bool end);
  // Response bytes queued for `stream` and not yet framed.
  size_t QueuedBody(int32_t stream) const;
  // Reopens the window for `n` request body bytes of `stream`.
  void ConsumeBody(int32_t stream, size_t n);
  void ResetStream(int32_t stream, uint32_t error_code);
  // Graceful shutdown: GOAWAY(NO_ERROR); streams in progress finish.
  void Shutdown();

  static constexpr size_t kResponseLowWater = 32768;

 private:
  struct Stream {
    H2Request request;
    size_t header_bytes = 0;
    bool too_large = false;
    bool handed_over = false;    // the handler has seen OnRequest
    bool request_ended = false;  // the client's side of the stream ended
    size_t unconsumed = 0;       // request body bytes delivered, window not reopened
    std::string body;            // response body queued, not yet framed
    size_t body_offset = 0;      // bytes of `body` already framed
    bool body_end = false;
    bool deferred = false;  // the data source said "deferred": resume on SendBody
  };
  friend struct H2Callbacks;

  Stream* Find(int32_t stream);
  const Stream* Find(int32_t stream) const;
  // Counts a client RST_STREAM (or a refused stream); true when past the limit.
  bool CountReset();
  void Fail(H2Limit limit, uint32_t error_code, std::string reason);

  H2Limits limits_;
  H2Handler* handler_;
  std::function<int64_t()> now_ms_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  std::vector<int32_t> drained_;  // streams to tell OnResponseDrained after output
  std::string raw_output_;        // bytes written without nghttp2 (after a fatal error)
  bool failed_ = false;           // nghttp2 may not be used any more
  std::string close_reason_;
  int64_t reset_window_start_ms_ = 0;
  uint32_t resets_in_window_ = 0;
};

}  // namespace nines::http
