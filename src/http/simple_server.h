// A small HTTP/1.1 server for control planes and APIs (admin /status and
// /metrics, the store's HTTP API, the app, the dashboard): whole requests
// with bounded bodies, keep-alive, timeouts and a connection cap. The data
// path of the load balancer does not use it.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/config.h"
#include "base/metrics.h"

namespace nines::http {

struct Request {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // target without the query, percent-decoding not applied
  std::string query;   // after '?', or ""
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // peer address

  // First header value with this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
  // Value of query parameter `key` (no decoding), or "".
  std::string QueryParam(std::string_view key) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
};

// The JSON error reply every API in nines answers with: {"error":"message"},
// then the members of `fields` (see JsonErrorBody in http/response.h).
Response JsonError(int status, std::string_view message);
Response JsonError(int status, std::string_view message, const nlohmann::json& fields);

// The handler answers through `respond`, now or later (on the server's loop
// or any thread: the server posts the write to its loop).
using Responder = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Responder respond)>;

struct ServerOptions {
  size_t max_connections = 1024;
  size_t max_body_bytes = 1 << 20;
  int header_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
};

class SimpleServer {
 public:
  SimpleServer(asio::io_context& io, Endpoint at, Handler handler, ServerOptions options = {});
  ~SimpleServer();
  // Binds and starts accepting; throws std::system_error naming the address.
  // Port 0 binds an ephemeral port; endpoint() then tells which.
  void Start();
  void Stop();
  const Endpoint& endpoint() const { return at_; }
  size_t connections() const { return connections_->load(); }
  // Failed accepts so far (descriptors exhausted, ...).
  uint64_t accept_errors() const { return accept_errors_->load(); }
  // Publishes nines_http_accept_errors_total{listen="HOST:PORT"} in `registry`
  // (call after Start, so the label carries the bound port).
  void ExportMetrics(MetricsRegistry& registry) const;

  // While accept fails for lack of descriptors or memory (EMFILE, ENFILE,
  // ENOBUFS, ENOMEM) the server pauses accepting for this long rather than
  // spin; the pending connections wait in the kernel's backlog.
  static constexpr int kAcceptBackoffMs = 100;

 private:
  class Connection;
  void Accept();
  void OnAcceptError(const std::error_code& ec);

  asio::io_context& io_;
  Endpoint at_;
  Handler handler_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::atomic<size_t>> connections_;
  std::shared_ptr<std::atomic<bool>> stopped_;
  std::shared_ptr<std::atomic<uint64_t>> accept_errors_;
  asio::steady_timer accept_backoff_;
  bool in_accept_error_burst_ = false;  // logged once per burst of failures
};

}  // namespace nines::http
