// Blocking test client built on POSIX sockets and the project's own parser.
#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "http/parser.h"

namespace nines::test {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Appends what arrives within the deadline; returns bytes read, 0 on EOF, -1 on timeout/error.
int ReadSome(int fd, std::string* out, int64_t deadline) {
  int64_t left = deadline - NowMs();
  if (left <= 0) return -1;
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(left));
  if (r <= 0) return -1;
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return errno == ECONNRESET ? 0 : -1;
  out->append(buf, static_cast<size_t>(n));
  return static_cast<int>(n);
}

std::string Dechunk(std::string_view raw) {
  std::string out;
  while (!raw.empty()) {
    size_t eol = raw.find("\r\n");
    if (eol == std::string_view::npos) break;
    size_t size = std::strtoul(std::string(raw.substr(0, eol)).c_str(), nullptr, 16);
    raw.remove_prefix(eol + 2);
    if (size == 0) break;
    out.append(raw.substr(0, size));
    raw.remove_prefix(std::min(raw.size(), size + 2));
  }
  return out;
}

}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    size_t colon = head.find(':', pos);
    size_t eol = head.find("\r\n", pos);
    if (colon == std::string::npos || eol == std::string::npos || colon > eol) continue;
    if (http::EqualsIgnoreCase(std::string_view(head).substr(pos, colon - pos), name)) {
      std::string value = head.substr(colon + 1, eol - colon - 1);
      size_t start = value.find_first_not_of(" \t");
      return start == std::string::npos ? "" : value.substr(start);
    }
  }
  return "";
}

HttpConnection::~HttpConnection() {
  Close();
}

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpConnection::Connect(const std::string& host, int port, int timeout_ms) {
  Close();
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  return true;
}

bool HttpConnection::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

HttpResult HttpConnection::Read(const std::string& method, int timeout_ms) {
  HttpResult result;
  int64_t deadline = NowMs() + timeout_ms;
  http::ResponseHead head;
  while (true) {
    http::ParseError error;
    auto status = http::ParseResponseHead(buffer_, http::Limits(), method, &head, &error);
    if (status == http::ParseStatus::kDone && head.status >= 200) break;
    if (status == http::ParseStatus::kDone) {  // interim 1xx: skip
      buffer_.erase(0, head.head_size);
      continue;
    }
    if (status == http::ParseStatus::kError) {
      result.error = std::string("bad response head: ") + error.reason;
      return result;
    }
    int n = ReadSome(fd_, &buffer_, deadline);
    if (n <= 0) {
      result.error = n == 0 ? "connection closed before a response" : "timeout waiting for head";
      result.closed = n == 0;
      return result;
    }
  }
  result.status = head.status;
  result.head = buffer_.substr(0, head.head_size);
  buffer_.erase(0, head.head_size);
  switch (head.body) {
    case http::BodyKind::kNone:
      break;
    case http::BodyKind::kContentLength:
      while (buffer_.size() < head.content_length) {
        if (ReadSome(fd_, &buffer_, deadline) <= 0) {
          result.error = "body cut short";
          return result;
        }
      }
      result.body = buffer_.substr(0, head.content_length);
      buffer_.erase(0, head.content_length);
      break;
    case http::BodyKind::kChunked: {
      http::ChunkedReader reader;
      size_t consumed = 0;
      bool done = false;
      while (!done) {
        http::ParseError error;
        error.status = 0;
        consumed += reader.Consume(std::string_view(buffer_).substr(consumed), &done, &error);
        if (error.status != 0) {
          result.error = "bad chunked body";
          return result;
        }
        if (!done && ReadSome(fd_, &buffer_, deadline) <= 0) {
          result.error = "chunked body cut short";
          return result;
        }
      }
      result.body = Dechunk(std::string_view(buffer_).substr(0, consumed));
      buffer_.erase(0, consumed);
      break;
    }
    case http::BodyKind::kUntilClose:
      while (ReadSome(fd_, &buffer_, deadline) > 0) {
      }
      result.body = buffer_;
      buffer_.clear();
      result.closed = true;
      break;
  }
  if (!head.keep_alive) result.closed = true;
  result.ok = true;
  return result;
}

std::string HttpConnection::ReadUntilClose(int timeout_ms, bool* closed) {
  int64_t deadline = NowMs() + timeout_ms;
  std::string out = buffer_;
  buffer_.clear();
  *closed = false;
  while (true) {
    int n = ReadSome(fd_, &out, deadline);
    if (n == 0) {
      *closed = true;
      break;
    }
    if (n < 0) break;
  }
  return out;
}

HttpResult HttpRequest(const std::string& host, int port, const std::string& raw,
                       const std::string& method, int timeout_ms) {
  HttpConnection c;
  if (!c.Connect(host, port, timeout_ms)) {
    HttpResult r;
    r.error = "connect failed";
    return r;
  }
  if (!c.Send(raw)) {
    HttpResult r;
    r.error = "send failed";
    return r;
  }
  return c.Read(method, timeout_ms);
}

HttpResult HttpGet(const std::string& host, int port, const std::string& path,
                   const std::string& extra_headers, int timeout_ms) {
  return HttpRequest(host, port,
                     "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n", "GET",
                     timeout_ms);
}

HttpResult HttpPost(const std::string& host, int port, const std::string& path,
                    const std::string& body, int timeout_ms) {
  return HttpRequest(host, port,
                     "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body,
                     "POST", timeout_ms);
}

}  // namespace nines::test
