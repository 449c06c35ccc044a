// TCP transport for Raft messages; see peer_transport.h.
#include "store/peer_transport.h"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <optional>
#include <set>

#include "base/log.h"
#include "base/secret.h"
#include "net/tcp.h"
#include "raft/codec.h"
#include "store/crc32c.h"
#include "store/snapshot_file.h"
#include "store/snapshot_receiver.h"

namespace nines::store {

struct PeerTransport::Outbound {
  explicit Outbound(asio::io_context& io) : socket(io), timer(io) {}
  raft::NodeId id = 0;
  Endpoint at;
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  std::deque<std::string> queue;  // encoded frames
  // Pub/Sub frames, and their bytes (bounded by max_publish_queue_bytes).
  std::deque<std::string> publish_queue;
  uint64_t publish_bytes = 0;
  std::string writing;    // frames being written
  std::string handshake;  // the kAuth frame, written before anything else
  char challenge[kFrameHeaderBytes + kChallengeBytes];
  // The snapshot being streamed: its start frame, then its data in chunks.
  // A broken connection starts it over; a newer snapshot replaces it.
  struct SnapshotStream {
    raft::Term term = 0;  // of the message
    raft::SnapshotMeta meta;
    std::string start;
    // The content: in memory (a message that carries it), or its file
    // (a message with the meta only: snapshot_dir's file, read chunk by
    // chunk). Either is shared by every peer streaming the same snapshot.
    std::shared_ptr<const std::string> data;
    std::shared_ptr<const SnapshotStreamSource> file;
    uint64_t size = 0;
    uint64_t offset = 0;
    uint32_t crc = 0;  // of the content
    bool started = false;
  };
  std::string chunk;  // the piece read from a snapshot file
  std::optional<SnapshotStream> snapshot;
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
  std::unique_ptr<SnapshotReceiver> snapshot;  // the stream being received, if any
  raft::Message snapshot_message;              // its InstallSnapshot message
  bool authenticated = true;                   // false until kAuth checks (with a secret)
  std::string challenge;                       // the random bytes sent in kChallenge
  std::string challenge_frame;                 // kept alive while it is written
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
  try {
    Stop();
  } catch (const std::exception& e) {
    LogError("store", "stopping the peer transport: {}", e.what());
  }
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
  if (options_.fs && !options_.snapshot_dir.empty()) {
    Status s = RemoveIncomingSnapshots(options_.fs, options_.snapshot_dir);
    if (!s.ok() && s.code() != Status::Code::kNotFound) {
      LogWarn("store", "removing unfinished incoming snapshots: {}", s.ToString());
    }
  }
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
  if (m.type == raft::MessageType::kSnapshot) {
    QueueSnapshot(out, m);
    Flush(it->second);
    return;
  }
  std::string body = raft::EncodeMessage(m);
  if (body.size() + 1 > options_.max_frame_bytes) {
    ++stats_.dropped;
    LogWarn("store", "raft message of {} bytes is over the frame limit; dropped", body.size());
    return;
  }
  std::string frame;
  frame.reserve(kFrameHeaderBytes + body.size());
  AppendFrame(FrameKind::kMessage, body, &frame);
  out.queue.push_back(std::move(frame));
  while (out.queue.size() > kMaxQueued) {
    out.queue.pop_front();
    ++stats_.dropped;
  }
  Flush(it->second);
}

void PeerTransport::Publish(std::string_view channel, std::string_view message) {
  if (peers_.empty()) return;
  std::string frame;
  std::string body = EncodePublish(channel, message);
  if (body.size() + 1 > options_.max_frame_bytes) {
    stats_.publish_dropped += peers_.size();
    return;
  }
  AppendFrame(FrameKind::kPublish, body, &frame);
  for (auto& [id, out] : peers_) {
    // Not connected: dropped now rather than delivered late, after a reconnect.
    if (!out->connected || out->publish_bytes + frame.size() > options_.max_publish_queue_bytes) {
      ++stats_.publish_dropped;
      if (!out->connected) Connect(out);
      continue;
    }
    out->publish_bytes += frame.size();
    out->publish_queue.push_back(frame);
    Flush(out);
  }
}

uint64_t PeerTransport::SnapshotBytesHeld() const {
  std::set<const void*> seen;
  uint64_t total = 0;
  for (const auto& [id, out] : peers_) {
    if (out->snapshot && out->snapshot->data && seen.insert(out->snapshot->data.get()).second) {
      total += out->snapshot->data->size();
    }
  }
  return total;
}

void PeerTransport::QueueSnapshot(Outbound& out, const raft::Message& m) {
  if (out.snapshot && out.snapshot->term == m.term && out.snapshot->meta == m.snapshot.meta) {
    return;  // Raft's retry of the snapshot being streamed: restarting would never finish
  }
  Outbound::SnapshotStream s;
  s.term = m.term;
  s.meta = m.snapshot.meta;
  const bool from_file = m.snapshot.data.empty() && options_.fs && !options_.snapshot_dir.empty();
  // Another peer's stream of the same snapshot shares its content (and CRC).
  for (const auto& [id, other] : peers_) {
    const auto& o = other->snapshot;
    if (!o || o->meta.index != m.snapshot.meta.index || o->meta.term != m.snapshot.meta.term) {
      continue;
    }
    if (from_file ? o->file != nullptr : (o->data && *o->data == m.snapshot.data)) {
      s.data = o->data;
      s.file = o->file;
      s.size = o->size;
      s.crc = o->crc;
      break;
    }
  }
  if (!s.data && !s.file) {
    if (from_file) {
      auto source = std::make_shared<SnapshotStreamSource>();
      const std::string path = JoinPath(
          options_.snapshot_dir, SnapshotFileName({m.snapshot.meta.index, m.snapshot.meta.term}));
      Status status = OpenSnapshotStream(options_.fs, path, source.get());
      if (!status.ok()) {
        ++stats_.snapshot_errors;
        LogWarn("store", "cannot send snapshot: {}", status.ToString());
        return;  // Raft sends it again later
      }
      s.size = source->content_bytes;
      s.crc = source->content_crc;
      s.file = std::move(source);
    } else {
      s.data = std::make_shared<const std::string>(m.snapshot.data);
      s.size = s.data->size();
      s.crc = crc32c::Value(*s.data);
    }
  }
  AppendFrame(FrameKind::kSnapshotStart, EncodeSnapshotStart(m, s.size, s.crc), &s.start);
  out.snapshot = std::move(s);  // a different snapshot replaces one in progress
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
    if (options_.secret.empty()) {
      Connected(out);
    } else {
      AnswerChallenge(out);
    }
  });
}

