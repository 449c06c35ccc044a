// TCP transport for Raft messages; see peer_transport.h.
#include "store/peer_transport.h"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>

#include "base/log.h"
#include "net/tcp.h"
#include "raft/codec.h"

namespace nines::store {

struct PeerTransport::Outbound {
  explicit Outbound(asio::io_context& io) : socket(io), timer(io) {}
  raft::NodeId id = 0;
  Endpoint at;
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  std::deque<std::string> queue;  // encoded frames
  std::string writing;            // frames being written
  bool connected = false;
  bool connecting = false;
  bool write_busy = false;
  int backoff_ms = 20;
};

struct PeerTransport::Inbound {
  explicit Inbound(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  std::string buffer;
  char chunk[64 * 1024];
};

void BindSource(asio::ip::tcp::socket& socket, const std::string& host) {
  asio::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec || address.is_unspecified()) return;
  socket.open(address.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
  if (ec) return;
  socket.bind(asio::ip::tcp::endpoint(address, 0), ec);
  if (ec) {
    asio::error_code ignored;
    socket.close(ignored);
  }
}

PeerTransport::PeerTransport(asio::io_context& io, Endpoint listen, OnMessage on_message,
                             PeerTransportOptions options)
    : io_(io),
      listen_(std::move(listen)),
      on_message_(std::move(on_message)),
      options_(std::move(options)),
      acceptor_(io),
      stopped_(std::make_shared<bool>(false)) {}

PeerTransport::~PeerTransport() {
  Stop();
}

void PeerTransport::AddPeer(raft::NodeId id, Endpoint at) {
  auto it = peers_.find(id);
  if (it != peers_.end() && it->second->at == at) return;
  auto out = std::make_shared<Outbound>(io_);
  out->id = id;
  out->at = std::move(at);
  if (it != peers_.end()) {
    asio::error_code ignored;
    it->second->socket.close(ignored);
    it->second->timer.cancel();
  }
  peers_[id] = out;
  if (started_) Connect(out);
}

void PeerTransport::Start() {
  OpenListener(acceptor_, listen_, false);
  started_ = true;
  Accept();
  for (auto& [id, out] : peers_) Connect(out);
}

uint16_t PeerTransport::listen_port() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void PeerTransport::Stop() {
  if (*stopped_) return;
  *stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  for (auto& [id, out] : peers_) {
    out->socket.close(ec);
    out->timer.cancel();
  }
}

void PeerTransport::Send(const raft::Message& m) {
  auto it = peers_.find(m.to);
  if (it == peers_.end()) return;
  Outbound& out = *it->second;
  std::string body = raft::EncodeMessage(m);
  std::string frame(4, '\0');
  uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  frame += body;
  out.queue.push_back(std::move(frame));
  while (out.queue.size() > kMaxQueued) {
    out.queue.pop_front();
    ++stats_.dropped;
  }
  Flush(it->second);
}

void PeerTransport::Connect(const std::shared_ptr<Outbound>& out) {
  if (*stopped_ || out->connecting || out->connected) return;
  out->connecting = true;
  auto stopped = stopped_;
  if (!out->socket.is_open()) BindSource(out->socket, listen_.host);
  out->socket.async_connect(ToTcp(out->at), [this, out, stopped](const asio::error_code& ec) {
    if (*stopped) return;
    out->connecting = false;
    if (ec) {
      Broken(out);
      return;
    }
    asio::error_code ignored;
    out->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    out->connected = true;
    out->backoff_ms = 20;
    ++stats_.connects;
    Flush(out);
  });
}

void PeerTransport::Broken(const std::shared_ptr<Outbound>& out) {
  asio::error_code ignored;
  out->socket.close(ignored);
  out->connected = false;
  out->write_busy = false;
  out->writing.clear();
  if (*stopped_) return;
  out->timer.expires_after(std::chrono::milliseconds(out->backoff_ms));
  out->backoff_ms = std::min(out->backoff_ms * 2, 1000);
  auto stopped = stopped_;
  out->timer.async_wait([this, out, stopped](const asio::error_code& ec) {
    if (ec || *stopped) return;
    out->socket = asio::ip::tcp::socket(io_);
    Connect(out);
  });
}

void PeerTransport::Flush(const std::shared_ptr<Outbound>& out) {
  if (!out->connected) {
    Connect(out);
    return;
  }
  if (out->write_busy || out->queue.empty()) return;
  out->writing.clear();
  while (!out->queue.empty() && out->writing.size() < (8u << 20)) {
    out->writing += out->queue.front();
    out->queue.pop_front();
    ++stats_.sent;
  }
  stats_.max_buffer_bytes = std::max<uint64_t>(stats_.max_buffer_bytes, out->writing.size());
  out->write_busy = true;
  auto stopped = stopped_;
  asio::async_write(out->socket, asio::buffer(out->writing),
                    [this, out, stopped](const asio::error_code& ec, size_t) {
                      if (*stopped) return;
                      out->write_busy = false;
                      if (ec) {
                        Broken(out);
                        return;
                      }
                      Flush(out);
                    });
}

void PeerTransport::Accept() {
  auto stopped = stopped_;
  acceptor_.async_accept([this, stopped](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (*stopped) return;
    if (!ec) {
      asio::error_code ignored;
      s.set_option(asio::ip::tcp::no_delay(true), ignored);
      ReadFrames(std::make_shared<Inbound>(std::move(s)));
    }
    Accept();
  });
}

void PeerTransport::ReadFrames(const std::shared_ptr<Inbound>& in) {
  auto stopped = stopped_;
  in->socket.async_read_some(
      asio::buffer(in->chunk), [this, in, stopped](const asio::error_code& ec, size_t n) {
        if (*stopped || ec) return;
        in->buffer.append(in->chunk, n);
        stats_.max_buffer_bytes = std::max<uint64_t>(stats_.max_buffer_bytes, in->buffer.size());
        size_t pos = 0;
        while (in->buffer.size() - pos >= 4) {
          const auto* p = reinterpret_cast<const unsigned char*>(in->buffer.data() + pos);
          uint32_t len = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
          if (len > options_.max_frame_bytes) {
            ++stats_.decode_errors;
            LogWarn("store", "peer frame of {} bytes is over the limit; closing", len);
            return;
          }
          if (in->buffer.size() - pos - 4 < len) break;
          raft::Message m;
          std::string error;
          if (!raft::DecodeMessage(std::string_view(in->buffer).substr(pos + 4, len), &m, &error)) {
            ++stats_.decode_errors;
            LogWarn("store", "bad peer message ({}); closing the connection", error);
            return;
          }
          pos += 4 + len;
          ++stats_.received;
          on_message_(std::move(m));
          if (*stopped) return;
        }
        in->buffer.erase(0, pos);
        ReadFrames(in);
      });
}

}  // namespace nines::store
