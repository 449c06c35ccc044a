// Request ids of one store member: every write a member proposes or forwards
// carries (origin member, request id), which pending writes and the
// replicated dedup table are keyed by. Ids must not repeat across restarts of
// the member, so a generator starts at a per-boot nonce and counts up (the
// shape of etcd's idutil.Generator; etcd takes the start from the boot time,
// this one from a random 64-bit nonce, so a clock stepped back cannot repeat
// an earlier boot's ids).
#pragma once

#include <cstdint>

namespace nines::store {

// A start value for this boot's ids.
uint64_t BootNonce();

class RequestIdGenerator {
 public:
  explicit RequestIdGenerator(uint64_t nonce) : next_(nonce) {}
  uint64_t Next() { return ++next_; }

 private:
  uint64_t next_;
};

}  // namespace nines::store