void PeerTransport::Connected(const std::shared_ptr<Outbound>& out) {
  out->connected = true;
  out->backoff_ms = 20;
  ++stats_.connects;
  Flush(out);
}

// Reads the accepting member's challenge (bounded by kHandshakeMs: a member
// without a secret sends none) and queues the answer ahead of every frame.
void PeerTransport::AnswerChallenge(const std::shared_ptr<Outbound>& out) {
  auto stopped = stopped_;
  out->connecting = true;
  out->timer.expires_after(std::chrono::milliseconds(kHandshakeMs));
  out->timer.async_wait([out, stopped](const asio::error_code& ec) {
    if (ec || *stopped) return;
    asio::error_code ignored;
    out->socket.close(ignored);  // the read below fails and reconnects
  });
  asio::async_read(out->socket, asio::buffer(out->challenge),
                   [this, out, stopped](const asio::error_code& ec, size_t) {
                     if (*stopped) return;
                     out->timer.cancel();
                     out->connecting = false;
                     uint32_t len = 0;
                     FrameKind kind = FrameKind::kMessage;
                     std::string_view bytes(out->challenge, sizeof(out->challenge));
                     if (ec || !PeekFrame(bytes, &len, &kind) || kind != FrameKind::kChallenge ||
                         len != 1 + kChallengeBytes) {
                       LogWarn("store", "peer {}: no cluster-secret challenge ({}); reconnecting",
                               out->at.ToString(), ec ? ec.message() : "unexpected bytes");
                       Broken(out);
                       return;
                     }
                     out->handshake.clear();
                     AppendFrame(FrameKind::kAuth,
                                 PeerAuthAnswer(options_.secret, bytes.substr(kFrameHeaderBytes)),
                                 &out->handshake);
                     Connected(out);
                   });
}

