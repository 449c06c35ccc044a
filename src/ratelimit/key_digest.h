// Fixed-size storage form of rate-limit keys. A key is a client's address or
// a header value of up to ~64 KiB; storing it whole would bound the table by
// key count, not bytes. Keys of up to kMaxRawKey bytes are kept as they are;
// longer ones become a 15-byte keyed digest (SipHash-2-4 under a random
// per-table key, 120 bits), so clients cannot craft two keys that collide.
// Every stored form fits std::string's inline buffer: no heap per key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace nines::ratelimit {

class KeyDigester {
 public:
  static constexpr size_t kMaxRawKey = 14;
  static constexpr size_t kDigestSize = 15;  // longer than any raw key: forms never clash

  KeyDigester();  // random keys
  KeyDigester(uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3);

  // The stored form of `key`: itself if short, else its digest. `scratch`
  // holds the digest; the view points into `key` or `scratch`.
  std::string_view Form(std::string_view key, std::array<char, kDigestSize>* scratch) const;

 private:
  uint64_t k_[4];
};

// SipHash-2-4 of `data` under the 128-bit key (k0, k1).
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data);

}  // namespace nines::ratelimit
