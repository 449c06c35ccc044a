// ByteStream over a plain TCP socket, or over TLS on one.
#include "lb/byte_stream.h"

#include <asio/write.hpp>

#include "net/tcp.h"

namespace nines::lb {

namespace {

class TcpByteStream : public ByteStream {
 public:
  explicit TcpByteStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
    std::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  }
  void AsyncReadSome(asio::mutable_buffer buffer, Handler handler) override {
    socket_.async_read_some(buffer, std::move(handler));
  }
  void AsyncWrite(asio::const_buffer buffer, Handler handler) override {
    asio::async_write(socket_, buffer, std::move(handler));
  }
  void Close() override {
    std::error_code ec;
    socket_.close(ec);
  }
  std::string RemoteAddress() const override { return nines::RemoteAddress(socket_); }

 private:
  asio::ip::tcp::socket socket_;
};

class TlsByteStream : public ByteStream {
 public:
  TlsByteStream(asio::ip::tcp::socket socket, std::unique_ptr<tls::Stream> stream)
      : socket_(std::move(socket)), stream_(std::move(stream)) {
    stream_->Rebind(socket_);
  }
  void AsyncReadSome(asio::mutable_buffer buffer, Handler handler) override {
    stream_->async_read_some(buffer, std::move(handler));
  }
  void AsyncWrite(asio::const_buffer buffer, Handler handler) override {
    writing_ = true;
    asio::async_write(*stream_, buffer,
                      [this, h = std::move(handler)](std::error_code ec, size_t n) {
                        writing_ = false;
                        h(ec, n);
                      });
  }
  void Close() override {
    if (closed_) return;
    closed_ = true;
    // A record half written must not be followed by close_notify.
    if (!writing_) stream_->ShutdownNow();
    std::error_code ec;
    socket_.close(ec);
  }
  std::string RemoteAddress() const override { return nines::RemoteAddress(socket_); }

 private:
  asio::ip::tcp::socket socket_;  // declared before stream_: outlives it
  std::unique_ptr<tls::Stream> stream_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<ByteStream> MakeTlsByteStream(asio::ip::tcp::socket socket,
                                              std::unique_ptr<tls::Stream> stream) {
  return std::make_unique<TlsByteStream>(std::move(socket), std::move(stream));
}

std::unique_ptr<ByteStream> MakeTcpByteStream(asio::ip::tcp::socket socket) {
  return std::make_unique<TcpByteStream>(std::move(socket));
}

}  // namespace nines::lb
