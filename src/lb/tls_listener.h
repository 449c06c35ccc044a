// One worker's [tls] listener: accepts on its own SO_REUSEPORT socket, runs
// each TLS handshake under handshake_timeout_ms and the max_handshakes bound
// (a cut or garbage ClientHello fails the handshake and closes only that
// connection), then hands the connection to the HTTP/1.1 proxy
// (ClientConnection over a tls::Stream) or, when ALPN chose a protocol
// registered in LbShared::tls_protocols (h2), to that protocol's handler.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "base/config.h"

namespace nines::lb {

class Worker;

class TlsListener {
 public:
  explicit TlsListener(Worker& worker);
  // Binds (throws std::system_error) and starts accepting.
  void Start(const Endpoint& listen);
  void Stop();

 private:
  void Accept();

  Worker& worker_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  bool accepting_ = false;
};

}  // namespace nines::lb
