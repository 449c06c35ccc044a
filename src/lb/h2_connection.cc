// H2Connection: the read and write loops around the session, and the
// streams' bookkeeping.
#include "lb/h2_connection.h"

#include <asio/post.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "lb/h2_stream.h"

namespace nines::lb {

namespace {
constexpr size_t kReadChunk = 16384;
constexpr size_t kWriteChunk = 65536;
}  // namespace

H2Connection::H2Connection(Worker& worker, std::unique_ptr<ByteStream> stream, std::string proto)
    : worker_(worker),
      shared_(worker.shared()),
      stream_(std::move(stream)),
      proto_(std::move(proto)) {
  client_ip_ = stream_->RemoteAddress();
  ParseIpv4Address(client_ip_, &client_ip_number_);
  session_ = std::make_unique<http::H2Session>(worker.runtime().config.h2.limits, this,
                                               [] { return SteadyClock::Instance().NowMillis(); });
  in_.resize(kReadChunk);
  worker_.RegisterH2(this);
  shared_.connections.fetch_add(1, std::memory_order_relaxed);
  shared_.metrics.connections_active->Add(1);
  shared_.metrics.h2_connections->Add();
}

H2Connection::~H2Connection() {
  worker_.UnregisterH2(this);
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  shared_.metrics.connections_active->Add(-1);
}

void H2Connection::Start(std::string_view already_read) {
  idle_since_ms_ = worker_.now_ms();
  if (!already_read.empty()) {
    in_session_ = true;
    bool ok = session_->Receive(already_read);
    in_session_ = false;
    Flush();
    if (!ok) return;
  }
  Flush();  // our SETTINGS
  Read();
}

H2Stream* H2Connection::Find(int32_t stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Connection::Read() {
  if (reading_ || closed_) return;
  reading_ = true;
  stream_->AsyncReadSome(asio::buffer(in_), [self = shared_from_this()](std::error_code ec,
                                                                        size_t n) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) return self->Close();
    self->in_session_ = true;
    bool ok = self->session_->Receive(std::string_view(self->in_.data(), n));
    self->in_session_ = false;
    if (!ok) {
      LogInfo("lb", "h2 client {}: {}; closing", self->client_ip_, self->session_->close_reason());
    }
    self->Flush();
    if (ok && !self->closed_) self->Read();
  });
}

void H2Connection::Flush() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(worker_.io(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->WriteOutput();
  });
}

void H2Connection::WriteOutput() {
  if (in_session_ || closed_ || writing_) return;
  out_.clear();
  in_session_ = true;
  session_->TakeOutput(&out_, kWriteChunk);
  in_session_ = false;
  if (out_.empty()) {
    if (!session_->Alive()) Close();
    return;
  }
  writing_ = true;
  stream_->AsyncWrite(asio::buffer(out_), [self = shared_from_this()](std::error_code ec, size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    if (ec) return self->Close();
    self->WriteOutput();
  });
}

void H2Connection::Close() {
  if (closed_) return;
  closed_ = true;
  std::map<int32_t, std::shared_ptr<H2Stream>> streams;
  streams.swap(streams_);
  for (auto& [id, s] : streams) s->Abort();
  stream_->Close();
}

void H2Connection::OnSweep(int64_t now_ms) {
  if (closed_) return;
  std::vector<std::shared_ptr<H2Stream>> streams;
  streams.reserve(streams_.size());
  for (auto& [id, s] : streams_) streams.push_back(s);
  for (auto& s : streams) s->OnSweep(now_ms);
  if (closed_) return;
  const LbConfig& config = worker_.runtime().config;
  // A connection that never completed a request gets request_header_ms,
  // as an HTTP/1.1 one does (Slowloris); afterwards client_idle_ms.
  int idle_ms = had_request_ ? config.timeouts.client_idle_ms : config.timeouts.request_header_ms;
  bool idle = streams_.empty() && now_ms - idle_since_ms_ >= idle_ms;
  if (!shutdown_sent_ && (idle || shared_.draining.load(std::memory_order_relaxed))) {
    shutdown_sent_ = true;
    session_->Shutdown();  // GOAWAY: streams in progress finish, then we close
  }
  Flush();
  // A client that never reads its GOAWAY (or anything) is not waited for.
  if (shutdown_sent_ && streams_.empty() && now_ms - idle_since_ms_ >= idle_ms + 1000) {
    Close();
  }
}

void H2Connection::OnRequest(int32_t stream, http::H2Request request) {
  had_request_ = true;
  auto s = std::make_shared<H2Stream>(*this, stream, std::move(request));
  streams_[stream] = s;
  s->Start();
}

void H2Connection::OnRequestData(int32_t stream, std::string_view data) {
  if (H2Stream* s = Find(stream)) return s->OnBody(data);
  session_->ConsumeBody(stream, data.size());
}

void H2Connection::OnRequestEnd(int32_t stream) {
  if (H2Stream* s = Find(stream)) s->OnBodyEnd();
}

void H2Connection::OnStreamClose(int32_t stream, uint32_t error_code) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  it->second->Abort();
  streams_.erase(it);
  if (streams_.empty()) idle_since_ms_ = worker_.now_ms();
}

void H2Connection::OnResponseDrained(int32_t stream) {
  if (H2Stream* s = Find(stream)) s->OnDrained();
}

void H2Connection::OnLimit(http::H2Limit limit) {
  shared_.metrics.h2_limits[static_cast<int>(limit)]->Add();
}

}  // namespace nines::lb
