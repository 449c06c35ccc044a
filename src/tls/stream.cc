// tls::Stream: the non-template parts.
#include "tls/stream.h"

#include <openssl/err.h>

#include <cerrno>

#include "tls/tls_error.h"

namespace nines::tls {

Stream::Stream(asio::ip::tcp::socket& socket, SSL* ssl, std::shared_ptr<const void> owner)
    : socket_(&socket), ssl_(ssl), owner_(std::move(owner)) {
  std::error_code ec;
  socket.non_blocking(true, ec);
  SSL_set_fd(ssl_, socket.native_handle());
}

Stream::~Stream() {
  SSL_free(ssl_);
}

bool Stream::Resumed() const {
  return SSL_session_reused(ssl_) == 1;
}

std::string_view Stream::Alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return data ? std::string_view(reinterpret_cast<const char*>(data), length) : std::string_view();
}

Stream::Next Stream::Classify(int result, std::error_code* ec) {
  if (result == 1) return Next::kDone;
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return Next::kWaitRead;
    case SSL_ERROR_WANT_WRITE:
      return Next::kWaitWrite;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      *ec = asio::error::eof;
      return Next::kFailed;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      *ec = saved_errno != 0 ? std::error_code(saved_errno, std::system_category())
                             : std::error_code(asio::error::eof);
      return Next::kFailed;
    default:
      *ec = TakeError();
      if (!*ec) *ec = asio::error::connection_aborted;
      return Next::kFailed;
  }
}

size_t Stream::write_some(asio::const_buffer buffer, std::error_code& ec) {
  ec.clear();
  size_t n = 0;
  Next next = Classify(SSL_write_ex(ssl_, buffer.data(), buffer.size(), &n), &ec);
  if (next == Next::kWaitRead || next == Next::kWaitWrite) ec = asio::error::would_block;
  return n;
}

void Stream::ShutdownNow() {
  if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace nines::tls
