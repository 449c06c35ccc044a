// The HTTP/2 request's state machine. As in ClientConnection, every
// asynchronous operation on the server side captures the attempt number;
// an abandoned attempt's late completions see it changed and return.
#include "lb/h2_stream.h"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>
#include <asio/write.hpp>

#include <array>

#include "base/clock.h"
#include "base/log.h"
#include "lb/client_key.h"
#include "lb/h2_connection.h"
#include "lb/outlier.h"
#include "lb/server_exchange.h"

namespace nines::lb {

namespace {

constexpr size_t kReadChunk = 16384;
// Response bytes queued for the client past which the server is not read.
constexpr size_t kResponseHighWater = 65536;

bool ParseLength(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

H2Stream::H2Stream(H2Connection& conn, int32_t id, http::H2Request request)
    : conn_(&conn),
      worker_(conn.worker()),
      shared_(conn.worker().shared()),
      id_(id),
      request_(std::move(request)) {}

H2Stream::~H2Stream() {
  ReleaseServer();
}

void H2Stream::SetDeadline(int ms) {
  deadline_ms_ = worker_.now_ms() + ms;
}

PickRequest H2Stream::Pick() const {
  PickRequest pick;
  pick.now_ms = worker_.now_ms();
  pick.key_hash = key_hash_;
  pick.tried = tried_;
  pick.tried_count = tried_count_;
  return pick;
}

// An HTTP/1.1 view of the request: :authority becomes Host, cookies join.
void H2Stream::BuildHead() {
  head_.method = request_.method;
  head_.target = request_.path;
  head_.version_minor = 1;
  head_.headers.clear();
  bool has_host = false;
  for (const auto& [name, value] : request_.headers) {
    if (name == "cookie") {
      if (!cookie_.empty()) cookie_ += "; ";
      cookie_ += value;
      continue;
    }
    has_host = has_host || name == "host";
    head_.headers.push_back({name, value});
  }
  if (!has_host && !request_.authority.empty()) {
    head_.headers.insert(head_.headers.begin(), http::Header{"host", request_.authority});
  }
  if (!cookie_.empty()) head_.headers.push_back({"cookie", cookie_});
  head_.body = http::BodyKind::kNone;
  if (const http::Header* cl = head_.Find("content-length")) {
    // nghttp2 checked it against the DATA frames.
    head_.body = ParseLength(cl->value, &head_.content_length) ? http::BodyKind::kContentLength
                                                               : http::BodyKind::kChunked;
  } else if (request_.has_body) {
    head_.body = http::BodyKind::kChunked;
  }
  chunked_ = head_.body == http::BodyKind::kChunked;
  if (chunked_) {
    // A Content-Length nghttp2 let through but we could not read: dropped,
    // the body is framed by chunks instead.
    std::erase_if(head_.headers, [](const http::Header& h) { return h.name == "content-length"; });
  }
}

void H2Stream::Start() {
  worker_.RefreshNow();
  runtime_ = worker_.runtime_ref();
  const LbRuntime& rt = *runtime_;
  request_start_ns_ = SteadyClock::Instance().NowNanos();
  shared_.metrics.requests->Add();
  shared_.metrics.h2_streams->Add();
  head_request_ = request_.method == "HEAD";
  if (request_.method == "CONNECT") {
    shared_.metrics.bad_requests->Add();
    return LocalReply(501);  // no tunnels, as over HTTP/1.1
  }
  BuildHead();
  idempotent_ = IsIdempotent(request_.method);
  idempotency_key_ = !idempotent_ && HasIdempotencyKey(rt.config, head_);
  std::string_view key =
      rt.per_client
          ? ClientKeyOf(head_, conn_->client_ip(), conn_->client_ip_number(), rt.config.rate_limit)
          : std::string_view();
  RateLimitOutcome limits = AdmitByRateLimits(rt, shared_.metrics, key, request_start_ns_);
  if (!limits.allowed) return LocalReply(429, RateLimitRejectHeaders(rt, limits));
  rate_limit_state_ = std::move(limits.state);
  key_hash_ = RequestKeyHash(*rt.pool, head_, conn_->client_ip());
  AppendUpstreamHead(upstream_head_, head_, conn_->client_ip(), rt.config.listen, conn_->proto());
  body_complete_ = !request_.has_body;
  if (body_complete_) return TryServer();
  phase_ = Phase::kBody;
  SetDeadline(rt.config.timeouts.client_body_ms);
}

void H2Stream::OnBody(std::string_view data) {
  if (phase_ == Phase::kDone || body_complete_) {
    if (conn_) conn_->session().ConsumeBody(id_, data.size());
    return;
  }
  if (chunked_) fmt::format_to(std::back_inserter(body_), "{:x}\r\n", data.size());
  body_.append(data);
  if (chunked_) body_ += "\r\n";
  body_unconsumed_ += data.size();
  const LbRuntime& rt = *runtime_;
  if (phase_ == Phase::kBody) {
    // Too large to hold for a retry, or the client's window is full (it can
    // send nothing more until we forward): forward as it comes.
    if (body_.size() > rt.config.max_buffered_body ||
        body_unconsumed_ >= conn_->session().limits().initial_window_size) {
      streaming_ = true;
      return TryServer();
    }
    SetDeadline(rt.config.timeouts.client_body_ms);
  } else if (phase_ == Phase::kStreamBody) {
    WriteBody();
  }
}

void H2Stream::OnBodyEnd() {
  if (phase_ == Phase::kDone || body_complete_) return;
  body_complete_ = true;
  if (chunked_) body_ += "0\r\n\r\n";
  if (phase_ == Phase::kBody) return TryServer();
  if (phase_ == Phase::kStreamBody) WriteBody();
}

void H2Stream::TryServer() {
  const LbRuntime& rt = *runtime_;
  PickRequest pick = Pick();
  int id = AcquireServer(*rt.pool, pick, &worker_.pick_state());
  if (id < 0) {
    // No queue for HTTP/2 streams (yet): every server at max_conn is 503 now.
    if (AnyServerBusy(*rt.pool, pick)) {
      shared_.metrics.shed_queue_full->Add();
      return LocalReply(503);
    }
    if (tried_count_ > 0 && last_failure_ == AttemptFailure::kTimeout) return LocalReply(504);
    if (tried_count_ > 0 && last_failure_ == AttemptFailure::kBadResponse) return LocalReply(502);
    shared_.metrics.no_server->Add();
    return LocalReply(503);
  }
  server_ = rt.pool->servers[id];
  attempt_start_ms_ = worker_.now_ms();
  if (tried_count_ == 0) shared_.retry_budget.OnRequestAt(pick.now_ms, InFlight(*rt.pool));
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

void H2Stream::Connect() {
  phase_ = Phase::kConnect;
  SetDeadline(runtime_->config.timeouts.connect_ms);
  backend_ = ConnectToServer(worker_.io(), server_,
                             [self = shared_from_this(), attempt = attempt_](std::error_code ec) {
                               if (self->attempt_ != attempt || self->phase_ != Phase::kConnect)
                                 return;
                               if (ec) return self->OnAttemptFailed(AttemptFailure::kConnect);
                               self->SendRequest();
                             });
}

void H2Stream::SendRequest() {
  phase_ = Phase::kSend;
  SetDeadline(runtime_->config.timeouts.server_ms);
  // A body held whole stays for a replay; a streamed one leaves as it goes.
  bool replayable = body_complete_ && !streaming_;
  if (!replayable) inflight_.swap(body_);
  size_t consumed = body_unconsumed_;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(upstream_head_),
                                            asio::buffer(replayable ? body_ : inflight_)};
  asio::async_write(backend_->socket, buffers,
                    [self = shared_from_this(), attempt = attempt_, consumed, replayable](
                        std::error_code ec, size_t) {
                      if (self->attempt_ != attempt || self->phase_ != Phase::kSend) return;
                      if (ec) return self->OnAttemptFailed(AttemptFailure::kSend);
                      self->body_unconsumed_ -= consumed;
                      if (self->conn_ && consumed > 0) {
                        self->conn_->session().ConsumeBody(self->id_, consumed);
                        self->conn_->Flush();  // may end the stream: look again
                      }
                      if (self->phase_ == Phase::kDone) return;
                      if (!replayable) {
                        self->stream_started_ = !self->inflight_.empty();
                        self->inflight_.clear();
                        self->phase_ = Phase::kStreamBody;
                        self->SetDeadline(self->runtime_->config.timeouts.client_body_ms);
                        return self->WriteBody();
                      }
                      self->phase_ = Phase::kWaitResponse;
                      self->ReadServer();
                    });
}

void H2Stream::WriteBody() {
  if (writing_ || phase_ != Phase::kStreamBody) return;
  if (body_.empty()) {
    if (!body_complete_) return;  // more comes with OnBody
    phase_ = Phase::kWaitResponse;
    SetDeadline(runtime_->config.timeouts.server_ms);
    return ReadServer();
  }
  writing_ = true;
  stream_started_ = true;
  inflight_.swap(body_);
  body_.clear();
  size_t consumed = body_unconsumed_;
  asio::async_write(
      backend_->socket, asio::buffer(inflight_),
      [self = shared_from_this(), attempt = attempt_, consumed](std::error_code ec, size_t) {
        self->writing_ = false;
        if (self->attempt_ != attempt || self->phase_ != Phase::kStreamBody) return;
        if (ec) return self->OnAttemptFailed(AttemptFailure::kSend);
        self->inflight_.clear();
        self->body_unconsumed_ -= consumed;
        if (self->conn_) {
          self->conn_->session().ConsumeBody(self->id_, consumed);
          self->conn_->Flush();  // may end the stream: look again
        }
        if (self->phase_ == Phase::kDone) return;
        self->SetDeadline(self->runtime_->config.timeouts.client_body_ms);
        self->WriteBody();
      });
}

void H2Stream::ReadServer() {
  if (out_.size() - out_used_ < 4096)
    out_.resize(std::max(out_.size() * 2, out_used_ + kReadChunk));
  backend_->socket.async_read_some(
      asio::buffer(out_.data() + out_used_, out_.size() - out_used_),
      [self = shared_from_this(), attempt = attempt_](std::error_code ec, size_t n) {
        if (self->attempt_ != attempt || self->phase_ == Phase::kDone) return;
        self->OnServerData(n, ec);
      });
}

http::ParseStatus H2Stream::ParseServerHead() {
  return ParseServerResponseHead(out_, &out_used_, head_request_, &response_);
}

void H2Stream::OnServerData(size_t n, std::error_code ec) {
  if (phase_ == Phase::kWaitResponse) {
    if (ec) {
      return OnAttemptFailed(out_used_ == 0 ? AttemptFailure::kReset
                                            : AttemptFailure::kBadResponse);
    }
    out_used_ += n;
    http::ParseStatus status = ParseServerHead();
    if (status == http::ParseStatus::kNeedMore) return ReadServer();
    if (status == http::ParseStatus::kError) {
      return OnAttemptFailed(AttemptFailure::kBadResponse);
    }
    return OnResponseHead();
  }
  if (phase_ != Phase::kResponse) return;
  if (ec) {
    if (response_.body == http::BodyKind::kUntilClose &&
        (ec == asio::error::eof || ec == asio::error::connection_reset)) {
      response_done_ = true;
      backend_reusable_ = false;
      if (conn_) conn_->session().SendBody(id_, "", true);
      Finish();
      if (conn_) conn_->Flush();
      return;
    }
    // The server died in the middle of the response.
    server_->failures->Add();
    RecordFailure(*server_, worker_.now_ms(), runtime_->config.outlier, runtime_->pool->servers);
    return Cancel();
  }
  out_used_ += n;
  ForwardBody(0, out_used_);
}

void H2Stream::OnResponseHead() {
  const LbRuntime& rt = *runtime_;
  status_ = response_.status;
  if ((status_ == 502 || status_ == 503 || status_ == 504) &&
      UntriedServerExists(*rt.pool, Pick(), worker_.pick_state())) {
    RetryContext retry{tried_count_, stream_started_, idempotent_, idempotency_key_};
    if (RetryAllowed(rt.config, shared_, worker_.now_ms(), retry, AttemptFailure::kStatus)) {
      return OnAttemptFailed(AttemptFailure::kStatus);
    }
  }
  int64_t now = worker_.now_ms();
  RecordResponse(*server_, status_, now, rt.config.outlier, rt.pool->servers);
  RecordLatency(*server_, now - attempt_start_ms_, now, rt.config.outlier, rt.pool->servers);
  if (conn_ == nullptr) return Abort();

  std::string tokens;
  for (const http::Header& h : response_.headers) {
    if (http::EqualsIgnoreCase(h.name, "connection")) {
      if (!tokens.empty()) tokens += ',';
      tokens.append(h.value);
    }
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(response_.headers.size() + 2);
  for (const http::Header& h : response_.headers) {
    if (http::IsHopByHop(h.name, tokens)) continue;
    headers.emplace_back(std::string(h.name), std::string(h.value));
  }
  if (conn_->proto() == "https" && !rt.hsts.empty()) {
    // rt.hsts is the HTTP/1.1 line "Strict-Transport-Security: VALUE\r\n".
    std::string_view hsts = rt.hsts;
    hsts.remove_prefix(hsts.find(':') + 2);
    hsts.remove_suffix(2);
    headers.emplace_back("strict-transport-security", std::string(hsts));
  }
  if (!rate_limit_state_.empty()) {
    headers.emplace_back("ratelimit-policy", rt.rate_limit_policy);
    headers.emplace_back("ratelimit", rate_limit_state_);
  }
  if (!response_.keep_alive) backend_reusable_ = false;
  bool has_body =
      response_.body != http::BodyKind::kNone &&
      !(response_.body == http::BodyKind::kContentLength && response_.content_length == 0);
  conn_->session().SubmitResponse(id_, status_, headers, has_body);
  phase_ = Phase::kResponse;
  SetDeadline(rt.config.timeouts.client_body_ms);
  response_done_ = !has_body;
  response_remaining_ = response_.content_length;
  response_chunks_.Reset();
  size_t start = response_.head_size;
  if (response_done_) {
    if (out_used_ > start) backend_reusable_ = false;  // junk after the response
    Finish();                                          // before Flush, which may end the stream
    if (conn_) conn_->Flush();
    return;
  }
  ForwardBody(start, out_used_ - start);
}

// Passes body bytes out_[offset, offset + length) to the client, decoded
// from chunks, and reads on while the client keeps up.
void H2Stream::ForwardBody(size_t offset, size_t length) {
  std::string_view in(out_.data() + offset, length);
  size_t take = 0;
  std::string_view data;
  switch (response_.body) {
    case http::BodyKind::kContentLength:
      take = static_cast<size_t>(std::min<uint64_t>(response_remaining_, in.size()));
      response_remaining_ -= take;
      response_done_ = response_remaining_ == 0;
      data = in.substr(0, take);
      break;
    case http::BodyKind::kChunked: {
      http::ParseError error;
      error.status = 0;
      decoded_.clear();
      take = response_chunks_.Consume(in, &response_done_, &error, &decoded_);
      if (error.status != 0) {
        server_->failures->Add();
        return Cancel();
      }
      data = decoded_;
      break;
    }
    default:
      take = in.size();
      data = in;
      break;
  }
  if (response_done_ && take < in.size()) backend_reusable_ = false;
  out_used_ = 0;
  if (conn_ == nullptr) return Abort();
  conn_->session().SendBody(id_, data, response_done_);
  if (response_done_) {
    Finish();  // before Flush, which may end the stream
    if (conn_) conn_->Flush();
    return;
  }
  conn_->Flush();
  if (conn_ == nullptr || phase_ == Phase::kDone) return;
  SetDeadline(runtime_->config.timeouts.client_body_ms);
  if (conn_->session().QueuedBody(id_) >= kResponseHighWater) {
    paused_ = true;  // OnDrained reads on
    return;
  }
  ReadServer();
}

void H2Stream::OnDrained() {
  if (!paused_ || phase_ != Phase::kResponse) return;
  paused_ = false;
  SetDeadline(runtime_->config.timeouts.client_body_ms);
  ReadServer();
}

void H2Stream::Finish() {
  if (!server_) return;  // aborted meanwhile
  RecordFinished(shared_, *server_, status_, request_start_ns_, SteadyClock::Instance().NowNanos());
  if (backend_reusable_ && backend_) {
    worker_.backends().Put(std::move(backend_), worker_.now_ms(),
                           runtime_->config.max_idle_per_server);
  } else {
    DropBackend();
  }
  ReleaseServer();
  phase_ = Phase::kDone;
}

void H2Stream::OnAttemptFailed(AttemptFailure failure) {
  // A pooled connection the server closed as the request went out says
  // nothing about the server: once more on a fresh connection.
  if ((failure == AttemptFailure::kSend || failure == AttemptFailure::kReset) && backend_ &&
      backend_->reused && out_used_ == 0 && !stream_started_ && server_) {
    ++attempt_;
    DropBackend();
    if (!body_complete_ || streaming_) {
      // The body so far went out with the head: it is in inflight_.
      body_.insert(0, inflight_);
      inflight_.clear();
    }
    shared_.metrics.retries->Add();
    return Connect();
  }
  last_failure_ = failure;
  ++attempt_;
  if (server_) {
    if (failure != AttemptFailure::kStatus) server_->failures->Add();
    RecordFailure(*server_, worker_.now_ms(), runtime_->config.outlier, runtime_->pool->servers);
  }
  DropBackend();
  ReleaseServer();
  bool retry = failure == AttemptFailure::kStatus;
  // A streamed body left with the failed attempt: only a connect failure
  // (nothing sent) can be retried.
  if (!retry && (!streaming_ || failure == AttemptFailure::kConnect)) {
    RetryContext context{tried_count_, stream_started_, idempotent_, idempotency_key_};
    retry = RetryAllowed(runtime_->config, shared_, worker_.now_ms(), context, failure);
  }
  if (retry) {
    shared_.metrics.retries->Add();
    return TryServer();
  }
  int status = FailureStatus(failure);
  if (status == 503) shared_.metrics.no_server->Add();
  LocalReply(status);
}

void H2Stream::LocalReply(int status,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  ++attempt_;
  DropBackend();
  ReleaseServer();
  phase_ = Phase::kDone;
  shared_.metrics.local_responses[std::clamp(status / 100, 1, 5)]->Add();
  if (conn_ == nullptr) return;
  conn_->session().SubmitLocalResponse(id_, status, headers, head_request_);
  conn_->Flush();
}

void H2Stream::Cancel() {
  ++attempt_;
  DropBackend();
  ReleaseServer();
  phase_ = Phase::kDone;
  if (conn_ == nullptr) return;
  conn_->session().ResetStream(id_, NGHTTP2_INTERNAL_ERROR);
  conn_->Flush();
}

void H2Stream::Abort() {
  ++attempt_;
  DropBackend();
  ReleaseServer();
  phase_ = Phase::kDone;
  conn_ = nullptr;
}

void H2Stream::OnSweep(int64_t now_ms) {
  if (phase_ == Phase::kDone || now_ms < deadline_ms_) return;
  switch (phase_) {
    case Phase::kBody:
      return LocalReply(408);
    case Phase::kConnect:
      return OnAttemptFailed(AttemptFailure::kConnect);
    case Phase::kSend:
    case Phase::kWaitResponse:
      return OnAttemptFailed(AttemptFailure::kTimeout);
    case Phase::kStreamBody:
    case Phase::kResponse:
      return Cancel();
    case Phase::kDone:
      return;
  }
}

void H2Stream::ReleaseServer() {
  ReleaseServerSlot(shared_, server_);
}

void H2Stream::DropBackend() {
  if (backend_) {
    std::error_code ec;
    backend_->socket.close(ec);
    backend_.reset();
  }
}

}  // namespace nines::lb
