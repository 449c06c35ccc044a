// A client connection's bytes, whatever carries them: plain TCP, or TLS
// once its handshake is done. The HTTP/2 front end (H2Connection) reads and
// writes through this, so a TLS listener whose ALPN picked "h2" hands its
// stream over unchanged.
#pragma once

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "tls/stream.h"

namespace nines::lb {

class ByteStream {
 public:
  using Handler = std::function<void(std::error_code, size_t)>;
  virtual ~ByteStream() = default;
  // As asio's async_read_some: some bytes, or an error (eof at the end).
  virtual void AsyncReadSome(asio::mutable_buffer buffer, Handler handler) = 0;
  // As asio::async_write: all of `buffer`, or an error.
  virtual void AsyncWrite(asio::const_buffer buffer, Handler handler) = 0;
  // Closes at once; pending operations complete with an error.
  virtual void Close() = 0;
  // "a.b.c.d" of the client.
  virtual std::string RemoteAddress() const = 0;
};

// Plain TCP (the socket is set to TCP_NODELAY).
std::unique_ptr<ByteStream> MakeTcpByteStream(asio::ip::tcp::socket socket);

// TLS after the handshake (`stream` was made on `socket`, which moves here:
// the stream is rebound to it). Close sends close_notify when no write is in
// progress.
std::unique_ptr<ByteStream> MakeTlsByteStream(asio::ip::tcp::socket socket,
                                              std::unique_ptr<tls::Stream> stream);

}  // namespace nines::lb