void PeerTransport::Broken(const std::shared_ptr<Outbound>& out) {
  asio::error_code ignored;
  out->socket.close(ignored);
  out->connected = false;
  out->write_busy = false;
  out->writing.clear();
  // Pub/Sub messages not written yet are dropped (at most once, never late).
  stats_.publish_dropped += out->publish_queue.size();
  out->publish_queue.clear();
  out->publish_bytes = 0;
  if (out->snapshot) {
    out->snapshot->offset = 0;  // the receiver dropped the stream with the connection
    out->snapshot->started = false;
  }
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
  if (out->write_busy || (out->queue.empty() && out->publish_queue.empty() && !out->snapshot &&
                          out->handshake.empty())) {
    return;
  }
  out->writing.clear();
  out->writing.swap(out->handshake);  // the answer to the challenge goes first
  while (!out->queue.empty() && out->writing.size() < (8u << 20)) {
    out->writing += out->queue.front();
    out->queue.pop_front();
    ++stats_.sent;
  }
  while (!out->publish_queue.empty() && out->writing.size() < (8u << 20)) {
    out->publish_bytes -= out->publish_queue.front().size();
    out->writing += out->publish_queue.front();
    out->publish_queue.pop_front();
    ++stats_.publish_sent;
  }
  if (out->snapshot) {
    // One piece of the snapshot per write: the start frame, then a chunk.
    Outbound::SnapshotStream& s = *out->snapshot;
    if (!s.started) {
      out->writing += s.start;
      s.started = true;
    }
    if (s.offset < s.size) {
      uint64_t n = std::min<uint64_t>(options_.snapshot_chunk_bytes, s.size - s.offset);
      std::string_view piece;
      if (s.data) {
        piece = std::string_view(*s.data).substr(s.offset, n);
      } else if (Status status = s.file->ReadContent(s.offset, n, &out->chunk); status.ok()) {
        piece = out->chunk;
      } else {
        // The receiver drops the unfinished stream; Raft sends the snapshot again.
        ++stats_.snapshot_errors;
        LogWarn("store", "reading a snapshot to send failed: {}", status.ToString());
        out->snapshot.reset();
        Broken(out);
        return;
      }
      AppendFrame(FrameKind::kSnapshotChunk, EncodeSnapshotChunk(s.offset, piece), &out->writing);
      s.offset += n;
    }
    if (s.offset == s.size) {
      out->snapshot.reset();
      ++stats_.snapshots_sent;
    }
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
      auto in = std::make_shared<Inbound>(std::move(s));
      if (!options_.secret.empty()) SendChallenge(in);
      ReadFrames(in);
    }
    Accept();
  });
}

void PeerTransport::SendChallenge(const std::shared_ptr<Inbound>& in) {
  in->authenticated = false;
  in->challenge = RandomBytes(kChallengeBytes);
  AppendFrame(FrameKind::kChallenge, in->challenge, &in->challenge_frame);
  asio::async_write(in->socket, asio::buffer(in->challenge_frame),
                    [in](const asio::error_code&, size_t) {});  // a failure shows on read
}

void PeerTransport::ReadFrames(const std::shared_ptr<Inbound>& in) {
  auto stopped = stopped_;
  in->socket.async_read_some(
      asio::buffer(in->chunk), [this, in, stopped](const asio::error_code& ec, size_t n) {
        if (*stopped || ec) return;
        in->buffer.append(in->chunk, n);
        stats_.max_buffer_bytes = std::max<uint64_t>(stats_.max_buffer_bytes, in->buffer.size());
        size_t pos = 0;
        uint32_t len = 0;
        FrameKind kind = FrameKind::kMessage;
        while (PeekFrame(std::string_view(in->buffer).substr(pos), &len, &kind)) {
          if (!in->authenticated && (kind != FrameKind::kAuth || len != 1 + kAuthBytes)) {
            // Before the answer to the challenge, nothing else is read (or buffered).
            RefuseUnauthenticated(*in, "a frame before the cluster-secret answer");
            return;
          }
          if (len == 0 || len > options_.max_frame_bytes) {
            ++stats_.decode_errors;
            LogWarn("store", "peer frame of {} bytes is outside the limit; closing", len);
            return;
          }
          if (in->buffer.size() - pos - 4 < len) break;
          std::string_view body = std::string_view(in->buffer).substr(pos + 5, len - 1);
          pos += 4 + len;
          if (!HandleFrame(*in, kind, body)) return;
          if (*stopped) return;
        }
        in->buffer.erase(0, pos);
        ReadFrames(in);
      });
}

