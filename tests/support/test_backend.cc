// A small HTTP server for integration tests and benchmarks: answers with its
// name, can be told to fail health checks, answer any status, answer slowly,
// echo what it received, and counts the requests it saw.
//
//   test_backend --listen 127.0.0.1:PORT --name NAME
//   GET /healthz          200 "ok" (503 after POST /admin/unhealthy)
//   GET /status/NNN       answers NNN
//   GET /slow?ms=N        answers after N ms
//   GET /maxinflight      the most /slow requests served at once
//   ANY /echo             200, body = request body, X-Body-Length
//   GET /headers          the request head as received
//   GET /count            number of requests (other than /healthz and /count)
//   --fail-status N       every request but /healthz and /count is answered N
//   --delay-ms N          every other request is answered 200 after N ms (a slow server)
//   anything else         200 "NAME\n" with X-Server: NAME
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "http/simple_server.h"

using namespace nines;

int main(int argc, char** argv) {
  std::string listen, name = "backend";
  int fail_status = 0;  // --fail-status N: every request but health checks gets N
  int delay_ms = 0;     // --delay-ms N: every request but health checks waits N ms
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen") listen = argv[i + 1];
    if (flag == "--name") name = argv[i + 1];
    if (flag == "--fail-status") fail_status = std::atoi(argv[i + 1]);
    if (flag == "--delay-ms") delay_ms = std::atoi(argv[i + 1]);
  }
  Endpoint at;
  if (Status s = ParseEndpoint(listen, &at); !s.ok()) {
    std::fprintf(stderr, "test_backend: %s\n", s.message().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  std::atomic<uint64_t> count{0};
  std::atomic<bool> healthy{true};
  std::atomic<int> inflight{0};      // /slow requests being served now
  std::atomic<int> max_inflight{0};  // the most at once
  http::ServerOptions options;
  options.max_body_bytes = 64 << 20;
  http::SimpleServer server(
      io, at,
      [&](const http::Request& req, http::Responder respond) {
        if (req.path == "/healthz") {
          return respond(http::Response::Text(healthy ? 200 : 503, healthy ? "ok\n" : "sick\n"));
        }
        if (req.path == "/maxinflight") {
          return respond(http::Response::Text(200, std::to_string(max_inflight.load()) + "\n"));
        }
        if (req.path == "/count") {
          return respond(http::Response::Text(200, std::to_string(count.load()) + "\n"));
        }
        if (req.path == "/admin/unhealthy") {
          healthy = false;
          return respond(http::Response::Text(200, "ok\n"));
        }
        if (req.path == "/admin/healthy") {
          healthy = true;
          return respond(http::Response::Text(200, "ok\n"));
        }
        count.fetch_add(1);
        if (fail_status != 0) return respond(http::Response::Text(fail_status, name + "\n"));
        if (delay_ms != 0) {
          auto timer =
              std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(delay_ms));
          timer->async_wait([timer, respond, name](std::error_code) {
            http::Response r = http::Response::Text(200, name + "\n");
            r.headers.emplace_back("X-Server", name);
            respond(r);
          });
          return;
        }
        if (req.path.rfind("/status/", 0) == 0) {
          int status = std::atoi(req.path.c_str() + 8);
          return respond(http::Response::Text(status, name + "\n"));
        }
        if (req.path == "/slow") {
          int ms = std::atoi(req.QueryParam("ms").c_str());
          int now = ++inflight;
          int seen = max_inflight.load();
          while (now > seen && !max_inflight.compare_exchange_weak(seen, now)) {
          }
          auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(ms));
          timer->async_wait([timer, respond, name, &inflight](std::error_code) {
            --inflight;
            respond(http::Response::Text(200, name + "\n"));
          });
          return;
        }
        if (req.path == "/bytes") {  // a long download: n bytes of 'x'
          size_t n = std::strtoull(req.QueryParam("n").c_str(), nullptr, 10);
          return respond(
              http::Response::Text(200, std::string(std::min<size_t>(n, 256 << 20), 'x')));
        }
        if (req.path == "/echo") {
          http::Response r = http::Response::Text(200, req.body);
          r.headers.emplace_back("X-Body-Length", std::to_string(req.body.size()));
          r.headers.emplace_back("X-Server", name);
          return respond(r);
        }
        if (req.path == "/headers") {
          std::string text = req.method + " " + req.target + "\n";
          for (const auto& [k, v] : req.headers) text += k + ": " + v + "\n";
          return respond(http::Response::Text(200, text));
        }
        http::Response r = http::Response::Text(200, name + "\n");
        r.headers.emplace_back("X-Server", name);
        respond(r);
      },
      options);
  try {
    server.Start();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "test_backend: %s\n", e.what());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  io.run();
  return 0;
}
