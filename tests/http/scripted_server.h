// A scripted HTTP server for the client tests, on 127.0.0.1:<ephemeral> in a
// thread of its own: answers each request with what a function returns,
// records requests and peer addresses, and can close after answering.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace nines::http {

// A server on 127.0.0.1:<ephemeral> that answers each complete request head
// (and its Content-Length body) with `reply(request)`; an empty reply means
// stay silent. Records every request and every peer address.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<std::string(const std::string&)> reply,
                          bool close_after_reply = false)
      : reply_(std::move(reply)), close_after_reply_(close_after_reply) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<std::string> peers() {
    std::lock_guard lock(mu_);
    return peers_;
  }

 private:
  struct Conn {
    int fd;
    std::string in;
  };

  void Run() {
    std::vector<Conn> conns;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) Accept(&conns);
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Conn& c = conns[i - 1];
        char buf[4096];
        ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        Answer(&c);
      }
      std::erase_if(conns, [](const Conn& c) { return c.fd < 0; });
    }
    for (const Conn& c : conns) ::close(c.fd);
  }

  void Accept(std::vector<Conn>* conns) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd = accept(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len);
    if (fd < 0) return;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
    std::lock_guard lock(mu_);
    peers_.emplace_back(text);
    ++connections_;
    conns->push_back({fd, ""});
  }

  // Answers every complete request in c->in.
  void Answer(Conn* c) {
    while (true) {
      size_t end = c->in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      size_t length = 0;
      size_t cl = c->in.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(c->in.substr(cl + 16));
      if (c->in.size() < end + 4 + length) return;
      std::string request = c->in.substr(0, end + 4 + length);
      c->in.erase(0, request.size());
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      std::string out = reply_(request);
      if (!out.empty()) send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (close_after_reply_) {
        shutdown(c->fd, SHUT_WR);
        return;
      }
    }
  }

  std::function<std::string(const std::string&)> reply_;
  bool close_after_reply_ = false;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<std::string> peers_;
  std::thread thread_;
};

inline std::string Ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace nines::http