void PeerTransport::RefuseUnauthenticated(Inbound& in, std::string_view why) {
  ++stats_.auth_failures;
  asio::error_code ec;
  asio::ip::tcp::endpoint remote = in.socket.remote_endpoint(ec);
  LogWarn("store", "peer connection from {}:{} refused: {} (cluster_secret_file differs?)",
          ec ? "?" : remote.address().to_string(), ec ? 0 : remote.port(), why);
  in.socket.close(ec);
}

bool PeerTransport::HandleFrame(Inbound& in, FrameKind kind, std::string_view body) {
  std::string error;
  if (!in.authenticated) {  // ReadFrames let only a kAuth frame of the right size through
    if (!SecretEquals(body, PeerAuthAnswer(options_.secret, in.challenge))) {
      RefuseUnauthenticated(in, "wrong answer to the cluster-secret challenge");
      return false;
    }
    in.authenticated = true;
    return true;
  }
  switch (kind) {
    case FrameKind::kMessage: {
      raft::Message m;
      if (Status s = raft::DecodeMessage(body, &m); !s.ok()) {
        error = s.message();
        break;
      }
      ++stats_.received;
      on_message_(std::move(m));
      return true;
    }
    case FrameKind::kPublish: {
      std::string_view channel;
      std::string_view message;
      if (Status s = DecodePublish(body, &channel, &message); !s.ok()) {
        error = s.message();
        break;
      }
      ++stats_.publish_received;
      if (options_.on_publish) options_.on_publish(channel, message);
      return true;
    }
    case FrameKind::kSnapshotStart: {
      SnapshotStart start;
      if (Status s = DecodeSnapshotStart(body, &start); !s.ok()) {
        error = s.message();
        break;
      }
      if (!options_.fs || options_.snapshot_dir.empty()) {
        error = "this member takes no snapshots over this connection";
        break;
      }
      if (!in.snapshot) {
        in.snapshot = std::make_unique<SnapshotReceiver>(options_.fs, options_.snapshot_dir,
                                                         options_.max_snapshot_bytes);
      }
      Status s = in.snapshot->Begin(start.total, start.crc);
      if (!s.ok()) {
        error = s.ToString();
        break;
      }
      in.snapshot_message = std::move(start.message);
      if (start.total > 0) return true;
      return FinishSnapshot(in);
    }
    case FrameKind::kSnapshotChunk: {
      SnapshotChunk chunk;
      if (Status s = DecodeSnapshotChunk(body, &chunk); !s.ok()) {
        error = s.message();
        break;
      }
      if (!in.snapshot || !in.snapshot->active()) {
        error = "snapshot chunk without a start frame";
        break;
      }
      Status s = in.snapshot->Add(chunk.offset, chunk.bytes, chunk.crc);
      if (!s.ok()) {
        error = s.ToString();
        break;
      }
      if (!in.snapshot->complete()) return true;
      return FinishSnapshot(in);
    }
    default:
      error = "unknown frame kind " + std::to_string(static_cast<int>(kind));
  }
  if (kind != FrameKind::kMessage && kind != FrameKind::kPublish) ++stats_.snapshot_errors;
  ++stats_.decode_errors;
  if (in.snapshot) in.snapshot->Abort();
  LogWarn("store", "bad peer frame ({}); closing the connection", error);
  return false;
}

bool PeerTransport::FinishSnapshot(Inbound& in) {
  std::string data;
  Status s = in.snapshot->Finish(&data);
  if (!s.ok()) {
    ++stats_.snapshot_errors;
    ++stats_.decode_errors;
    LogWarn("store", "incoming snapshot refused: {}; closing the connection", s.ToString());
    return false;
  }
  raft::Message m = std::move(in.snapshot_message);
  m.snapshot.data = std::move(data);
  ++stats_.received;
  ++stats_.snapshots_received;
  on_message_(std::move(m));
  return true;
}

}  // namespace nines::store
