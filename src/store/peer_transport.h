// Raft messages between members over TCP: one persistent outbound connection
// per peer (reconnect with backoff, bounded queue dropping the oldest: Raft
// tolerates loss), frames as in peer_frame.h, queued frames written together.
// A snapshot goes as a start frame and then chunks of snapshot_chunk_bytes,
// one chunk per write, so no buffer grows with the snapshot. A snapshot
// message without data (StoreNode's, whose storage keeps the meta only) is
// streamed from its file in snapshot_dir, read one chunk at a time; the
// receiver
// stages the chunks in the snapshot directory and hands the InstallSnapshot
// message over only once the whole stream is there and verified. Inbound
// messages are handed to the caller's callback on the same io_context.
// Pub/Sub messages (Publish) share the connections but not the Raft queue:
// each peer has its own queue of them, bounded in bytes, written after the
// Raft frames. A message is sent at most once: one that finds its peer not
// connected, or its queue full, or is lost with a broken connection, is
// dropped and counted (Redis Cluster's bus drops them likewise).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/config.h"
#include "raft/types.h"
#include "store/file.h"
#include "store/peer_frame.h"

namespace nines::store {

struct PeerStats {
  uint64_t sent = 0;
  uint64_t dropped = 0;
  uint64_t received = 0;
  uint64_t decode_errors = 0;
  uint64_t connects = 0;
  uint64_t max_buffer_bytes = 0;    // the largest frame buffer built or read so far
  uint64_t snapshots_sent = 0;      // streams written to the end
  uint64_t snapshots_received = 0;  // streams complete and verified
  uint64_t snapshot_errors = 0;     // streams refused (bad chunk, checksum, size, disk)
  uint64_t auth_failures = 0;       // inbound connections refused: no or wrong cluster secret
  uint64_t publish_sent = 0;        // Pub/Sub messages written to a peer
  uint64_t publish_dropped = 0;     // not sent: peer not connected, queue full, connection lost
  uint64_t publish_received = 0;    // Pub/Sub messages from peers
};

struct PeerTransportOptions {
  uint64_t max_frame_bytes = 512u << 20;     // larger inbound frames close the connection
  uint64_t snapshot_chunk_bytes = 1u << 20;  // snapshot data per frame
  uint64_t max_snapshot_bytes = 1ull << 40;  // larger snapshots are refused
  FileSystem* fs = nullptr;                  // where received snapshots are staged
  std::string snapshot_dir;
  // The cluster secret (store.toml cluster_secret_file): when set, every
  // connection starts with a challenge-response proving the peer knows it.
  std::string secret;
  // Pub/Sub messages a peer sent (kPublish), on the io_context; none: dropped.
  std::function<void(std::string_view channel, std::string_view message)> on_publish;
  uint64_t max_publish_queue_bytes = 64u << 20;  // per peer; beyond it messages are dropped
};

// Opens `socket` bound to `host` (port 0) so outgoing connections leave from
// this member's own address: per-member firewall rules (iptables on loopback,
// `nines up` isolation) then match them. No-op for 0.0.0.0 or a failed bind.
void BindSource(asio::ip::tcp::socket& socket, const std::string& host);

class PeerTransport {
 public:
  using OnMessage = std::function<void(raft::Message)>;
  static constexpr size_t kMaxQueued = 4096;
  static constexpr int kHandshakeMs = 2000;  // wait for a challenge at most this long

  PeerTransport(asio::io_context& io, Endpoint listen, OnMessage on_message,
                PeerTransportOptions options = {});
  ~PeerTransport();
  // Adds (or re-addresses) a peer; after Start it connects at once.
  void AddPeer(raft::NodeId id, Endpoint at);
  bool HasPeer(raft::NodeId id) const { return peers_.count(id) != 0; }
  void Start();                  // binds the listener; throws std::system_error naming the address
  uint16_t listen_port() const;  // the bound port (after Start)
  void Stop();
  void Send(const raft::Message& m);
  // Sends one PUBLISH to every peer (each delivers it to its own subscribers).
  void Publish(std::string_view channel, std::string_view message);
  const PeerStats& stats() const { return stats_; }
  // Bytes of snapshot data held for the streams in progress (each distinct
  // buffer counted once).
  uint64_t SnapshotBytesHeld() const;

 private:
  struct Outbound;
  struct Inbound;
  void Accept();
  void Connect(const std::shared_ptr<Outbound>& out);
  void Flush(const std::shared_ptr<Outbound>& out);
  void Broken(const std::shared_ptr<Outbound>& out);
  void Connected(const std::shared_ptr<Outbound>& out);
  void AnswerChallenge(const std::shared_ptr<Outbound>& out);
  void SendChallenge(const std::shared_ptr<Inbound>& in);
  void RefuseUnauthenticated(Inbound& in, std::string_view why);
  void ReadFrames(const std::shared_ptr<Inbound>& in);
  // One inbound frame; false closes the connection.
  bool HandleFrame(Inbound& in, FrameKind kind, std::string_view body);
  void QueueSnapshot(Outbound& out, const raft::Message& m);
  bool FinishSnapshot(Inbound& in);

  asio::io_context& io_;
  Endpoint listen_;
  OnMessage on_message_;
  PeerTransportOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<raft::NodeId, std::shared_ptr<Outbound>> peers_;
  std::shared_ptr<bool> stopped_;
  bool started_ = false;
  PeerStats stats_;
};

}  // namespace nines::store
