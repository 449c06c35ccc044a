// SipHash-2-4 (Aumasson and Bernstein) and the key digester built on it.
#include "ratelimit/key_digest.h"

#include <cstring>
#include <random>

namespace nines::ratelimit {
namespace {

uint64_t Rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

void Round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = Rotl(v1, 13);
  v1 ^= v0;
  v0 = Rotl(v0, 32);
  v2 += v3;
  v3 = Rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = Rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = Rotl(v1, 17);
  v1 ^= v2;
  v2 = Rotl(v2, 32);
}

uint64_t LoadLe(const unsigned char* p, size_t n) {
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i) x |= static_cast<uint64_t>(p[i]) << (8 * i);
  return x;
}

}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data) {
  uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  uint64_t v3 = 0x7465646279746573ull ^ k1;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  size_t whole = n - n % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = LoadLe(p + i, 8);
    v3 ^= m;
    Round(v0, v1, v2, v3);
    Round(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t last = (static_cast<uint64_t>(n) << 56) | LoadLe(p + whole, n - whole);
  v3 ^= last;
  Round(v0, v1, v2, v3);
  Round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) Round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

KeyDigester::KeyDigester() {
  std::random_device random;
  for (uint64_t& k : k_) k = (static_cast<uint64_t>(random()) << 32) ^ random();
}

KeyDigester::KeyDigester(uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3) : k_{k0, k1, k2, k3} {}

std::string_view KeyDigester::Form(std::string_view key,
                                   std::array<char, kDigestSize>* scratch) const {
  if (key.size() <= kMaxRawKey) return key;
  uint64_t a = SipHash24(k_[0], k_[1], key);
  uint64_t b = SipHash24(k_[2], k_[3], key);
  std::memcpy(scratch->data(), &a, 8);
  std::memcpy(scratch->data() + 8, &b, kDigestSize - 8);
  return std::string_view(scratch->data(), kDigestSize);
}

}  // namespace nines::ratelimit
