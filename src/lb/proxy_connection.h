// One client connection through the load balancer: reads requests (serially,
// so pipelined requests are answered in order), picks a server, reuses or
// opens a server connection, forwards the request and streams the response
// back, retrying on another server when that is safe. Bodies are streamed in
// bounded buffers both ways; small bodies are held so the request can be
// replayed on another server.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/parser.h"
#include "lb/backend_pool.h"
#include "lb/request_path.h"
#include "lb/worker.h"
#include "tls/stream.h"

namespace nines::lb {

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  // With `tls` (from the [tls] listener, handshake done) the connection
  // speaks through it; without, through the plain socket.
  ClientConnection(Worker& worker, asio::ip::tcp::socket socket,
                   std::unique_ptr<tls::Stream> tls = nullptr);
  ~ClientConnection();

  void Start();
  void Close();
  // Called by the worker's sweep when deadline_ms() has passed, or while
  // draining if the connection is idle.
  void OnDeadline();
  int64_t deadline_ms() const { return deadline_ms_; }
  bool Idle() const { return phase_ == Phase::kIdle; }
  // Called by the worker's sweep: while a server works on the request,
  // watches for the client closing its connection (at most one watch).
  void WatchClient();

  // The overload queue (Worker) drives these.
  bool Queued() const { return phase_ == Phase::kQueued; }
  int64_t queue_deadline_ms() const { return queue_deadline_ms_; }
  void ResumeFromQueue();
  void ShedFromQueue(bool timed_out);

 private:
  enum class Phase {
    kIdle,          // keep-alive, waiting for the first byte of a request
    kHead,          // reading a request head
    kBody,          // buffering a small request body
    kQueued,        // every server at max_conn: waiting in the worker's queue
    kConnect,       // connecting to a server
    kSend,          // writing the request (head and buffered body) to the server
    kStreamBody,    // copying a large request body to the server
    kWaitResponse,  // waiting for the response head
    kResponse,      // copying the response to the client
    kLocalReply,    // writing a response of our own
    kLinger,        // response sent, write side shut; draining input before closing
    kClosed,
  };
  using Failure = AttemptFailure;

  // Client side.
  void ReadClient();
  void OnClientData();
  void ProcessHead();
  void ContinueBody();
  bool FeedBody();
  void SendContinue();

  // Server side.
  void BuildUpstreamHead();
  void TryServer();
  void Connect();
  void SendRequest();
  void StreamBody();
  void ReadServer();
  void OnServerData(size_t n, std::error_code ec);
  http::ParseStatus ParseServerHead();
  void OnResponseHead();
  bool TakeEarlyResponse();
  void WriteResponseChunk(size_t offset, size_t length, bool with_head);
  // Writes every byte of `buffers` to the client, over TLS when it came in
  // over TLS.
  template <typename Buffers, typename Handler>
  void WriteToClient(const Buffers& buffers, Handler&& on_written) {
    if (tls_) return asio::async_write(*tls_, buffers, std::forward<Handler>(on_written));
    asio::async_write(client_, buffers, std::forward<Handler>(on_written));
  }
  void ContinueResponse();
  void FinishResponse();
  void OnAttemptFailed(Failure failure);
  void ReleaseServer();
  void DropBackend();

  // Replies.
  void LocalReply(int status, bool close,
                  const std::vector<std::pair<std::string, std::string>>& headers = {});
  bool AdmitByRateLimits();
  void EndRequest(bool keep_alive);
  void LingerClose();
  // The plain listener with redirect_http: 308 to the same URL over https.
  void RedirectToHttps(const LbRuntime& rt);
  bool RetryAllowed(Failure failure);

  void SetDeadline(int ms) { deadline_ms_ = worker_.now_ms() + ms; }
  void EnsureSpace(std::vector<char>& buffer, size_t used, size_t want);
  void ConsumeClient(size_t n);

  Worker& worker_;
  LbShared& shared_;
  asio::ip::tcp::socket client_;
  std::unique_ptr<tls::Stream> tls_;  // null: plain HTTP (declared after client_: freed first)
  std::string client_ip_;
  uint32_t client_ip_number_ = 0;
  Phase phase_ = Phase::kIdle;
  int64_t deadline_ms_ = 0;

  // Client bytes: [current request head][its body][pipelined bytes...].
  std::vector<char> in_;
  size_t in_used_ = 0;
  http::RequestHead request_;
  http::ChunkedReader request_chunks_;
  size_t body_fed_ = 0;          // bytes of in_ after the head already framed
  uint64_t body_remaining_ = 0;  // Content-Length bytes still to come
  bool body_complete_ = false;
  bool streaming_body_ = false;  // body larger than the buffer: forwarded as it comes
  size_t request_end_ = 0;       // offset in in_ where this request ends (body complete)
  size_t head_size_ = 0;
  size_t head_parsed_upto_ = 0;  // in_used_ at the last parse that needed more
  bool client_keep_alive_ = true;
  bool client_http10_ = false;
  bool idempotent_ = false;
  bool idempotency_key_ = false;  // non-idempotent, with a key: retried after a reset too
  bool head_request_ = false;
  bool stream_started_ = false;  // body bytes were sent and dropped: no replay possible
  uint64_t key_hash_ = 0;
  int64_t request_start_ns_ = 0;
  bool had_success_ = false;       // this connection already got a good response
  bool resuming_ = false;          // TryServer called from the queue
  int64_t queue_deadline_ms_ = 0;  // 0: not queued for this request yet
  std::string rate_limit_state_;   // RateLimit field value for the response, "" if none

  // The attempt in progress.
  std::string upstream_head_;
  std::shared_ptr<const LbRuntime> runtime_;
  std::shared_ptr<ServerState> server_;
  int64_t attempt_start_ms_ = 0;  // server_ picked: the start of its time to first byte
  std::unique_ptr<BackendConnection> backend_;
  uint64_t attempt_ = 0;  // handlers of an abandoned attempt see a changed value and return
  int tried_[16];
  int tried_count_ = 0;
  Failure last_failure_ = Failure::kConnect;

  // Response.
  std::vector<char> out_;  // response bytes from the server
  size_t out_used_ = 0;
  http::ResponseHead response_;
  http::ChunkedReader response_chunks_;
  uint64_t response_remaining_ = 0;
  bool response_done_ = false;
  bool backend_reusable_ = true;
  std::string response_head_;  // rewritten head for the client (and a small body behind it)
  std::string local_reply_;
  std::string pending_continue_;  // the part of "100 Continue" a full socket did not take
  bool dechunk_ = false;          // chunked response to an HTTP/1.0 client: decoded
  std::string decoded_;           // the decoded bytes being written
  bool client_reading_ = false;   // an async_read_some on the client is pending
  bool client_watching_ = false;  // an async_wait for a client close is pending
  int status_ = 0;
};

}  // namespace nines::lb
