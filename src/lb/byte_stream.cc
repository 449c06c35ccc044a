// ByteStream over a plain TCP socket.
#include "lb/byte_stream.h"

#include <asio/write.hpp>

#include "net/tcp.h"

namespace nines {

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

}  // namespace

std::unique_ptr<ByteStream> MakeTcpByteStream(asio::ip::tcp::socket socket) {
  return std::make_unique<TcpByteStream>(std::move(socket));
}

}  // namespace nines
