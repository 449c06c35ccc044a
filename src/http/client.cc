// ClientConnection and the one-shot helpers: POSIX sockets, poll() deadlines,
// the project's response parser and chunked decoder.
#include "http/client.h"

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

#include "base/clock.h"
#include "base/config.h"

namespace nines::http {
namespace {

// Waits for `events` until the deadline; false on timeout or poll error.
bool WaitFd(int fd, short events, int64_t deadline) {
  while (true) {
    int64_t left = deadline - SteadyClock::Instance().NowMillis();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

enum class ReadResult { kData, kEof, kTimeout, kError };

// Appends what arrives before the deadline. A reset counts as EOF.
ReadResult ReadSome(int fd, std::string* out, int64_t deadline) {
  while (true) {
    if (!WaitFd(fd, POLLIN, deadline)) return ReadResult::kTimeout;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      return ReadResult::kData;
    }
    if (n == 0 || errno == ECONNRESET) return ReadResult::kEof;
    if (errno != EAGAIN && errno != EINTR) return ReadResult::kError;
  }
}

bool ParseAddress(const std::string& host, int port, sockaddr_in* out) {
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return port > 0 && port < 65536 && inet_pton(AF_INET, host.c_str(), &out->sin_addr) == 1;
}

bool IsBodyMethod(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

ClientConnection::~ClientConnection() {
  Close();
}

void ClientConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool ClientConnection::Connect(const std::string& host, int port, int timeout_ms,
                               const std::string& source) {
  Close();
  error_.clear();
  timed_out_ = false;
  std::string where = host + ":" + std::to_string(port);
  sockaddr_in to{};
  if (!ParseAddress(host, port, &to)) {
    error_ = "bad address " + where;
    return false;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto fail = [&](std::string why) {
    error_ = std::move(why);
    ::close(fd);
    return false;
  };
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1) {
      return fail("bad source address " + source);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
      return fail("bind " + source + ": " + std::strerror(errno));
    }
  }
  int64_t deadline = SteadyClock::Instance().NowMillis() + timeout_ms;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    if (errno != EINPROGRESS) return fail("connect " + where + ": " + std::strerror(errno));
    if (!WaitFd(fd, POLLOUT, deadline)) {
      timed_out_ = true;
      return fail("connect " + where + ": timeout");
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) return fail("connect " + where + ": " + std::strerror(so_error));
  }
  // Back to blocking mode: the client passes MSG_DONTWAIT itself, and tests
  // that drive fd() by hand expect an ordinary socket.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  fd_ = fd;
  return true;
}

bool ClientConnection::Send(std::string_view bytes, int timeout_ms) {
  if (fd_ < 0) {
    error_ = "not connected";
    return false;
  }
  timed_out_ = false;
  int64_t deadline = SteadyClock::Instance().NowMillis() + timeout_ms;
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFd(fd_, POLLOUT, deadline)) {
        timed_out_ = true;
        error_ = "send timeout";
        return false;
      }
    } else {
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

ClientResponse ClientConnection::Read(std::string_view method, int timeout_ms, size_t max_bytes) {
  ClientResponse result;
  if (fd_ < 0) {
    result.error = "not connected";
    return result;
  }
  int64_t deadline = SteadyClock::Instance().NowMillis() + timeout_ms;
  ResponseReader reader(method, max_bytes);
  while (true) {
    ResponseReader::Progress progress = reader.Consume(&buffer_, &result);
    if (progress != ResponseReader::Progress::kNeedMore) return result;
    ReadResult r = ReadSome(fd_, &buffer_, deadline);
    if (r == ReadResult::kData) continue;
    if (r == ReadResult::kEof) {
      reader.Closed(&buffer_, &result);
      return result;
    }
    result.timed_out = r == ReadResult::kTimeout;
    result.error = std::string(reader.phase()) +
                   (result.timed_out ? ": timeout" : std::string(": ") + std::strerror(errno));
    return result;
  }
}

ClientResponse ClientConnection::Request(const std::string& host, int port, std::string_view method,
                                         std::string_view path, std::string_view body,
                                         const ClientOptions& options) {
  std::string host_header = options.host.empty() ? host + ":" + std::to_string(port) : options.host;
  std::string request = BuildRequest(method, host_header, path, body, options);
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = fd_ >= 0;
    ClientResponse r;
    if (!reused && !Connect(host, port, options.timeout_ms, options.source)) {
      r.error = error_;
      r.timed_out = timed_out_;
      return r;
    }
    if (!Send(request, options.timeout_ms)) {
      r.error = error_;
      r.timed_out = timed_out_;
      Close();
      if (reused) continue;  // the server closed an idle connection
      return r;
    }
    r = Read(method, options.timeout_ms, options.max_response_bytes);
    if (!r.ok || r.closed) Close();
    if (!r.ok && reused && r.closed && r.status == 0) continue;  // closed before answering
    return r;
  }
  ClientResponse r;
  r.error = "connection closed before a response";
  return r;
}

std::string ClientConnection::ReadUntilClose(int timeout_ms, bool* closed) {
  int64_t deadline = SteadyClock::Instance().NowMillis() + timeout_ms;
  std::string out = std::move(buffer_);
  buffer_.clear();
  *closed = false;
  if (fd_ < 0) return out;
  while (true) {
    ReadResult r = ReadSome(fd_, &out, deadline);
    if (r == ReadResult::kEof) *closed = true;
    if (r != ReadResult::kData) break;
  }
  return out;
}

std::string BuildRequest(std::string_view method, std::string_view host_header,
                         std::string_view path, std::string_view body,
                         const ClientOptions& options) {
  std::string out;
  out.reserve(128 + options.headers.size() + body.size());
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  out.append(host_header).append("\r\n");
  bool has_body = !body.empty() || IsBodyMethod(method);
  if (has_body) {
    if (!options.content_type.empty()) {
      out.append("Content-Type: ").append(options.content_type).append("\r\n");
    }
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append(options.headers).append("\r\n").append(body);
  return out;
}

ClientResponse Fetch(const std::string& host, int port, std::string_view method,
                     std::string_view path, std::string_view body, const ClientOptions& options) {
  ClientConnection c;
  return c.Request(host, port, method, path, body, options);
}

ClientResponse FetchAddress(std::string_view address, std::string_view method,
                            std::string_view path, std::string_view body,
                            const ClientOptions& options) {
  Endpoint to;
  if (Status s = ParseEndpoint(address, &to); !s.ok()) {
    ClientResponse r;
    r.error = s.message();
    return r;
  }
  return Fetch(to.host, to.port, method, path, body, options);
}

ClientResponse Get(const std::string& host, int port, std::string_view path,
                   const ClientOptions& options) {
  return Fetch(host, port, "GET", path, "", options);
}

ClientResponse Post(const std::string& host, int port, std::string_view path, std::string_view body,
                    const ClientOptions& options) {
  return Fetch(host, port, "POST", path, body, options);
}

ClientResponse Exchange(const std::string& host, int port, std::string_view raw,
                        std::string_view method, int timeout_ms) {
  ClientConnection c;
  ClientResponse r;
  if (!c.Connect(host, port, timeout_ms) || !c.Send(raw, timeout_ms)) {
    r.error = c.error();
    return r;
  }
  return c.Read(method, timeout_ms);
}

bool TcpConnects(const std::string& host, int port, int timeout_ms) {
  ClientConnection c;
  return c.Connect(host, port, timeout_ms);
}

}  // namespace nines::http
