// `nines store`: one member of the replicated key-value store as a process.
// StoreServer owns the io_context thread, the listeners (RESP2, HTTP), the
// peer transport, the tick timer and the signals, and drives a StoreNode (the
// Raft loop, pure of sockets and clocks): timer -> Tick, transport -> Step,
// posted drain -> Drain. The front ends use the node through the public
// interface below.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/simple_server.h"
#include "store/peer_transport.h"
#include "store/pubsub_registry.h"
#include "store/store_config.h"
#include "store/store_node.h"

namespace nines::store {

// Pub/Sub on this member, for /metrics.
struct PubSubCounters {
  uint64_t published = 0;            // PUBLISH commands run on this member
  uint64_t delivered = 0;            // messages pushed to this member's clients
  uint64_t output_limit_closes = 0;  // subscribers closed over their output limit
};

class StoreServer {
 public:
  using WriteDone = StoreNode::WriteDone;
  using ReadDone = StoreNode::ReadDone;

  explicit StoreServer(StoreConfig config);
  ~StoreServer();
  // Recovers from disk; an error names the file and offset (exit 1).
  Status Recover();
  // Binds the listeners (throws std::system_error) and starts the raft loop.
  void Start();
  // Runs until SIGTERM/SIGINT (after handing leadership over). Returns the exit status.
  int Run();

  // --- used by the front ends, on the loop thread (see StoreNode) ---
  StoreNode& node() { return *node_; }
  bool IsLeader() const { return node_->IsLeader(); }
  raft::NodeId leader() const { return node_->leader(); }
  const StoreMember* LeaderMember() const { return node_->LeaderMember(); }
  const StoreMember* MemberByRaftId(uint64_t id) const { return node_->MemberByRaftId(id); }
  bool ProposeWrite(std::string proposal, uint64_t* last_index, WriteDone done,
                    const RequestKey* dedup = nullptr) {
    return node_->ProposeWrite(std::move(proposal), last_index, std::move(done), dedup);
  }
  uint64_t SelfRaftId() const { return node_->SelfRaftId(); }
  uint64_t NextRequestId() { return node_->NextRequestId(); }
  bool StartRead(uint64_t min_index, ReadDone done) {
    return node_->StartRead(min_index, std::move(done));
  }
  void WhenLeaderKnown(int64_t deadline_ms, std::function<void(bool timed_out)> fn) {
    node_->WhenLeaderKnown(deadline_ms, std::move(fn));
  }
  int64_t NowMs() const { return node_->NowMs(); }
  int64_t WallMs() const { return node_->WallMs(); }
  int64_t RequestDeadline() const { return node_->RequestDeadline(); }
  const StoreConfig& config() const { return node_->config(); }
  const KvState& state() const { return node_->state(); }
  CommandContext Context() const { return node_->Context(); }
  StoreCounters& counters() { return node_->counters(); }
  uint64_t NextClientId() { return node_->NextClientId(); }
  void ConnectionOpened() { node_->ConnectionOpened(); }
  void ConnectionClosed() { node_->ConnectionClosed(); }
  asio::io_context& io() { return io_; }
  // Pub/Sub: this member's subscriptions; Publish delivers to them and sends
  // the message to every other member, and returns the local receivers.
  PubSubRegistry& pubsub() { return pubsub_; }
  PubSubCounters& pubsub_counters() { return pubsub_counters_; }
  size_t Publish(std::string_view channel, std::string_view message);

 private:
  void OnTick();
  void DrainNode();
  void SyncPeers();
  void AcceptClients();
  void HandleHttp(const http::Request& request, const http::Responder& respond);
  void HandleKv(const http::Request& request, const http::Responder& respond);
  void HandleMembers(const http::Request& request, const http::Responder& respond);
  std::string StatusJson() const;
  std::string MetricsText() const;

  StoreConfig config_;
  asio::io_context io_;
  std::unique_ptr<StoreNode> node_;
  std::unique_ptr<PeerTransport> transport_;
  std::unique_ptr<http::SimpleServer> http_;
  asio::ip::tcp::acceptor client_acceptor_;
  asio::steady_timer tick_timer_;
  asio::signal_set signals_;
  uint64_t http_auth_failures_ = 0;  // on io_'s thread, as every HTTP handler
  PubSubRegistry pubsub_;
  PubSubCounters pubsub_counters_;
};

}  // namespace nines::store
