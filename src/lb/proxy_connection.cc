// The proxy's per-connection state machine. Every asynchronous operation on
// the server side captures the attempt number; when an attempt is abandoned
// (timeout, retry, close) the number changes and late completions return.
#include "lb/proxy_connection.h"

#include <fmt/format.h>
#include <asio/write.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "http/response.h"
#include "lb/client_key.h"
#include "lb/outlier.h"
#include "lb/server_exchange.h"
#include "net/tcp.h"

namespace nines::lb {

namespace {

constexpr size_t kReadChunk = 16384;
// Response bodies up to this size are copied behind the head and sent with it.
constexpr size_t kCoalesceBody = 4096;

// http::EqualsIgnoreCase behind an inline length test: most header names
// differ in length from the one looked for, and this runs for every header
// of every request and response.
inline bool NameIs(std::string_view name, std::string_view lower) {
  return name.size() == lower.size() && http::EqualsIgnoreCase(name, lower);
}

void Append(std::string& out, std::string_view a) {
  out.append(a.data(), a.size());
}

// All values of the Connection header(s), comma-joined: the hop-by-hop
// tokens of this message.
template <typename Head>
std::string ConnectionTokens(const Head& head) {
  std::string tokens;
  for (const http::Header& h : head.headers) {
    if (NameIs(h.name, "connection")) {
      if (!tokens.empty()) tokens += ',';
      Append(tokens, h.value);
    }
  }
  return tokens;
}

// A WebSocket handshake: Upgrade: websocket (Connection: upgrade).
bool IsWebSocketUpgrade(const http::RequestHead& request) {
  const http::Header* upgrade = request.Find("upgrade");
  return upgrade != nullptr && upgrade->value.size() >= 9 &&
         http::EqualsIgnoreCase(upgrade->value.substr(0, 9), "websocket");
}

}  // namespace

ClientConnection::ClientConnection(Worker& worker, asio::ip::tcp::socket socket,
                                   std::unique_ptr<tls::Stream> tls)
    : worker_(worker), shared_(worker.shared()), client_(std::move(socket)), tls_(std::move(tls)) {
  if (tls_) tls_->Rebind(client_);
  client_ip_ = RemoteAddress(client_);
  ParseIpv4Address(client_ip_, &client_ip_number_);
  std::error_code ec;
  client_.set_option(asio::ip::tcp::no_delay(true), ec);
  client_.non_blocking(true, ec);
  in_.resize(kReadChunk);
  out_.resize(kReadChunk);
  worker_.Register(this);
  shared_.connections.fetch_add(1, std::memory_order_relaxed);
  shared_.metrics.connections_active->Add(1);
}

ClientConnection::~ClientConnection() {
  ReleaseServer();
  worker_.Unregister(this);
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  shared_.metrics.connections_active->Add(-1);
}

void ClientConnection::Start() {
  phase_ = Phase::kIdle;
  SetDeadline(worker_.runtime().config.timeouts.client_idle_ms);
  ReadClient();
}

void ClientConnection::EnsureSpace(std::vector<char>& buffer, size_t used, size_t want) {
  if (buffer.size() - used < want) buffer.resize(std::max(buffer.size() * 2, used + want));
}

void ClientConnection::ConsumeClient(size_t n) {
  if (n >= in_used_) {
    in_used_ = 0;
    return;
  }
  std::memmove(in_.data(), in_.data() + n, in_used_ - n);
  in_used_ -= n;
}

// ---- Client side ----------------------------------------------------------

void ClientConnection::ReadClient() {
  // One read at a time: a second would race the first for the same bytes
  // (after a 408, the read of the slow request is still pending). The
  // pending one delivers to whatever phase comes next.
  if (client_reading_) return;
  client_reading_ = true;
  EnsureSpace(in_, in_used_, 4096);
  auto done = [self = shared_from_this()](std::error_code ec, size_t n) {
    self->client_reading_ = false;
    if (self->phase_ == Phase::kClosed) return;
    if (ec) return self->Close();
    self->in_used_ += n;
    self->OnClientData();
  };
  asio::mutable_buffer free_space(in_.data() + in_used_, in_.size() - in_used_);
  if (tls_) return tls_->async_read_some(free_space, std::move(done));
  client_.async_read_some(free_space, std::move(done));
}

void ClientConnection::OnClientData() {
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kHead:
      ProcessHead();
      break;
    case Phase::kBody:
      ContinueBody();
      break;
    case Phase::kStreamBody:
      StreamBody();
      break;
    case Phase::kLinger:
      in_used_ = 0;  // discard
      ReadClient();
      break;
    default:
      break;
  }
}

