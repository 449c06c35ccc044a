// Per-worker pool of idle server connections.
#include "lb/backend_pool.h"

#include "net/tcp.h"

namespace nines::lb {

std::unique_ptr<BackendConnection> BackendPool::Take(const ServerState* server, int64_t now_ms,
                                                     int max_idle_ms) {
  auto it = idle_.find(server);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    std::unique_ptr<BackendConnection> conn = std::move(list.back());
    list.pop_back();
    int64_t idle = now_ms - conn->idle_since_ms;
    if (idle > max_idle_ms || server->removed.load() || PeerClosed(conn->socket)) {
      std::error_code ec;
      conn->socket.close(ec);
      continue;
    }
    conn->reused = true;
    return conn;
  }
  return nullptr;
}

void BackendPool::Put(std::unique_ptr<BackendConnection> conn, int64_t now_ms, int max_idle) {
  auto& list = idle_[conn->server.get()];
  if (static_cast<int>(list.size()) >= max_idle || conn->server->removed.load()) {
    std::error_code ec;
    conn->socket.close(ec);
    return;
  }
  conn->idle_since_ms = now_ms;
  list.push_back(std::move(conn));
}

void BackendPool::Sweep(int64_t now_ms, int max_idle_ms) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const std::unique_ptr<BackendConnection>& c) {
      if (now_ms - c->idle_since_ms > max_idle_ms || c->server->removed.load()) {
        std::error_code ec;
        c->socket.close(ec);
        return true;
      }
      return false;
    });
    if (list.empty()) {
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t BackendPool::idle_count() const {
  size_t n = 0;
  for (const auto& [server, list] : idle_) n += list.size();
  return n;
}

}  // namespace nines::lb
