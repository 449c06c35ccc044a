// BlockingHttp: POSIX sockets with poll() deadlines, the project's response
// parser for the head, Content-Length / chunked / until-close bodies.
#include "drill/blocking_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "http/parser.h"

namespace nines::drill {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool WaitFor(int fd, short events, int64_t deadline) {
  int64_t left = deadline - NowMs();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left)) > 0;
}

// Decodes a complete chunked body; false while incomplete or malformed.
bool Dechunk(std::string_view raw, std::string* out) {
  out->clear();
  while (true) {
    size_t eol = raw.find("\r\n");
    if (eol == std::string_view::npos) return false;
    std::string size_text(raw.substr(0, eol));
    size_t size = std::strtoul(size_text.c_str(), nullptr, 16);
    raw.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (raw.size() < size + 2) return false;
    out->append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string HostPortOfUrl(const std::string& url) {
  std::string s = url;
  if (s.rfind("http://", 0) == 0) s = s.substr(7);
  size_t slash = s.find('/');
  if (slash != std::string::npos) s = s.substr(0, slash);
  if (s.find(':') == std::string::npos) return "";
  return s;
}

HttpReply BlockingHttp(const std::string& host_port, const std::string& method,
                       const std::string& path, const std::string& body, int timeout_ms,
                       const std::string& source_ip) {
  HttpReply reply;
  int64_t deadline = NowMs() + timeout_ms;
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    reply.error = "bad address " + host_port;
    return reply;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    reply.error = "bad address " + host_port;
    return reply;
  }
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    reply.error = std::string("socket: ") + std::strerror(errno);
    return reply;
  }
  if (!source_ip.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (inet_pton(AF_INET, source_ip.c_str(), &from.sin_addr) != 1 ||
        ::bind(s.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
      reply.error = "cannot bind " + source_ip + ": " + std::strerror(errno);
      return reply;
    }
  }
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 && errno != EINPROGRESS) {
    reply.error = "connect " + host_port + ": " + std::strerror(errno);
    return reply;
  }
  if (!WaitFor(s.fd, POLLOUT, deadline)) {
    reply.error = "connect " + host_port + ": timeout";
    return reply;
  }
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) {
    reply.error = "connect " + host_port + ": " + std::strerror(so_error);
    return reply;
  }
  std::string request =
      method + " " + path + " HTTP/1.1\r\nHost: " + host_port + "\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!WaitFor(s.fd, POLLOUT, deadline)) {
        reply.error = "send timeout";
        return reply;
      }
    } else {
      reply.error = std::string("send: ") + std::strerror(errno);
      return reply;
    }
  }
  std::string data;
  constexpr size_t kMaxResponse = 16 << 20;
  http::Limits limits;
  http::ResponseHead head;
  bool have_head = false;
  bool eof = false;
  while (true) {
    if (!have_head) {
      http::ParseError perr;
      http::ParseStatus st = http::ParseResponseHead(data, limits, method, &head, &perr);
      if (st == http::ParseStatus::kError) {
        reply.error = std::string("bad response: ") + perr.reason;
        return reply;
      }
      if (st == http::ParseStatus::kDone) have_head = true;
    }
    if (have_head) {
      std::string_view rest = std::string_view(data).substr(head.head_size);
      if (head.body == http::BodyKind::kNone) {
        break;
      } else if (head.body == http::BodyKind::kContentLength) {
        if (rest.size() >= head.content_length) {
          reply.body = std::string(rest.substr(0, head.content_length));
          break;
        }
      } else if (head.body == http::BodyKind::kChunked) {
        if (Dechunk(rest, &reply.body)) break;
      } else if (eof) {
        reply.body = std::string(rest);
        break;
      }
    }
    if (eof) {
      reply.error = "connection closed before the response was complete";
      return reply;
    }
    if (data.size() > kMaxResponse) {
      reply.error = "response too large";
      return reply;
    }
    if (!WaitFor(s.fd, POLLIN, deadline)) {
      reply.error = "response timeout";
      return reply;
    }
    char buf[65536];
    ssize_t n = ::recv(s.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN) {
      reply.error = std::string("recv: ") + std::strerror(errno);
      return reply;
    }
  }
  reply.ok = true;
  reply.status = head.status;
  return reply;
}

}  // namespace nines::drill