void ClientConnection::ProcessHead() {
  if (in_used_ == 0) return ReadClient();
  const LbRuntime& rt = worker_.runtime();
  if (phase_ == Phase::kIdle) {
    phase_ = Phase::kHead;
    head_request_ = false;  // until a head says so
    worker_.RefreshNow();
    SetDeadline(rt.config.timeouts.request_header_ms);
  }
  // The parser reads a head from its first byte; a client that trickles it
  // in would make that quadratic. Parse again only when a line may have
  // ended or a size limit may have been crossed.
  if (head_parsed_upto_ > 0) {
    const http::Limits limits;
    size_t before = head_parsed_upto_;
    bool new_line = std::memchr(in_.data() + before, '\n', in_used_ - before) != nullptr;
    bool crossed = (before <= limits.max_request_line && in_used_ > limits.max_request_line) ||
                   (before <= limits.max_head_bytes && in_used_ > limits.max_head_bytes);
    if (!new_line && !crossed) {
      head_parsed_upto_ = in_used_;
      return ReadClient();
    }
  }
  http::ParseError error;
  http::ParseStatus status = http::ParseRequestHead(std::string_view(in_.data(), in_used_),
                                                    http::Limits(), &request_, &error);
  if (status == http::ParseStatus::kNeedMore) {
    head_parsed_upto_ = in_used_;
    return ReadClient();
  }
  head_parsed_upto_ = 0;
  head_request_ = false;
  if (status == http::ParseStatus::kError) {
    shared_.metrics.bad_requests->Add();
    return LocalReply(error.status, true);
  }

  runtime_ = worker_.runtime_ref();
  request_start_ns_ = SteadyClock::Instance().NowNanos();
  shared_.metrics.requests->Add();
  head_size_ = request_.head_size;
  client_http10_ = request_.version_minor == 0;
  if (!client_http10_ && request_.Find("host") == nullptr) {
    shared_.metrics.bad_requests->Add();
    return LocalReply(400, true);  // RFC 9112 3.2: HTTP/1.1 requires Host
  }
  if (request_.method == "CONNECT" || IsWebSocketUpgrade(request_)) {
    // No tunnels: refused clearly rather than forwarded as a plain request
    // (CONNECT) or with the upgrade silently stripped (WebSocket).
    shared_.metrics.bad_requests->Add();
    return LocalReply(501, true);
  }
  client_keep_alive_ = request_.keep_alive && !shared_.draining.load(std::memory_order_relaxed);
  if (!tls_ && rt.config.tls && rt.config.tls->redirect_http) return RedirectToHttps(rt);
  queue_deadline_ms_ = 0;
  idempotent_ = IsIdempotent(request_.method);
  idempotency_key_ = !idempotent_ && HasIdempotencyKey(rt.config, request_);
  head_request_ = request_.method == "HEAD";
  stream_started_ = false;
  streaming_body_ = false;
  body_complete_ = false;
  body_fed_ = head_size_;
  tried_count_ = 0;
  request_chunks_.Reset();
  key_hash_ = RequestKeyHash(*rt.pool, request_, client_ip_);
  switch (request_.body) {
    case http::BodyKind::kNone:
      body_complete_ = true;
      request_end_ = head_size_;
      break;
    case http::BodyKind::kContentLength:
      body_remaining_ = request_.content_length;
      if (request_.content_length > rt.config.max_buffered_body) streaming_body_ = true;
      break;
    default:
      break;
  }
  // The head's views into in_ are used now, before in_ can move.
  if (!AdmitByRateLimits()) return;
  BuildUpstreamHead();
  if (!FeedBody()) return;
  if (!body_complete_ && request_.expect_continue) SendContinue();
  if (body_complete_ || streaming_body_) return TryServer();
  phase_ = Phase::kBody;
  SetDeadline(rt.config.timeouts.client_body_ms);
  ReadClient();
}

