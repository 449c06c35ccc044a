// AsyncConnection: Asio socket I/O under a watchdog timer that closes the
// socket at the deadline; the response is read by ResponseReader.
#include "http/async_client.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstdint>

namespace nines::http {

using asio::ip::tcp;

struct AsyncConnection::State {
  explicit State(const asio::any_io_executor& executor) : socket(executor), watchdog(executor) {}
  tcp::socket socket;
  asio::steady_timer watchdog;
  // The armed watchdog's number; a handler whose number is no longer armed
  // (it fired as the exchange finished) leaves the socket alone.
  uint64_t armed = 0;
  uint64_t next_arm = 0;
};

namespace {

constexpr size_t kReadChunk = 16384;

bool Expired(AsyncDeadline deadline) {
  return std::chrono::steady_clock::now() >= deadline;
}

std::string Where(const tcp::endpoint& to) {
  return to.address().to_string() + ":" + std::to_string(to.port());
}

}  // namespace

AsyncConnection::AsyncConnection(const asio::any_io_executor& executor)
    : state_(std::make_shared<State>(executor)) {}

AsyncConnection::~AsyncConnection() {
  Close();
}

AsyncConnection::AsyncConnection(AsyncConnection&&) noexcept = default;
AsyncConnection& AsyncConnection::operator=(AsyncConnection&& other) noexcept {
  if (this != &other) {
    Close();
    state_ = std::move(other.state_);
    buffer_ = std::move(other.buffer_);
    error_ = std::move(other.error_);
  }
  return *this;
}

bool AsyncConnection::is_open() const {
  return state_ && state_->socket.is_open();
}

void AsyncConnection::Close() noexcept {
  if (!state_) return;
  Disarm();
  std::error_code ignored;
  state_->socket.close(ignored);
  buffer_.clear();
}

void AsyncConnection::Arm(AsyncDeadline deadline) {
  uint64_t number = ++state_->next_arm;
  state_->armed = number;
  state_->watchdog.expires_at(deadline);
  state_->watchdog.async_wait([state = state_, number](std::error_code ec) {
    if (ec || state->armed != number) return;
    std::error_code ignored;
    state->socket.close(ignored);
  });
}

void AsyncConnection::Disarm() noexcept {
  state_->armed = 0;  // from here a firing watchdog leaves the socket alone
  try {
    state_->watchdog.cancel();
  } catch (...) {  // cancel() throws only if the timer service fails: the wait then
  }                // just runs out, harmlessly
}

asio::awaitable<ConnectStatus> AsyncConnection::Connect(tcp::endpoint to, AsyncDeadline deadline,
                                                        std::string source) {
  Close();
  error_.clear();
  tcp::socket& socket = state_->socket;
  std::error_code ec;
  socket.open(to.protocol(), ec);
  if (ec) {
    error_ = "socket: " + ec.message();
    co_return ConnectStatus::kSetupFailed;
  }
  if (!source.empty()) {
    asio::ip::address from = asio::ip::make_address(source, ec);
    if (ec) {
      Close();
      error_ = "bad source address " + source;
      co_return ConnectStatus::kSetupFailed;
    }
    socket.set_option(tcp::socket::reuse_address(true), ec);
    if (!ec) socket.bind(tcp::endpoint(from, 0), ec);
    if (ec) {
      Close();
      error_ = "bind " + source + ": " + ec.message();
      co_return ConnectStatus::kSetupFailed;
    }
  }
  Arm(deadline);
  co_await socket.async_connect(to, asio::redirect_error(asio::use_awaitable, ec));
  Disarm();
  if (!ec && !socket.is_open()) ec = asio::error::operation_aborted;  // closed as it connected
  if (ec) {
    bool timed_out = Expired(deadline);
    Close();
    error_ = "connect " + Where(to) + ": " + (timed_out ? "timeout" : ec.message());
    co_return timed_out ? ConnectStatus::kTimedOut : ConnectStatus::kFailed;
  }
  socket.set_option(tcp::no_delay(true), ec);
  co_return ConnectStatus::kConnected;
}

asio::awaitable<ClientResponse> AsyncConnection::Exchange(std::string_view request,
                                                          ExchangeOptions options) {
  ClientResponse result;
  if (!is_open()) {
    result.error = "not connected";
    co_return result;
  }
  tcp::socket& socket = state_->socket;
  std::error_code ec;
  Arm(options.deadline);
  co_await asio::async_write(socket, asio::buffer(request.data(), request.size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    result.timed_out = Expired(options.deadline);
    result.error = "send: " + (result.timed_out ? std::string("timeout") : ec.message());
    Close();
    co_return result;
  }
  ResponseReader reader(options.method, options.max_response_bytes, options.head_only);
  ResponseReader::Progress progress;
  while ((progress = reader.Consume(&buffer_, &result)) == ResponseReader::Progress::kNeedMore) {
    size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    size_t n = co_await socket.async_read_some(asio::buffer(buffer_.data() + old, kReadChunk),
                                               asio::redirect_error(asio::use_awaitable, ec));
    buffer_.resize(old + n);
    if (n > 0) result.received = true;
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      progress = reader.Closed(&buffer_, &result);
      break;
    }
    if (ec) {
      result.timed_out = Expired(options.deadline);
      result.error =
          std::string(reader.phase()) + ": " + (result.timed_out ? "timeout" : ec.message());
      progress = ResponseReader::Progress::kError;
      break;
    }
  }
  Disarm();
  bool reusable = progress == ResponseReader::Progress::kDone && !result.closed &&
                  !options.head_only && buffer_.empty() && socket.is_open();
  if (!reusable) Close();
  co_return result;
}

asio::awaitable<ClientResponse> AsyncFetch(asio::any_io_executor executor, tcp::endpoint to,
                                           std::string request, ExchangeOptions options,
                                           std::string source) {
  AsyncConnection connection(executor);
  ConnectStatus status = co_await connection.Connect(to, options.deadline, std::move(source));
  if (status != ConnectStatus::kConnected) {
    ClientResponse result;
    result.error = connection.error();
    result.timed_out = status == ConnectStatus::kTimedOut;
    co_return result;
  }
  co_return co_await connection.Exchange(request, options);
}

}  // namespace nines::http
