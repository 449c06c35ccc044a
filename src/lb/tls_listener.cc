// TLS accept and handshake for the lb.
#include "lb/tls_listener.h"

#include <memory>

#include "base/log.h"
#include "lb/proxy_connection.h"
#include "lb/worker.h"
#include "net/tcp.h"
#include "tls/stream.h"

namespace nines::lb {

namespace {

// One handshake in progress: its socket, its stream and its timer.
class TlsHandshake : public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(Worker& worker, asio::ip::tcp::socket socket,
               std::shared_ptr<const tls::ServerContext> context, SSL* ssl)
      : worker_(worker), socket_(std::move(socket)), timer_(worker.io()) {
    stream_ = std::make_unique<tls::Stream>(socket_, ssl, std::move(context));
  }

  void Start(int timeout_ms) {
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->done_) return;
      // The handshake's pending wait ends with operation_aborted.
      self->timed_out_ = true;
      std::error_code close_ec;
      self->socket_.close(close_ec);
    });
    stream_->async_handshake([self = shared_from_this()](std::error_code ec) { self->Finish(ec); });
  }

 private:
  void Finish(std::error_code ec) {
    done_ = true;
    timer_.cancel();
    LbShared& shared = worker_.shared();
    shared.tls_handshakes.fetch_sub(1, std::memory_order_relaxed);
    if (ec || timed_out_) {
      (timed_out_ ? shared.metrics.tls_timeouts : shared.metrics.tls_failed)->Add();
      LogDebug("lb", "TLS handshake from {} failed: {}", RemoteAddress(socket_),
               timed_out_ ? "timed out" : ec.message());
      std::error_code ignored;
      socket_.close(ignored);
      return;
    }
    shared.metrics.tls_ok->Add();
    if (stream_->Resumed()) shared.metrics.tls_resumed->Add();
    std::string_view alpn = stream_->Alpn();
    if (!alpn.empty() && alpn != "http/1.1") {
      for (const LbShared::TlsProtocol& p : shared.tls_protocols) {
        if (p.alpn == alpn) return p.serve(worker_, std::move(socket_), std::move(stream_));
      }
    }
    std::make_shared<ClientConnection>(worker_, std::move(socket_), std::move(stream_))->Start();
  }

  Worker& worker_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<tls::Stream> stream_;
  asio::steady_timer timer_;
  bool done_ = false;
  bool timed_out_ = false;
};

}  // namespace

TlsListener::TlsListener(Worker& worker)
    : worker_(worker), acceptor_(worker.io()), retry_timer_(worker.io()) {}

void TlsListener::Start(const Endpoint& listen) {
  OpenListener(acceptor_, listen, true);
  accepting_ = true;
  Accept();
}

void TlsListener::Stop() {
  accepting_ = false;
  retry_timer_.cancel();
  std::error_code ec;
  acceptor_.close(ec);
}

void TlsListener::Accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!accepting_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, or a connection that died in the backlog: try
      // again shortly (the plain listener logs and counts these).
      LogDebug("lb", "TLS accept failed: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(10));
      retry_timer_.async_wait([this](std::error_code timer_ec) {
        if (!timer_ec && accepting_) Accept();
      });
      return;
    }
    const LbRuntime& rt = worker_.runtime();
    LbShared& shared = worker_.shared();
    std::error_code ignored;
    if (shared.connections.load(std::memory_order_relaxed) >= rt.config.max_connections ||
        shared.draining.load(std::memory_order_relaxed) || !rt.tls) {
      shared.metrics.connections_rejected->Add();
      socket.close(ignored);
    } else if (shared.tls_handshakes.load(std::memory_order_relaxed) >=
               rt.config.tls->max_handshakes) {
      shared.metrics.tls_rejected->Add();
      socket.close(ignored);
    } else if (SSL* ssl = rt.tls->NewSsl()) {
      shared.metrics.connections_accepted->Add();
      shared.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<TlsHandshake>(worker_, std::move(socket), rt.tls, ssl)
          ->Start(rt.config.tls->handshake_timeout_ms);
    } else {
      shared.metrics.tls_failed->Add();
      socket.close(ignored);
    }
    Accept();
  });
}

}  // namespace nines::lb