// Frames the body bytes received since the last call. False if the body is
// malformed (the reply is already under way).
bool ClientConnection::FeedBody() {
  if (body_complete_) return true;
  size_t available = in_used_ - body_fed_;
  if (request_.body == http::BodyKind::kContentLength) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(body_remaining_, available));
    body_fed_ += take;
    body_remaining_ -= take;
    if (body_remaining_ == 0) {
      body_complete_ = true;
      request_end_ = body_fed_;
    }
    return true;
  }
  bool done = false;
  http::ParseError error;
  error.status = 0;
  size_t n =
      request_chunks_.Consume(std::string_view(in_.data() + body_fed_, available), &done, &error);
  if (error.status != 0) {
    shared_.metrics.bad_requests->Add();
    LocalReply(400, true);
    return false;
  }
  body_fed_ += n;
  if (done) {
    body_complete_ = true;
    request_end_ = body_fed_;
  } else if (body_fed_ - head_size_ > worker_.runtime().config.max_buffered_body) {
    streaming_body_ = true;
  }
  return true;
}

void ClientConnection::ContinueBody() {
  if (!FeedBody()) return;
  if (body_complete_ || streaming_body_) return TryServer();
  SetDeadline(worker_.runtime().config.timeouts.client_body_ms);
  ReadClient();
}

// While a server works on the request, notice a client that goes away
// (nginx's 499): the attempt is abandoned instead of holding a server
// connection until the response or server_ms. Pipelined bytes end the watch.
// The worker's 100 ms sweep arms it, so only requests still waiting at a
// sweep pay for it (an async_wait costs an epoll_ctl): a client that leaves
// is noticed within about 100 ms.
void ClientConnection::WatchClient() {
  if (phase_ != Phase::kWaitResponse && phase_ != Phase::kResponse) return;
  if (client_reading_ || client_watching_) return;
  client_watching_ = true;
  client_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](std::error_code ec) {
    self->client_watching_ = false;
    if (ec) return;
    if (self->phase_ != Phase::kWaitResponse && self->phase_ != Phase::kResponse) {
      return;
    }
    char byte;
    ssize_t n = ::recv(self->client_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    if (gone) {
      LogDebug("lb", "client {} went away before the response", self->client_ip_);
      self->Close();
    }
  });
}

void ClientConnection::SendContinue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  std::error_code ec;
  asio::const_buffer text(kContinue.data(), kContinue.size());
  size_t n = tls_ ? tls_->write_some(text, ec) : client_.write_some(text, ec);
  // What did not fit (a full socket buffer) goes first with our next write to
  // the client: the response head or our own reply.
  if (n < kContinue.size()) pending_continue_.assign(kContinue.substr(n));
}

void ClientConnection::BuildUpstreamHead() {
  upstream_head_.clear();
  AppendUpstreamHead(upstream_head_, request_, client_ip_, runtime_->config.listen,
                     tls_ ? "https" : "http");
}

// ---- Server side ----------------------------------------------------------

void ClientConnection::TryServer() {
  const LbRuntime& rt = *runtime_;
  PickRequest pick;
  pick.now_ms = worker_.now_ms();
  pick.key_hash = key_hash_;
  pick.tried = tried_;
  pick.tried_count = tried_count_;
  int id = AcquireServer(*rt.pool, pick, &worker_.pick_state());
  bool must_close = !body_complete_ || stream_started_;
  if (id < 0) {
    if (AnyServerBusy(*rt.pool, pick)) {
      // Servers are up but full: wait for a slot, briefly, or be shed now.
      if (queue_deadline_ms_ == 0) {
        queue_deadline_ms_ = worker_.now_ms() + rt.config.queue_timeout_ms;
      }
      if (worker_.Enqueue(shared_from_this(), had_success_, resuming_)) {
        phase_ = Phase::kQueued;
        SetDeadline(rt.config.queue_timeout_ms + 1000);  // the queue timer is exact
        return;
      }
      shared_.metrics.shed_queue_full->Add();
      return LocalReply(503, must_close);
    }
    // Out of servers. No server answered at all (refused, or the connection
    // broke before any response byte): 503. A server was too slow: 504. A
    // server answered garbage: 502.
    if (tried_count_ > 0 && last_failure_ == Failure::kTimeout) return LocalReply(504, must_close);
    if (tried_count_ > 0 && last_failure_ == Failure::kBadResponse) {
      return LocalReply(502, must_close);
    }
    shared_.metrics.no_server->Add();
    return LocalReply(503, must_close);
  }
  server_ = rt.pool->servers[id];
  attempt_start_ms_ = worker_.now_ms();
  if (tried_count_ == 0)
    shared_.retry_budget.OnRequestAt(pick.now_ms, InFlight(*rt.pool));  // forwarded only
  if (tried_count_ < static_cast<int>(std::size(tried_))) tried_[tried_count_++] = id;
  server_->requests->Add();
  ++attempt_;
  backend_reusable_ = true;
  out_used_ = 0;
  backend_ =
      worker_.backends().Take(server_.get(), worker_.now_ms(), rt.config.timeouts.pool_idle_ms);
  if (backend_) return SendRequest();
  Connect();
}

