// The process around a store member: the io_context, listeners, peer
// transport, tick timer and signals that drive its StoreNode. See
// store_server.h.
#include "store/store_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>

#include "base/clock.h"
#include "base/log.h"
#include "net/tcp.h"
#include "store/fork_snapshot_runner.h"

namespace nines::store {

StoreServer::StoreServer(StoreConfig config)
    : config_(std::move(config)),
      client_acceptor_(io_),
      tick_timer_(io_),
      signals_(io_, SIGTERM, SIGINT) {
  StoreNodeEnv env;
  env.fs = PosixFileSystem();
  env.clock = &SteadyClock::Instance();
  env.wall = &SystemClock::Instance();
  env.send = [this](const raft::Message& m) { transport_->Send(m); };
  env.schedule_drain = [this] { asio::post(io_, [this] { DrainNode(); }); };
  const StoreMember* self = config_.Self();
  env.seed = self->raft_id * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(WallMillis());
  env.request_id_nonce = BootNonce();
  env.process_id = static_cast<int64_t>(::getpid());
  // Snapshots are written by a forked child and sent from their files.
  env.snapshot_runner = std::make_shared<ForkSnapshotRunner>();
  env.snapshots_sent_from_files = true;
  node_ = std::make_unique<StoreNode>(config_, std::move(env));
}

StoreServer::~StoreServer() = default;

size_t StoreServer::Publish(std::string_view channel, std::string_view message) {
  ++pubsub_counters_.published;
  const size_t local = pubsub_.Publish(channel, message);
  pubsub_counters_.delivered += local;
  if (transport_) transport_->Publish(channel, message);
  return local;
}

Status StoreServer::Recover() {
  return node_->Recover();
}

void StoreServer::Start() {
  PeerTransportOptions peer_options;
  peer_options.fs = PosixFileSystem();
  peer_options.snapshot_dir = JoinPath(config_.data_dir, "snap");
  peer_options.secret = config_.cluster_secret;
  peer_options.on_publish = [this](std::string_view channel, std::string_view message) {
    pubsub_counters_.delivered += pubsub_.Publish(channel, message);
  };
  if (config_.cluster_secret.empty() && config_.peer.host.rfind("127.", 0) != 0) {
    LogWarn("store",
            "the peer port {} takes Raft messages from anyone who can reach it: set "
            "cluster_secret_file (docs/store.md \"Security\")",
            config_.peer.ToString());
  }
  transport_ = std::make_unique<PeerTransport>(
      io_, config_.peer, [this](const raft::Message& m) { node_->Step(m); },
      std::move(peer_options));
  transport_->Start();
  SyncPeers();
  OpenListener(client_acceptor_, config_.client, false);
  AcceptClients();
  http::ServerOptions options;
  // A body no log entry can hold is refused from the request head (413), as
  // nginx's client_max_body_size is, instead of read whole and then refused.
  options.max_body_bytes =
      std::min<uint64_t>({config_.max_request_bytes, 64u << 20, StoreNode::MaxProposalBytes()});
  http_ = std::make_unique<http::SimpleServer>(
      io_, config_.http,
      [this](const http::Request& r, const http::Responder& respond) { HandleHttp(r, respond); },
      options);
  http_->Start();
  node_->CampaignIfAlone();
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    LogInfo("store", "signal {}: handing over leadership, then stopping", sig);
    node_->BeginShutdown();
  });
  OnTick();
  node_->RequestDrain();
}

int StoreServer::Run() {
  io_.run();
  (void)node_->Close();
  LogInfo("store", "stopped");
  return 0;
}

void StoreServer::OnTick() {
  if (node_->ShutdownDone()) {
    DrainNode();
    asio::error_code ignored;
    client_acceptor_.close(ignored);
    if (http_) http_->Stop();
    if (transport_) transport_->Stop();
    io_.stop();
    return;
  }
  node_->Tick();
  tick_timer_.expires_after(std::chrono::milliseconds(config_.tick_ms));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) OnTick();
  });
}

void StoreServer::DrainNode() {
  if (node_->Drain()) SyncPeers();
}

void StoreServer::SyncPeers() {
  for (const auto& [id, endpoint] : node_->Peers()) transport_->AddPeer(id, endpoint);
}

}  // namespace nines::store
