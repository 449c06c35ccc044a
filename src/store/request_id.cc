// Boot nonce for request ids; see request_id.h.
#include "store/request_id.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

namespace nines::store {

uint64_t BootNonce() {
  // Random, not the boot time: a clock stepped back (or two boots in one
  // millisecond) must not repeat a range. 2^64 values make an overlap of two
  // boots' ranges as likely as (ids per boot) / 2^64.
  uint64_t nonce = 0;
  size_t got = 0;
  while (got < sizeof(nonce)) {
    ssize_t n = ::getrandom(reinterpret_cast<char*>(&nonce) + got, sizeof(nonce) - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      std::random_device device;  // getrandom unavailable: the same source by another way
      return (static_cast<uint64_t>(device()) << 32) ^ device();
    }
  }
  return nonce;
}

}  // namespace nines::store