void ClientConnection::ResumeFromQueue() {
  if (phase_ != Phase::kQueued) return;
  resuming_ = true;
  TryServer();
  resuming_ = false;
}

void ClientConnection::ShedFromQueue(bool timed_out) {
  if (phase_ != Phase::kQueued) return;
  (timed_out ? shared_.metrics.shed_queue_timeout : shared_.metrics.shed_queue_full)->Add();
  LocalReply(503, !body_complete_ || stream_started_);
}

// ---- Rate limits ------------------------------------------------------------

bool ClientConnection::AdmitByRateLimits() {
  const LbRuntime& rt = *runtime_;
  std::string_view key =
      rt.per_client ? ClientKeyOf(request_, client_ip_, client_ip_number_, rt.config.rate_limit)
                    : std::string_view();
  RateLimitOutcome outcome = lb::AdmitByRateLimits(rt, shared_.metrics, key, request_start_ns_);
  rate_limit_state_ = std::move(outcome.state);
  if (outcome.allowed) return true;
  LocalReply(429, !body_complete_, RateLimitRejectHeaders(rt, outcome));
  return false;
}

void ClientConnection::Connect() {
  phase_ = Phase::kConnect;
  SetDeadline(runtime_->config.timeouts.connect_ms);
  backend_ = ConnectToServer(worker_.io(), server_,
                             [self = shared_from_this(), attempt = attempt_](std::error_code ec) {
                               if (self->attempt_ != attempt || self->phase_ != Phase::kConnect)
                                 return;
                               if (ec) return self->OnAttemptFailed(Failure::kConnect);
                               self->SendRequest();
                             });
}

void ClientConnection::SendRequest() {
  phase_ = Phase::kSend;
  SetDeadline(runtime_->config.timeouts.server_ms);
  size_t body_end = body_complete_ ? request_end_ : body_fed_;
  auto on_sent = [self = shared_from_this(), attempt = attempt_, body_end](std::error_code ec,
                                                                           size_t) {
    if (self->attempt_ != attempt || self->phase_ != Phase::kSend) return;
    if (ec) return self->OnAttemptFailed(Failure::kSend);
    if (!self->body_complete_) {
      // A large body: what was sent leaves the buffer; the rest streams.
      self->stream_started_ = true;
      self->ConsumeClient(body_end);
      self->head_size_ = 0;
      self->body_fed_ = 0;
      self->phase_ = Phase::kStreamBody;
      self->SetDeadline(self->runtime_->config.timeouts.client_body_ms);
      if (self->in_used_ > 0) return self->StreamBody();
      return self->ReadClient();
    }
    self->phase_ = Phase::kWaitResponse;
    self->SetDeadline(self->runtime_->config.timeouts.server_ms);
    self->ReadServer();
  };
  // A request without a body goes out as one buffer: send(2), not sendmsg(2)
  // with an iovec array to copy in and walk.
  if (body_end == head_size_) {
    asio::async_write(backend_->socket, asio::buffer(upstream_head_), std::move(on_sent));
    return;
  }
  std::array<asio::const_buffer, 2> buffers{
      asio::buffer(upstream_head_), asio::buffer(in_.data() + head_size_, body_end - head_size_)};
  asio::async_write(backend_->socket, buffers, std::move(on_sent));
}

