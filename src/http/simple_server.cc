// SimpleServer: one Connection object per client, driven by Asio callbacks on
// the server's io_context.
#include "http/simple_server.h"

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "http/parser.h"
#include "http/response.h"
#include "net/tcp.h"

namespace nines::http {

Response JsonError(int status, std::string_view message) {
  return Response::Json(status, JsonErrorBody(message));
}

Response JsonError(int status, std::string_view message, const nlohmann::json& fields) {
  return Response::Json(status, JsonErrorBody(message, fields));
}

std::string Request::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

std::string Request::QueryParam(std::string_view key) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return "";
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += '\n';
  return r;
}

class SimpleServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, const Handler& handler, const ServerOptions& options,
             std::shared_ptr<std::atomic<size_t>> counter)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        handler_(handler),
        options_(options),
        counter_(std::move(counter)) {
    remote_ = RemoteAddress(socket_);
  }
  ~Connection() { counter_->fetch_sub(1); }

  void Start() {
    ArmTimer(options_.idle_timeout_ms);
    Read();
  }

 private:
  void ArmTimer(int ms) {
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = weak_from_this()](std::error_code ec) {
      if (ec) return;
      if (auto s = self.lock()) s->OnTimeout();
    });
  }

  void OnTimeout() {
    if (state_ == State::kHead && !buffer_.empty()) {
      Fail(408);
      return;
    }
    if (state_ == State::kHandling) {
      ArmTimer(options_.idle_timeout_ms);  // the handler owns the time
      return;
    }
    Close();
  }

  void Read() {
    if (buffer_.size() - used_ < 4096) buffer_.resize(std::max<size_t>(buffer_.size() * 2, 8192));
    socket_.async_read_some(asio::buffer(buffer_.data() + used_, buffer_.size() - used_),
                            [self = shared_from_this()](std::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->used_ += n;
                              self->Process();
                            });
  }

  void Process() {
    std::string_view data(buffer_.data(), used_);
    if (state_ == State::kHead) {
      if (used_ > 0 && !timer_armed_for_head_) {
        timer_armed_for_head_ = true;
        ArmTimer(options_.header_timeout_ms);
      }
      ParseError error;
      ParseStatus status = ParseRequestHead(data, Limits(), &head_, &error);
      if (status == ParseStatus::kNeedMore) return Read();
      if (status == ParseStatus::kError) return Fail(error.status);
      if (head_.content_length > options_.max_body_bytes) return Fail(413);
      request_ = Request();
      request_.method = std::string(head_.method);
      request_.target = std::string(head_.target);
      size_t q = request_.target.find('?');
      request_.path = request_.target.substr(0, q);
      if (q != std::string::npos) request_.query = request_.target.substr(q + 1);
      for (const Header& h : head_.headers) {
        request_.headers.emplace_back(std::string(h.name), std::string(h.value));
      }
      request_.remote = remote_;
      keep_alive_ = head_.keep_alive;
      chunked_ = head_.body == BodyKind::kChunked;
      chunks_.Reset();
      body_needed_ = head_.content_length;
      Consume(head_.head_size);
      if (head_.expect_continue && (chunked_ || body_needed_ > used_)) {
        static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        std::error_code ec;
        asio::write(socket_, asio::buffer(kContinue, sizeof(kContinue) - 1), ec);
      }
      state_ = State::kBody;
    }
    if (state_ == State::kBody && chunked_) {
      bool done = false;
      ParseError error;
      error.status = 0;
      // The parser's ChunkedReader validates and decodes in one pass.
      size_t take =
          chunks_.Consume(std::string_view(buffer_.data(), used_), &done, &error, &request_.body);
      if (error.status != 0) return Fail(400);
      Consume(take);
      if (chunks_.data_bytes() > options_.max_body_bytes) return Fail(413);
      if (!done) return Read();
    } else if (state_ == State::kBody) {
      size_t take = std::min<size_t>(body_needed_ - request_.body.size(), used_);
      request_.body.append(buffer_.data(), take);
      Consume(take);
      if (request_.body.size() < body_needed_) return Read();
    }
    if (state_ == State::kBody) {
      state_ = State::kHandling;
      ArmTimer(options_.idle_timeout_ms);
      auto self = shared_from_this();
      asio::any_io_executor executor = socket_.get_executor();
      handler_(request_, [self, executor](Response response) {
        asio::post(executor, [self, response = std::move(response)]() { self->Send(response); });
      });
    }
  }

  void Send(const Response& response) {
    if (state_ != State::kHandling) return;
    out_ = BuildResponse(response.status, response.content_type,
                         request_.method == "HEAD" ? std::string_view() : response.body,
                         keep_alive_, response.headers);
    if (request_.method == "HEAD") {
      // Content-Length must describe the body a GET would get.
      std::string cl = fmt::format("Content-Length: {}\r\n", response.body.size());
      size_t at = out_.find("Content-Length: 0\r\n");
      if (at != std::string::npos) out_.replace(at, 19, cl);
    }
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->Close();
                        self->state_ = State::kHead;
                        self->timer_armed_for_head_ = false;
                        self->ArmTimer(self->options_.idle_timeout_ms);
                        if (self->used_ > 0) return self->Process();
                        self->Read();
                      });
  }

  void Fail(int status) {
    state_ = State::kClosing;
    out_ = BuildErrorResponse(status, false);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code, size_t) { self->Close(); });
  }

  void Consume(size_t n) {
    std::memmove(buffer_.data(), buffer_.data() + n, used_ - n);
    used_ -= n;
  }

  void Close() {
    state_ = State::kClosing;
    std::error_code ec;
    timer_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  enum class State { kHead, kBody, kHandling, kClosing };
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  Handler handler_;
  ServerOptions options_;
  std::shared_ptr<std::atomic<size_t>> counter_;
  std::string remote_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  State state_ = State::kHead;
  bool timer_armed_for_head_ = false;
  RequestHead head_;
  Request request_;
  size_t body_needed_ = 0;
  bool chunked_ = false;
  ChunkedReader chunks_;
  bool keep_alive_ = true;
  std::string out_;
};

