// Ticket keys: AES-256-CBC + HMAC-SHA256 tickets through OpenSSL 3's
// SSL_CTX_set_tlsext_ticket_key_evp_cb.
#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "base/check.h"

namespace nines::tls {

namespace {

int g_ex_index = -1;
std::once_flag g_ex_once;

int ExIndex() {
  std::call_once(g_ex_once, [] {
    g_ex_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  });
  return g_ex_index;
}

void SetMac(EVP_MAC_CTX* hctx, const TicketKeys::Key& key) {
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(
      OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac.data()), key.hmac.size());
  params[1] =
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("sha256"), 0);
  params[2] = OSSL_PARAM_construct_end();
  EVP_MAC_CTX_set_params(hctx, params);
}

// OpenSSL's ticket callback: enc=1 seals a new ticket, enc=0 opens one.
// Returns 1 (ok), 2 (ok, but issue a new ticket: the key is old), 0 (no
// such key: full handshake) or -1 (error).
int OnTicket(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
             EVP_MAC_CTX* hctx, int enc) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  auto* keys = static_cast<const TicketKeys*>(SSL_CTX_get_ex_data(ctx, ExIndex()));
  if (!keys) return -1;
  if (enc == 1) {
    TicketKeys::Key key = keys->Current();
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    std::memcpy(key_name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) return -1;
    SetMac(hctx, key);
    return 1;
  }
  TicketKeys::Key key;
  bool current = false;
  if (!keys->Find(key_name, &key, &current)) return 0;
  if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) return -1;
  SetMac(hctx, key);
  // 2 asks for a fresh ticket. TLS 1.3 clients use a ticket once, and
  // OpenSSL issues none after a resumption unless asked: without this every
  // other connection of a browser would be a full handshake.
  return current && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
}

}  // namespace

TicketKeys::TicketKeys(int keep) : keep_(keep < 1 ? 1 : keep) {
  Rotate();
  rotations_.store(0);
}

void TicketKeys::Rotate() {
  Key key;
  NINES_CHECK(RAND_bytes(key.name.data(), key.name.size()) == 1 &&
                  RAND_bytes(key.aes.data(), key.aes.size()) == 1 &&
                  RAND_bytes(key.hmac.data(), key.hmac.size()) == 1,
              "OpenSSL's random generator failed");
  std::lock_guard lock(mu_);
  keys_.push_front(key);
  while (static_cast<int>(keys_.size()) > keep_) keys_.pop_back();
  rotations_.fetch_add(1, std::memory_order_relaxed);
}

TicketKeys::Key TicketKeys::Current() const {
  std::lock_guard lock(mu_);
  return keys_.front();
}

bool TicketKeys::Find(const unsigned char* name, Key* key, bool* current) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      *key = keys_[i];
      *current = i == 0;
      return true;
    }
  }
  return false;
}

void TicketKeys::InstallOn(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ExIndex(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, OnTicket);
}

}  // namespace nines::tls