void ClientConnection::StreamBody() {
  size_t take = 0;
  bool done = false;
  if (request_.body == http::BodyKind::kContentLength) {
    take = static_cast<size_t>(std::min<uint64_t>(body_remaining_, in_used_));
    body_remaining_ -= take;
    done = body_remaining_ == 0;
  } else {
    http::ParseError error;
    error.status = 0;
    take = request_chunks_.Consume(std::string_view(in_.data(), in_used_), &done, &error);
    if (error.status != 0) {
      // Half a request already went to the server: nothing sane can follow.
      shared_.metrics.bad_requests->Add();
      return Close();
    }
  }
  if (take == 0 && !done) return ReadClient();
  asio::async_write(
      backend_->socket, asio::buffer(in_.data(), take),
      [self = shared_from_this(), attempt = attempt_, take, done](std::error_code ec, size_t) {
        if (self->attempt_ != attempt || self->phase_ != Phase::kStreamBody) return;
        if (ec) return self->OnAttemptFailed(Failure::kSend);
        self->ConsumeClient(take);
        if (done) {
          self->body_complete_ = true;
          self->request_end_ = 0;
          self->phase_ = Phase::kWaitResponse;
          self->SetDeadline(self->runtime_->config.timeouts.server_ms);
          return self->ReadServer();
        }
        self->SetDeadline(self->runtime_->config.timeouts.client_body_ms);
        if (self->in_used_ > 0) return self->StreamBody();
        self->ReadClient();
      });
}

void ClientConnection::ReadServer() {
  EnsureSpace(out_, out_used_, 4096);
  backend_->socket.async_read_some(
      asio::buffer(out_.data() + out_used_, out_.size() - out_used_),
      [self = shared_from_this(), attempt = attempt_](std::error_code ec, size_t n) {
        if (self->attempt_ != attempt || self->phase_ == Phase::kClosed) return;
        self->OnServerData(n, ec);
      });
}

void ClientConnection::OnServerData(size_t n, std::error_code ec) {
  if (phase_ == Phase::kWaitResponse) {
    if (ec) return OnAttemptFailed(out_used_ == 0 ? Failure::kReset : Failure::kBadResponse);
    out_used_ += n;
    http::ParseStatus status = ParseServerHead();
    if (status == http::ParseStatus::kNeedMore) return ReadServer();
    if (status == http::ParseStatus::kError) return OnAttemptFailed(Failure::kBadResponse);
    return OnResponseHead();
  }
  if (phase_ != Phase::kResponse) return;
  if (ec) {
    if (response_.body == http::BodyKind::kUntilClose &&
        (ec == asio::error::eof || ec == asio::error::connection_reset)) {
      response_done_ = true;
      backend_reusable_ = false;
      return FinishResponse();
    }
    // The server died in the middle of a response: the client cannot be
    // given a complete one any more.
    server_->failures->Add();
    RecordFailure(*server_, worker_.now_ms(), runtime_->config.outlier, runtime_->pool->servers);
    return Close();
  }
  out_used_ += n;
  ContinueResponse();
}

http::ParseStatus ClientConnection::ParseServerHead() {
  return ParseServerResponseHead(out_, &out_used_, head_request_, &response_);
}

bool ClientConnection::RetryAllowed(Failure failure) {
  RetryContext request;
  request.tried_count = tried_count_;
  request.stream_started = stream_started_;
  request.idempotent = idempotent_;
  request.idempotency_key = idempotency_key_;
  return lb::RetryAllowed(runtime_->config, shared_, worker_.now_ms(), request, failure);
}

