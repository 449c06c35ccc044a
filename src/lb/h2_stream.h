// One HTTP/2 request through the load balancer: rate limits, a server
// picked and a slot taken (request_path.h, as for HTTP/1.1), the request
// sent in HTTP/1.1 (a body without Content-Length goes chunked), the
// response streamed back as DATA, retried on another server when that is
// safe. Both bodies obey flow control: the client's window reopens only as
// its body reaches the server, and the server is read only while the
// client takes the response.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/h2_session.h"
#include "http/parser.h"
#include "lb/backend_pool.h"
#include "lb/request_path.h"

namespace nines::lb {

class H2Connection;
class Worker;

class H2Stream : public std::enable_shared_from_this<H2Stream> {
 public:
  H2Stream(H2Connection& conn, int32_t id, http::H2Request request);
  ~H2Stream();

  void Start();
  void OnBody(std::string_view data);
  void OnBodyEnd();
  // The response queued in the session fell low: read the server again.
  void OnDrained();
  // The stream is gone (answered, reset, connection closed): stop.
  void Abort();
  void OnSweep(int64_t now_ms);

 private:
  enum class Phase {
    kBody,          // buffering a small request body
    kConnect,       // connecting to a server
    kSend,          // writing the head and the body so far
    kStreamBody,    // forwarding the rest of a large body as it comes
    kWaitResponse,  // waiting for the response head
    kResponse,      // forwarding the response body
    kDone,          // answered (or aborted)
  };

  void BuildHead();
  void TryServer();
  void Connect();
  void SendRequest();
  void WriteBody();
  void ReadServer();
  void OnServerData(size_t n, std::error_code ec);
  http::ParseStatus ParseServerHead();
  void OnResponseHead();
  void ForwardBody(size_t offset, size_t length);
  void Finish();
  void OnAttemptFailed(AttemptFailure failure);
  void LocalReply(int status, const std::vector<std::pair<std::string, std::string>>& headers = {});
  void Cancel();  // the response cannot be completed: reset the stream
  void ReleaseServer();
  void DropBackend();
  void SetDeadline(int ms);
  PickRequest Pick() const;

  H2Connection* conn_;  // null once aborted
  Worker& worker_;
  LbShared& shared_;
  const int32_t id_;
  http::H2Request request_;
  std::string cookie_;      // the cookie fields joined with "; " (RFC 9113 8.2.3)
  http::RequestHead head_;  // views into request_ and cookie_
  std::shared_ptr<const LbRuntime> runtime_;
  Phase phase_ = Phase::kBody;
  int64_t deadline_ms_ = 0;
  int64_t request_start_ns_ = 0;
  bool idempotent_ = false;
  bool idempotency_key_ = false;  // non-idempotent, with a key: retried after a reset too
  bool head_request_ = false;
  bool chunked_ = false;  // the body goes to the server chunked
  uint64_t key_hash_ = 0;
  std::string rate_limit_state_;
  std::string upstream_head_;

  // Request body: wire bytes for the server (chunk-framed if chunked_).
  std::string body_;
  size_t body_unconsumed_ = 0;  // client bytes in body_ whose window is still closed
  std::string inflight_;        // body bytes being written (streaming)
  bool body_complete_ = false;
  bool streaming_ = false;       // too large to hold: forwarded as it comes
  bool stream_started_ = false;  // body bytes sent and dropped: no replay
  bool writing_ = false;

  // The attempt in progress.
  std::shared_ptr<ServerState> server_;
  int64_t attempt_start_ms_ = 0;  // server_ picked: the start of its time to first byte
  std::unique_ptr<BackendConnection> backend_;
  uint64_t attempt_ = 0;
  int tried_[16];
  int tried_count_ = 0;
  AttemptFailure last_failure_ = AttemptFailure::kConnect;

  // Response.
  std::vector<char> out_;
  size_t out_used_ = 0;
  http::ResponseHead response_;
  http::ChunkedReader response_chunks_;
  uint64_t response_remaining_ = 0;
  bool response_done_ = false;
  bool backend_reusable_ = true;
  bool paused_ = false;  // waiting for the client to take queued response bytes
  std::string decoded_;
  int status_ = 0;
};

}  // namespace nines::lb
