// Thread-per-connection scripted server; every wait is a bounded poll so the
// destructor can stop it promptly.
#include "lb/scripted_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace nines::test {

namespace {

// Waits up to 100 ms for `fd` to be readable.
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 100) > 0;
}

constexpr size_t kAutoBody = 65536;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ScriptedBackend::ScriptedBackend(const std::string& host, int port, Handler handler)
    : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    close(listen_fd_);
    throw std::runtime_error("scripted backend cannot listen on " + host);
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

ScriptedBackend::~ScriptedBackend() {
  stop_ = true;
  acceptor_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (std::thread& t : threads_) t.join();
  close(listen_fd_);
}

std::vector<std::string> ScriptedBackend::heads() {
  std::lock_guard<std::mutex> lock(mu_);
  return heads_;
}

bool ScriptedBackend::SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool ScriptedBackend::ReadBody(int fd, size_t n, std::string* out) {
  for (int waits = 0; out->size() < n && waits < 50;) {
    if (!Readable(fd)) {
      ++waits;
      continue;
    }
    char buf[65536];
    ssize_t got = recv(fd, buf, std::min(sizeof(buf), n - out->size()), 0);
    if (got <= 0) return false;
    out->append(buf, static_cast<size_t>(got));
  }
  return out->size() == n;
}

void ScriptedBackend::AcceptLoop() {
  int connection = 0;
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, fd, c = connection++] { Serve(fd, c); });
  }
}

void ScriptedBackend::Serve(int fd, int connection) {
  std::string buffer;
  for (int index = 0; !stop_;) {
    size_t end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (!Readable(fd)) continue;
      char buf[65536];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      buffer.append(buf, static_cast<size_t>(n));
      continue;
    }
    ScriptedRequest request;
    request.head = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);
    size_t sp1 = request.head.find(' ');
    size_t sp2 = request.head.find(' ', sp1 + 1);
    request.method = request.head.substr(0, sp1);
    request.path = request.head.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string lower = Lower(request.head);
    size_t cl = lower.find("\r\ncontent-length:");
    if (cl != std::string::npos)
      request.content_length = std::strtoul(&lower[cl + 17], nullptr, 10);
    request.connection = connection;
    request.index = index++;
    if (request.path == "/healthz") {
      if (!SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")) break;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      heads_.push_back(request.head);
    }
    ++requests_;
    if (request.content_length <= kAutoBody) {
      // Small bodies are read here; large ones are left to the handler (or unread).
      size_t have = std::min(buffer.size(), request.content_length);
      request.body = buffer.substr(0, have);
      buffer.erase(0, have);
      if (!ReadBody(fd, request.content_length, &request.body)) break;
    }
    if (!handler_(fd, request)) break;
    if (request.content_length > kAutoBody) buffer.clear();
  }
  close(fd);
}

}  // namespace nines::test
