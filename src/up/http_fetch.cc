// Blocking HTTP/1.1 requests with poll() deadlines (see http_fetch.h).
#include "up/http_fetch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace nines::up {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool WaitFd(int fd, short events, int64_t deadline_ms) {
  while (true) {
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

int ConnectSocket(const Endpoint& to, const std::string& source, int timeout_ms,
                  std::string* error) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      *error = fmt::format("bind {}: {}", source, std::strerror(errno));
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(to.port);
  inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
  int r = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r != 0 && errno != EINPROGRESS) {
    *error = fmt::format("connect {}: {}", to.ToString(), std::strerror(errno));
    close(fd);
    return -1;
  }
  if (r != 0) {
    if (!WaitFd(fd, POLLOUT, NowMs() + timeout_ms)) {
      *error = fmt::format("connect {}: timeout", to.ToString());
      close(fd);
      return -1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      *error = fmt::format("connect {}: {}", to.ToString(), std::strerror(err));
      close(fd);
      return -1;
    }
  }
  return fd;
}

size_t ContentLength(const std::string& head, bool* has) {
  *has = false;
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (head.size() - pos >= 15 && strncasecmp(head.c_str() + pos, "content-length:", 15) == 0) {
      *has = true;
      return std::strtoull(head.c_str() + pos + 15, nullptr, 10);
    }
  }
  return 0;
}

}  // namespace

HttpClient::HttpClient(Endpoint to, std::string source, int timeout_ms)
    : to_(std::move(to)), source_(std::move(source)), timeout_ms_(timeout_ms) {}

HttpClient::~HttpClient() {
  Close();
}

void HttpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool HttpClient::Connect(std::string* error) {
  if (fd_ >= 0) return true;
  fd_ = ConnectSocket(to_, source_, timeout_ms_, error);
  return fd_ >= 0;
}

FetchResult HttpClient::Request(const std::string& method, const std::string& path,
                                const std::string& body) {
  FetchResult result;
  bool reused = fd_ >= 0;
  if (!Connect(&result.error)) return result;
  int64_t deadline = NowMs() + timeout_ms_;
  std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n", method,
                                path, to_.ToString(), body.size());
  if (!body.empty()) req += "Content-Type: application/json\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFd(fd_, POLLOUT, deadline)) {
        result.error = "send timeout";
        Close();
        return result;
      }
      continue;
    }
    result.error = fmt::format("send: {}", std::strerror(errno));
    Close();
    if (reused) return Request(method, path, body);  // the server closed an idle connection
    return result;
  }
  std::string in;
  size_t head_end = std::string::npos;
  size_t need = 0;
  bool by_length = false;
  char buf[16384];
  while (true) {
    if (head_end == std::string::npos) {
      head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        need = ContentLength(in.substr(0, head_end + 2), &by_length);
        if (method == "HEAD") by_length = true, need = 0;
      }
    }
    if (head_end != std::string::npos && by_length && in.size() >= head_end + 4 + need) break;
    if (in.size() > kMaxResponseBytes) {
      result.error = "response too large";
      Close();
      return result;
    }
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, n);
      continue;
    }
    if (n == 0) {
      if (head_end != std::string::npos && !by_length) break;  // body until close
      Close();
      if (reused && in.empty()) return Request(method, path, body);
      result.error = "connection closed";
      return result;
    }
    if (errno == EAGAIN || errno == EINTR) {
      if (!WaitFd(fd_, POLLIN, deadline)) {
        result.error = "timeout";
        Close();
        return result;
      }
      continue;
    }
    result.error = fmt::format("recv: {}", std::strerror(errno));
    Close();
    return result;
  }
  // "HTTP/1.1 200 OK"
  if (in.size() < 12 || in.compare(0, 5, "HTTP/") != 0) {
    result.error = "not an HTTP response";
    Close();
    return result;
  }
  result.status = std::atoi(in.c_str() + 9);
  result.body = in.substr(head_end + 4, by_length ? need : std::string::npos);
  result.ok = true;
  std::string head = in.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!by_length || head.find("connection: close") != std::string::npos) Close();
  return result;
}

FetchResult HttpFetch(const Endpoint& to, const std::string& method, const std::string& path,
                      int timeout_ms, const std::string& body) {
  HttpClient client(to, "", timeout_ms);
  return client.Request(method, path, body);
}

bool TcpConnects(const Endpoint& to, int timeout_ms) {
  std::string error;
  int fd = ConnectSocket(to, "", timeout_ms, &error);
  if (fd < 0) return false;
  close(fd);
  return true;
}

}  // namespace nines::up
