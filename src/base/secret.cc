// Shared secrets: constant-time comparison, secret files, HMAC-SHA256.
#include "base/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/check.h"

namespace nines {

bool SecretEquals(std::string_view a, std::string_view b) {
  // Compare MACs of both under a fixed key: equal-length digests, so
  // CRYPTO_memcmp's constant time covers secrets of any length.
  static const std::string kKey = "nines secret comparison";
  std::string ha = HmacSha256(kKey, a);
  std::string hb = HmacSha256(kKey, b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0 && a.size() == b.size();
}

Status ReadSecretFile(const std::string& path, const std::string& relative_to, std::string* secret,
                      std::string* warning) {
  std::filesystem::path p(path);
  if (p.is_relative() && !relative_to.empty()) {
    p = std::filesystem::path(relative_to).parent_path() / p;
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return Status::IoError("cannot read secret file '" + p.string() + "': " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return Status::InvalidArgument("secret file '" + p.string() + "' is empty");
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    *warning =
        "secret file '" + p.string() + "' is readable by its group or by everyone; chmod 600 it";
  }
  *secret = std::move(s);
  return Status::Ok();
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  unsigned char* ok =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  NINES_CHECK(ok != nullptr && len == 32, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string HexEncode(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string RandomBytes(size_t bytes) {
  std::string raw(bytes, '\0');
  int ok = RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  NINES_CHECK(ok == 1, "no random bytes from OpenSSL");
  return raw;
}

std::string RandomSecret(size_t bytes) {
  return HexEncode(RandomBytes(bytes));
}

}  // namespace nines
