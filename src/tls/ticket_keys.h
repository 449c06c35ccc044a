// Session-ticket keys shared by every thread and every context of a server:
// a ring of the current key and the few before it. New tickets are sealed
// with the current key; tickets under an older key in the ring still resume
// (and get a fresh ticket); older ones fall back to a full handshake.
// Rotate() runs on a timer (the owner's); the keys live only in memory, so
// a restart makes every ticket a full handshake, as it should.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

namespace nines::tls {

class TicketKeys {
 public:
  // `keep`: keys kept (the current one included); a ticket lives for
  // between keep-1 and keep rotation intervals.
  explicit TicketKeys(int keep = 3);

  // A fresh current key; the oldest one beyond `keep` is forgotten.
  void Rotate();
  uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }

  // Makes `ctx` seal and open its tickets with these keys. The keys must
  // outlive every handshake made with ctx.
  void InstallOn(SSL_CTX* ctx);

  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
  };
  // For the OpenSSL callback: the current key, or the key named `name`
  // (false if none); *current says whether it is the current one.
  Key Current() const;
  bool Find(const unsigned char* name, Key* key, bool* current) const;

 private:
  mutable std::mutex mu_;
  std::deque<Key> keys_;  // front: current
  int keep_;
  std::atomic<uint64_t> rotations_{0};
};

}  // namespace nines::tls
