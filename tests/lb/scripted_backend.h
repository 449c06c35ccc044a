// A raw TCP "server" for hostile-backend tests: it parses just enough of each
// request head to hand it to a test-supplied handler, which writes whatever
// bytes it likes (bad framing, junk, early replies, abrupt closes). Health
// checks (GET /healthz) are answered 200 without involving the handler.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nines::test {

struct ScriptedRequest {
  std::string head;  // request line and headers, up to and including CRLF CRLF
  std::string method;
  std::string path;
  size_t content_length = 0;
  std::string body;    // read before the handler runs when at most 64 KiB; else ""
  int connection = 0;  // 0-based accept order (health-check connections included)
  int index = 0;       // 0-based request number on this connection
};

class ScriptedBackend {
 public:
  // Returns false to close the connection after the reply.
  using Handler = std::function<bool(int fd, const ScriptedRequest& request)>;

  ScriptedBackend(const std::string& host, int port, Handler handler);
  ~ScriptedBackend();
  ScriptedBackend(const ScriptedBackend&) = delete;
  ScriptedBackend& operator=(const ScriptedBackend&) = delete;

  // Requests other than health checks seen so far.
  int requests() const { return requests_.load(); }
  // Heads of those requests, in arrival order.
  std::vector<std::string> heads();

  // Helpers for handlers.
  static bool SendAll(int fd, const std::string& bytes);
  // Reads exactly n body bytes (false on EOF or after 5 s).
  static bool ReadBody(int fd, size_t n, std::string* out);

 private:
  void AcceptLoop();
  void Serve(int fd, int connection);

  int listen_fd_ = -1;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> heads_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace nines::test
