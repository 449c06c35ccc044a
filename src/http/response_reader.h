// Reading one HTTP/1.1 response from bytes as they arrive, shared by the
// blocking client (client.h) and the Asio one (async_client.h): the head with
// the project's parser (1xx interim responses skipped), then the body by its
// framing (Content-Length, chunked through ChunkedReader, or until close).
// No I/O here: the clients feed bytes and report the peer closing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/parser.h"

namespace nines::http {

struct ClientResponse {
  bool ok = false;    // a complete response was read
  std::string error;  // why not (connect, timeout, malformed response, ...)
  int status = 0;     // set once a final head was parsed (even if the body then failed)
  std::string head;   // status line and headers as received
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;        // decoded (chunked bodies are de-chunked)
  bool closed = false;     // the server closed (or will close) the connection
  bool timed_out = false;  // the deadline passed before the response was complete
  bool received = false;   // some bytes of a response arrived (async client)

  // First header value with this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

class ResponseReader {
 public:
  enum class Progress { kNeedMore, kDone, kError };

  // `method` is the request's (HEAD: no body). Beyond `max_bytes` of head or
  // body the read fails with "response too large". `head_only`: done once
  // the final head is parsed, the body left unread (a health check needs
  // only the status).
  ResponseReader(std::string_view method, size_t max_bytes, bool head_only = false);

  // Takes what it can from the front of *buffer into *out; bytes past the
  // response stay in *buffer. kDone sets out->ok; kError sets out->error.
  Progress Consume(std::string* buffer, ClientResponse* out);
  // The peer closed (or reset) the connection after *buffer was consumed:
  // ends a body delimited by the close, otherwise fails.
  Progress Closed(std::string* buffer, ClientResponse* out);
  // What was being read, for error texts: "no response", "body cut short", ...
  const char* phase() const;

 private:
  enum class Phase { kHead, kBody, kDone };
  Progress Fail(ClientResponse* out, std::string error);
  Progress ConsumeBody(std::string* buffer, ClientResponse* out);

  std::string method_;
  size_t max_bytes_;
  bool head_only_;
  Phase phase_ = Phase::kHead;
  BodyKind kind_ = BodyKind::kNone;
  uint64_t length_ = 0;
  ChunkedReader chunked_;
};

}  // namespace nines::http
