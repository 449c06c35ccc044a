// ServerState construction and naming.
#include "lb/server_state.h"

#include "net/tcp.h"

namespace nines::lb {

ServerState::ServerState(std::string name_in, Endpoint address_in)
    : name(std::move(name_in)), address(std::move(address_in)), tcp_endpoint(ToTcp(address)) {}

const char* ServerState::StateName(int64_t now_ms) const {
  if (draining.load()) return "draining";
  if (!health_up.load() || Ejected(now_ms)) return "down";
  return "up";
}

}  // namespace nines::lb
