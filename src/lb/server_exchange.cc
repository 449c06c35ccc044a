// Reading a server's response head past interim responses, and giving a
// server slot back (see server_exchange.h).
#include "lb/server_exchange.h"

#include <cstring>
#include <string_view>

#include "base/check.h"

namespace nines::lb {

void ReleaseServerSlot(LbShared& shared, std::shared_ptr<ServerState>& server) {
  if (!server) return;
  int before = server->active_requests.fetch_sub(1, std::memory_order_relaxed);
  NINES_CHECK(before > 0, "a server slot is given back once per AcquireServer");
  server.reset();
  if (shared.queued.load(std::memory_order_relaxed) > 0 && shared.wake_queues) shared.wake_queues();
}

http::ParseStatus ParseServerResponseHead(std::vector<char>& buffer, size_t* used,
                                          bool head_request, http::ResponseHead* response) {
  while (true) {
    http::ParseError error;
    http::ParseStatus status =
        http::ParseResponseHead(std::string_view(buffer.data(), *used), http::Limits(),
                                head_request ? "HEAD" : "GET", response, &error);
    if (status != http::ParseStatus::kDone) return status;
    NINES_CHECK(response->head_size <= *used, "a parsed head lies within the bytes read");
    if (response->status >= 200) return status;
    if (response->status == 101) return http::ParseStatus::kError;
    size_t rest = *used - response->head_size;  // 1xx: dropped
    std::memmove(buffer.data(), buffer.data() + response->head_size, rest);
    *used = rest;
    if (*used == 0) return http::ParseStatus::kNeedMore;
  }
}

}  // namespace nines::lb
