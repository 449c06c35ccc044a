// Boot nonce for request ids; see request_id.h.
#include "store/request_id.h"

#include <chrono>

namespace nines::store {

uint64_t BootNonce() {
  int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return static_cast<uint64_t>(wall_ms) << 20;
}

}  // namespace nines::store