void ClientConnection::OnResponseHead() {
  const LbRuntime& rt = *runtime_;
  status_ = response_.status;
  PickRequest pick;
  pick.now_ms = worker_.now_ms();
  pick.key_hash = key_hash_;
  pick.tried = tried_;
  pick.tried_count = tried_count_;
  if ((status_ == 502 || status_ == 503 || status_ == 504) &&
      UntriedServerExists(*rt.pool, pick, worker_.pick_state()) && RetryAllowed(Failure::kStatus)) {
    return OnAttemptFailed(Failure::kStatus);
  }
  int64_t now = worker_.now_ms();
  RecordResponse(*server_, status_, now, rt.config.outlier, rt.pool->servers);
  RecordLatency(*server_, now - attempt_start_ms_, now, rt.config.outlier, rt.pool->servers);

  std::string& head = response_head_;
  head = pending_continue_;
  pending_continue_.clear();
  head += "HTTP/1.1 ";
  head += std::to_string(status_);
  head += ' ';
  if (response_.reason.empty()) {
    head += http::StatusReason(status_);
  } else {
    Append(head, response_.reason);
  }
  head += "\r\n";
  std::string tokens = ConnectionTokens(response_);
  for (const http::Header& h : response_.headers) {
    if (http::IsHopByHop(h.name, tokens)) continue;
    Append(head, h.name);
    head += ": ";
    Append(head, h.value);
    head += "\r\n";
  }
  // HTTP/1.0 has no chunked coding: decode, and delimit by closing.
  dechunk_ = client_http10_ && response_.body == http::BodyKind::kChunked;
  if (response_.body == http::BodyKind::kChunked && !dechunk_) {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (tls_) head += rt.hsts;
  if (!rate_limit_state_.empty()) {
    head += "RateLimit-Policy: ";
    head += rt.rate_limit_policy;
    head += "\r\nRateLimit: ";
    head += rate_limit_state_;
    head += "\r\n";
  }
  client_keep_alive_ = client_keep_alive_ && response_.body != http::BodyKind::kUntilClose &&
                       !dechunk_ && !shared_.draining.load(std::memory_order_relaxed);
  if (!client_keep_alive_) {
    head += "Connection: close\r\n";
  } else if (client_http10_) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  if (!response_.keep_alive) backend_reusable_ = false;

  size_t start = response_.head_size;
  size_t available = out_used_ - start;
  size_t take = 0;
  response_done_ = false;
  switch (response_.body) {
    case http::BodyKind::kNone:
      response_done_ = true;
      break;
    case http::BodyKind::kContentLength:
      take = static_cast<size_t>(std::min<uint64_t>(response_.content_length, available));
      response_remaining_ = response_.content_length - take;
      response_done_ = response_remaining_ == 0;
      break;
    case http::BodyKind::kChunked: {
      response_chunks_.Reset();
      http::ParseError error;
      error.status = 0;
      decoded_.clear();
      take = response_chunks_.Consume(std::string_view(out_.data() + start, available),
                                      &response_done_, &error, dechunk_ ? &decoded_ : nullptr);
      if (error.status != 0) return OnAttemptFailed(Failure::kBadResponse);
      break;
    }
    case http::BodyKind::kUntilClose:
      take = available;
      backend_reusable_ = false;
      break;
  }
  if (response_done_ && take < available) backend_reusable_ = false;  // junk after the response
  phase_ = Phase::kResponse;
  SetDeadline(rt.config.timeouts.client_body_ms);
  WriteResponseChunk(start, take, true);
}

void ClientConnection::WriteResponseChunk(size_t offset, size_t length, bool with_head) {
  auto on_written = [self = shared_from_this(), attempt = attempt_](std::error_code ec, size_t) {
    if (self->attempt_ != attempt || self->phase_ != Phase::kResponse) return;
    if (ec) return self->Close();
    self->out_used_ = 0;
    if (self->response_done_) return self->FinishResponse();
    self->SetDeadline(self->runtime_->config.timeouts.server_ms);
    self->ReadServer();
  };
  asio::const_buffer body =
      dechunk_ ? asio::buffer(decoded_) : asio::buffer(out_.data() + offset, length);
  if (!with_head) return WriteToClient(body, std::move(on_written));
  // A small body rides in the head's buffer: one send(2) instead of a
  // sendmsg(2) with two iovecs (most responses through a balancer are small).
  if (body.size() <= kCoalesceBody) {
    response_head_.append(static_cast<const char*>(body.data()), body.size());
    return WriteToClient(asio::buffer(response_head_), std::move(on_written));
  }
  std::array<asio::const_buffer, 2> buffers{asio::buffer(response_head_), body};
  WriteToClient(buffers, std::move(on_written));
}

void ClientConnection::ContinueResponse() {
  size_t take = 0;
  switch (response_.body) {
    case http::BodyKind::kContentLength:
      take = static_cast<size_t>(std::min<uint64_t>(response_remaining_, out_used_));
      response_remaining_ -= take;
      response_done_ = response_remaining_ == 0;
      break;
    case http::BodyKind::kChunked: {
      http::ParseError error;
      error.status = 0;
      decoded_.clear();
      take = response_chunks_.Consume(std::string_view(out_.data(), out_used_), &response_done_,
                                      &error, dechunk_ ? &decoded_ : nullptr);
      if (error.status != 0) {
        server_->failures->Add();
        return Close();
      }
      break;
    }
    default:
      take = out_used_;
      break;
  }
  if (response_done_ && take < out_used_) backend_reusable_ = false;
  SetDeadline(runtime_->config.timeouts.client_body_ms);
  WriteResponseChunk(0, take, false);
}

void ClientConnection::FinishResponse() {
  RecordFinished(shared_, *server_, status_, request_start_ns_, SteadyClock::Instance().NowNanos());
  if (status_ < 400) had_success_ = true;
  // Bytes that follow the response in what was read already make the
  // connection unusable (backend_reusable_ is false). Bytes that arrive
  // later (a body after a HEAD response), or a close, are found by the one
  // peek BackendPool::Take makes before the connection's next use: a peek
  // here as well would cost every request a second system call.
  if (backend_reusable_) {
    worker_.backends().Put(std::move(backend_), worker_.now_ms(),
                           runtime_->config.max_idle_per_server);
  } else {
    DropBackend();
  }
  ReleaseServer();
  EndRequest(client_keep_alive_);
}

void ClientConnection::OnAttemptFailed(Failure failure) {
  // A server that answers early (413 to an upload) and closes makes our
  // write fail: its answer is what the client gets.
  if (failure == Failure::kSend && TakeEarlyResponse()) return;
  // A pooled connection the server closed just as the request went out (its
  // keep-alive timeout crossed our request on the wire) says nothing about
  // the server: send again on a fresh connection, without charging it. The
  // fresh connection is not reused, so this happens once per attempt.
  if ((failure == Failure::kSend || failure == Failure::kReset) && backend_ && backend_->reused &&
      out_used_ == 0 && !stream_started_ && server_) {
    ++attempt_;
    DropBackend();
    shared_.metrics.retries->Add();
    return Connect();
  }
  last_failure_ = failure;
  ++attempt_;  // abandon the attempt's pending operations
  if (server_) {
    if (failure != Failure::kStatus) server_->failures->Add();
    RecordFailure(*server_, worker_.now_ms(), runtime_->config.outlier, runtime_->pool->servers);
  }
  DropBackend();
  ReleaseServer();
  // kStatus comes here only after RetryAllowed said yes.
  bool retry = failure == Failure::kStatus || RetryAllowed(failure);
  if (retry) {
    shared_.metrics.retries->Add();
    return TryServer();
  }
  bool must_close = !body_complete_ || stream_started_;
  int status = FailureStatus(failure);
  if (status == 503) shared_.metrics.no_server->Add();
  LocalReply(status, must_close);
}

// Reads what the server already sent; true if that is a final response head,
// which then goes to the client (the rest of the request body is not sent,
// and both connections close after the response).
bool ClientConnection::TakeEarlyResponse() {
  if (!backend_) return false;
  std::error_code ec;
  backend_->socket.cancel(ec);  // no pending operation may touch out_ now
  while (true) {
    EnsureSpace(out_, out_used_, 4096);
    ssize_t n = ::recv(backend_->socket.native_handle(), out_.data() + out_used_,
                       out_.size() - out_used_, MSG_DONTWAIT);
    if (n <= 0) break;
    out_used_ += static_cast<size_t>(n);
    if (out_used_ > 65536) break;
  }
  if (ParseServerHead() != http::ParseStatus::kDone) return false;
  ++attempt_;
  stream_started_ = true;  // the request is spent: no retry
  client_keep_alive_ = false;
  backend_reusable_ = false;
  phase_ = Phase::kWaitResponse;
  OnResponseHead();
  return true;
}

void ClientConnection::ReleaseServer() {
  ReleaseServerSlot(shared_, server_);
}

void ClientConnection::DropBackend() {
  if (backend_) {
    std::error_code ec;
    backend_->socket.close(ec);
    backend_.reset();
  }
}

// ---- Replies and the end of a request --------------------------------------

void ClientConnection::LocalReply(int status, bool close,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  bool keep = !close && client_keep_alive_ && body_complete_ &&
              !shared_.draining.load(std::memory_order_relaxed);
  shared_.metrics.local_responses[std::clamp(status / 100, 1, 5)]->Add();
  if (status == 408) shared_.metrics.timeouts_header->Add();
  local_reply_ = pending_continue_;
  pending_continue_.clear();
  size_t head_from = local_reply_.size();
  // Every 503 of the lb's own says when to come back, as a 429 does: shed
  // from the overload queue, or no server to take it.
  static const std::vector<std::pair<std::string, std::string>> kRetryAfter = {
      {"Retry-After", "1"}};
  local_reply_ += http::BuildErrorResponse(
      status, keep, status == 503 && headers.empty() ? kRetryAfter : headers);
  if (head_request_) {
    // A reply to HEAD has the headers of the GET reply and no body.
    local_reply_.resize(local_reply_.find("\r\n\r\n", head_from) + 4);
  }
  phase_ = Phase::kLocalReply;
  SetDeadline(worker_.runtime().config.timeouts.client_body_ms);
  auto done = [self = shared_from_this(), keep](std::error_code ec, size_t) {
    if (self->phase_ != Phase::kLocalReply) return;
    if (ec) return self->Close();
    self->EndRequest(keep);
  };
  if (tls_) return asio::async_write(*tls_, asio::buffer(local_reply_), std::move(done));
  asio::async_write(client_, asio::buffer(local_reply_), std::move(done));
}

void ClientConnection::RedirectToHttps(const LbRuntime& rt) {
  shared_.metrics.redirects->Add();
  const http::Header* host = request_.Find("host");
  std::string_view name = host ? host->value : std::string_view(rt.config.tls->listen.host);
  if (size_t colon = name.rfind(':'); colon != std::string_view::npos && name.back() != ']') {
    name = name.substr(0, colon);
  }
  std::string location = "https://";
  Append(location, name);
  if (rt.config.tls->listen.port != 443)
    location += ":" + std::to_string(rt.config.tls->listen.port);
  Append(location, request_.target);
  // The body (if any) is not read: the connection closes after the reply.
  body_complete_ = request_.body == http::BodyKind::kNone;
  request_end_ = head_size_;
  LocalReply(308, !body_complete_, {{"Location", location}});
}

void ClientConnection::EndRequest(bool keep_alive) {
  if (!keep_alive || !body_complete_) return LingerClose();
  ConsumeClient(request_end_);
  runtime_.reset();
  phase_ = Phase::kIdle;
  SetDeadline(worker_.runtime().config.timeouts.client_idle_ms);
  if (in_used_ > 0) return ProcessHead();  // a pipelined request is already here
  ReadClient();
}

void ClientConnection::LingerClose() {
  // Shut our side and read what the client still sends for a moment, so
  // the kernel does not answer unread input with a reset that could destroy
  // the response we just wrote (nginx's lingering close).
  phase_ = Phase::kLinger;
  ++attempt_;
  DropBackend();
  ReleaseServer();
  std::error_code ec;
  if (tls_) tls_->ShutdownNow();  // close_notify, so the client knows the response is whole
  client_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  in_used_ = 0;
  SetDeadline(1000);
  ReadClient();
}

void ClientConnection::Close() {
  if (phase_ == Phase::kClosed) return;
  LogDebug("lb", "closing connection from {} in phase {}", client_ip_, static_cast<int>(phase_));
  phase_ = Phase::kClosed;
  ++attempt_;
  DropBackend();
  ReleaseServer();
  std::error_code ec;
  client_.close(ec);
}

void ClientConnection::OnDeadline() {
  switch (phase_) {
    case Phase::kIdle:
      return Close();
    case Phase::kHead:
    case Phase::kBody:
      return LocalReply(408, true);
    case Phase::kQueued:
      return ShedFromQueue(true);
    case Phase::kConnect:
      return OnAttemptFailed(Failure::kConnect);
    case Phase::kSend:
    case Phase::kWaitResponse:
      return OnAttemptFailed(Failure::kTimeout);
    case Phase::kStreamBody:
    case Phase::kResponse:
    case Phase::kLocalReply:
    case Phase::kLinger:
      return Close();
    case Phase::kClosed:
      return;
  }
}

}  // namespace nines::lb