SimpleServer::SimpleServer(asio::io_context& io, Endpoint at, Handler handler,
                           ServerOptions options)
    : io_(io),
      at_(std::move(at)),
      handler_(std::move(handler)),
      options_(options),
      acceptor_(io),
      connections_(std::make_shared<std::atomic<size_t>>(0)),
      stopped_(std::make_shared<std::atomic<bool>>(false)),
      accept_errors_(std::make_shared<std::atomic<uint64_t>>(0)),
      accept_backoff_(io) {}

SimpleServer::~SimpleServer() {
  try {
    Stop();
  } catch (...) {  // a timer cancel that failed (epoll_ctl): nothing left to undo
  }
}

void SimpleServer::Start() {
  OpenListener(acceptor_, at_, false);
  std::error_code ec;
  at_.port = acceptor_.local_endpoint(ec).port();  // the one the kernel chose for port 0
  Accept();
}

void SimpleServer::Stop() {
  stopped_->store(true);
  std::error_code ec;
  acceptor_.close(ec);
  accept_backoff_.cancel();
}

void SimpleServer::ExportMetrics(MetricsRegistry& registry) const {
  registry.AddCounterCallback(
      "nines_http_accept_errors_total",
      "Failed accepts on an HTTP listener (descriptors or memory exhausted, ...)",
      {{"listen", at_.ToString()}},
      [errors = accept_errors_] { return static_cast<double>(errors->load()); });
}

void SimpleServer::OnAcceptError(const std::error_code& ec) {
  accept_errors_->fetch_add(1);
  // Asio reports these in its own system category (not std::errc-comparable).
  bool exhausted = ec.category() == asio::error::get_system_category() &&
                   (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
                    ec.value() == ENOMEM);
  if (!exhausted) {
    Accept();  // a connection that died before it was accepted: take the next one
    return;
  }
  if (!in_accept_error_burst_) {
    in_accept_error_burst_ = true;
    LogWarn("http", "accept on {}: {}; pausing accepts for {} ms at a time until it clears",
            at_.ToString(), ec.message(), kAcceptBackoffMs);
  }
  accept_backoff_.expires_after(std::chrono::milliseconds(kAcceptBackoffMs));
  accept_backoff_.async_wait([this, stopped = stopped_](std::error_code timer_ec) {
    if (timer_ec || stopped->load()) return;
    Accept();
  });
}

void SimpleServer::Accept() {
  acceptor_.async_accept([this, stopped = stopped_](std::error_code ec,
                                                    asio::ip::tcp::socket socket) {
    if (stopped->load()) return;
    if (ec == asio::error::operation_aborted) return;
    if (ec) return OnAcceptError(ec);
    if (in_accept_error_burst_) {
      in_accept_error_burst_ = false;
      LogInfo("http", "accept on {} works again ({} failures so far)", at_.ToString(),
              accept_errors_->load());
    }
    if (connections_->load() >= options_.max_connections) {
      std::error_code ignored;
      socket.close(ignored);
    } else {
      connections_->fetch_add(1);
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), handler_, options_, connections_)->Start();
    }
    Accept();
  });
}

}  // namespace nines::http
