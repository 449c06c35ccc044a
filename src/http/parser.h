// Strict HTTP/1.1 message parsing (RFC 9110/9112) for a proxy: request and
// response heads, and body framing (Content-Length, chunked, until-close).
//
// The head parser is resumable: call it again with the bytes received so far
// (the same prefix plus more) until it returns kDone or an error. It never
// copies; the parsed head holds string_views into the caller's buffer, valid
// until that buffer changes. Anything ambiguous is an error, never a guess:
// smuggling vectors (CL+TE, differing CLs, bad chunk sizes, obs-fold, bare LF,
// non-token header names, NUL/CTL in values) are rejected with 400.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nines::http {

struct Limits {
  size_t max_request_line = 8192;  // longer: 414 URI Too Long
  size_t max_head_bytes = 65536;   // request line + headers; larger: 431
  size_t max_headers = 100;        // more: 431
};

enum class ParseStatus { kNeedMore, kDone, kError };

struct Header {
  std::string_view name;
  std::string_view value;  // surrounding whitespace removed
};

enum class BodyKind {
  kNone,           // no body (no CL/TE on a request; 1xx/204/304 or HEAD response)
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding, ends with the last chunk and trailers
  kUntilClose,     // response delimited by the server closing (no CL, no TE)
};

struct RequestHead {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;  // HTTP/1.x; only 1.0 and 1.1 are accepted
  std::vector<Header> headers;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;        // from version and Connection
  bool expect_continue = false;  // Expect: 100-continue
  size_t head_size = 0;          // bytes of the head including the final CRLF CRLF

  // First header with this name (case-insensitive), or null.
  const Header* Find(std::string_view name) const;
};

struct ResponseHead {
  int version_minor = 1;
  int status = 0;
  std::string_view reason;
  std::vector<Header> headers;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  size_t head_size = 0;

  const Header* Find(std::string_view name) const;
};

struct ParseError {
  int status = 400;         // the HTTP status to answer with: 400, 414, 431, 501, 505
  const char* reason = "";  // short human text for logs and the error body
};

// Parses a request head from `data` (all bytes received on the connection
// since the previous request ended). kNeedMore: no complete head yet (but
// limits are already enforced on what is there).
ParseStatus ParseRequestHead(std::string_view data, const Limits& limits, RequestHead* head,
                             ParseError* error);

// Parses a response head. `request_method` decides whether a body follows
// (HEAD: none). 1xx responses other than 101 are returned as heads with
// BodyKind::kNone; the caller forwards them and parses the next head.
ParseStatus ParseResponseHead(std::string_view data, const Limits& limits,
                              std::string_view request_method, ResponseHead* head,
                              ParseError* error);

// Incremental validator of a chunked body. It does not decode: a proxy
// forwards the bytes as they are, and needs only to know they are well formed
// and where the message ends (after the last chunk and the trailers).
class ChunkedReader {
 public:
  // Consumes up to in.size() bytes of body. Returns how many bytes belong to
  // this message (all of `in` unless the message ended inside it). Sets
  // *done when the terminating chunk and trailers have been consumed. On
  // malformed input returns 0 and sets *error (status 400). With `data`, the
  // chunk data is also appended there (decoding, for HTTP/1.0 recipients).
  size_t Consume(std::string_view in, bool* done, ParseError* error, std::string* data = nullptr);
  void Reset();
  // Sum of chunk-data bytes seen so far (for limits and metrics).
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  enum class State {
    kSize,          // hex digits of the chunk size
    kExtension,     // ;ext up to CR
    kSizeLf,        // LF after the size line's CR
    kData,          // chunk data
    kDataCr,        // CR after data
    kDataLf,        // LF after data
    kTrailerStart,  // start of a trailer line or the final CRLF
    kTrailerLine,   // inside a trailer line
    kTrailerLf,     // LF ending a trailer line
    kFinalLf,       // LF of the final CRLF
    kDone,
    kError,  // malformed input seen; every later call fails the same way
  };
  State state_ = State::kSize;
  uint64_t chunk_remaining_ = 0;
  int size_digits_ = 0;
  size_t line_bytes_ = 0;
  uint64_t data_bytes_ = 0;
  bool last_chunk_ = false;
  bool trailer_in_value_ = false;  // past the ':' of the current trailer line
  size_t trailer_bytes_ = 0;       // bytes of the trailer section so far (bounded)
  const char* error_reason_ = "";  // repeated by calls after an error
};

// Case-insensitive ASCII comparison, for header names and tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// True if `name` is a hop-by-hop header a proxy must not forward
// (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade, Proxy-Authorization, Proxy-Authenticate) or is listed in the
// message's Connection header value `connection_tokens`. Content-Length and
// Host are never hop-by-hop, whatever Connection says (the proxy framed and
// routed the message by them); the proxy writes Transfer-Encoding itself.
bool IsHopByHop(std::string_view name, std::string_view connection_tokens);

// Content-Length or Host: headers a Connection token cannot remove.
bool IsFramingOrRouting(std::string_view name);

}  // namespace nines::http
