// An Asio stream over an OpenSSL connection on a TCP socket, for the event
// loops' one-thread-per-connection model. OpenSSL reads and writes the
// non-blocking socket itself (a socket BIO, no extra copy through memory
// BIOs); when it wants the socket to be readable or writable the stream
// waits with socket.async_wait and tries again. Models AsyncReadStream and
// AsyncWriteStream, so asio::async_write and the proxy's code work on it as
// on a plain socket. One read and one write may be pending at once; calls
// come from the socket's loop only.
#pragma once

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <openssl/ssl.h>

#include <memory>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace nines::tls {

class Stream {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;

  // Takes ownership of `ssl` (fresh, in accept or connect state) and binds it
  // to `socket`'s descriptor, which is made non-blocking. `owner` (the
  // context set the SSL* came from) is kept alive as long as the stream:
  // OpenSSL's callbacks point into it.
  Stream(asio::ip::tcp::socket& socket, SSL* ssl, std::shared_ptr<const void> owner);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_->get_executor(); }
  SSL* ssl() const { return ssl_; }
  asio::ip::tcp::socket& socket() { return *socket_; }
  // After the socket object moved (its descriptor did not): use this one.
  void Rebind(asio::ip::tcp::socket& socket) { socket_ = &socket; }

  // True once the handshake resumed a session (a ticket) instead of a full one.
  bool Resumed() const;
  // The ALPN protocol agreed, "" if none.
  std::string_view Alpn() const;

  // Handler: void(std::error_code).
  template <typename Handler>
  void async_handshake(Handler&& handler) {
    Handshake(std::forward<Handler>(handler), true);
  }

  // Handler: void(std::error_code, size_t). Reads into the first non-empty buffer.
  template <typename MutableBuffers, typename Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    asio::mutable_buffer target;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      if (it->size() > 0) {
        target = *it;
        break;
      }
    }
    Read(target, std::forward<Handler>(handler), true);
  }

  // Handler: void(std::error_code, size_t). Several small buffers are joined
  // first, so a response head and its body go out in one TLS record.
  template <typename ConstBuffers, typename Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    Write(Gather(asio::buffer_sequence_begin(buffers), asio::buffer_sequence_end(buffers)),
          std::forward<Handler>(handler), true);
  }

  // Writes what the socket takes now, without waiting: the bytes taken (0
  // with would_block when none). Bytes not taken must be the first bytes of
  // the next write (OpenSSL may hold a record of them already).
  size_t write_some(asio::const_buffer buffer, std::error_code& ec);

  // Sends close_notify if the socket takes it now; never waits for the
  // peer's. The TCP connection is the caller's to shut or close.
  void ShutdownNow();

 private:
  enum class Next { kDone, kWaitRead, kWaitWrite, kFailed };

  // What SSL_* returning `result` asks for next; *ec set on kFailed. Clears
  // the thread's error queue on failure.
  Next Classify(int result, std::error_code* ec);

  template <typename It>
  asio::const_buffer Gather(It begin, It end) {
    size_t count = 0;
    asio::const_buffer only;
    for (It it = begin; it != end; ++it) {
      if (it->size() == 0) continue;
      if (count++ == 0) only = *it;
    }
    if (count <= 1) return only;
    scratch_.clear();
    for (It it = begin; it != end && scratch_.size() < kMaxGather; ++it) {
      size_t take = std::min(it->size(), kMaxGather - scratch_.size());
      const char* p = static_cast<const char*>(it->data());
      scratch_.insert(scratch_.end(), p, p + take);
    }
    return asio::const_buffer(scratch_.data(), scratch_.size());
  }

  template <typename Handler, typename... Args>
  void Complete(Handler& handler, bool first, Args... args) {
    // An initiating call never runs its handler inline (Asio's rule): the
    // proxy's handlers start the next operation, and inline completions
    // would recurse without bound over buffered TLS records.
    if (first) {
      asio::post(socket_->get_executor(),
                 [h = std::move(handler), args...]() mutable { h(args...); });
    } else {
      handler(args...);
    }
  }

  template <typename Handler>
  void WaitThen(Next next, Handler&& then) {
    socket_->async_wait(
        next == Next::kWaitRead ? asio::socket_base::wait_read : asio::socket_base::wait_write,
        std::forward<Handler>(then));
  }

  template <typename Handler>
  void Handshake(Handler handler, bool first) {
    std::error_code ec;
    Next next = Classify(SSL_do_handshake(ssl_), &ec);
    if (next == Next::kDone || next == Next::kFailed) return Complete(handler, first, ec);
    WaitThen(next, [this, h = std::move(handler)](std::error_code wait_ec) mutable {
      if (wait_ec) return h(wait_ec);
      Handshake(std::move(h), false);
    });
  }

  template <typename Handler>
  void Read(asio::mutable_buffer target, Handler handler, bool first) {
    if (target.size() == 0) return Complete(handler, first, std::error_code(), size_t{0});
    size_t n = 0;
    std::error_code ec;
    Next next = Classify(SSL_read_ex(ssl_, target.data(), target.size(), &n), &ec);
    if (next == Next::kDone || next == Next::kFailed) return Complete(handler, first, ec, n);
    WaitThen(next, [this, target, h = std::move(handler)](std::error_code wait_ec) mutable {
      if (wait_ec) return h(wait_ec, size_t{0});
      Read(target, std::move(h), false);
    });
  }

  template <typename Handler>
  void Write(asio::const_buffer source, Handler handler, bool first) {
    if (source.size() == 0) return Complete(handler, first, std::error_code(), size_t{0});
    size_t n = 0;
    std::error_code ec;
    Next next = Classify(SSL_write_ex(ssl_, source.data(), source.size(), &n), &ec);
    if (next == Next::kDone || next == Next::kFailed) return Complete(handler, first, ec, n);
    // OpenSSL holds a record of these bytes: the retry passes the same ones.
    WaitThen(next, [this, source, h = std::move(handler)](std::error_code wait_ec) mutable {
      if (wait_ec) return h(wait_ec, size_t{0});
      Write(source, std::move(h), false);
    });
  }

  static constexpr size_t kMaxGather = 65536;

  asio::ip::tcp::socket* socket_;
  SSL* ssl_;
  std::shared_ptr<const void> owner_;
  std::vector<char> scratch_;  // joined buffers of the write in progress
};

}  // namespace nines::tls
