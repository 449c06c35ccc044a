// Certificate files: the names a certificate answers to (SAN DNS names, else
// its CN), matching a server name against them (wildcards in the first
// label only, RFC 6125), and the checks `nines check` makes before a
// certificate is used: the chain loads, the key matches, the dates hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ossl_typ.h>

namespace nines::tls {

// A certificate (leaf first, then its chain) and its private key, both PEM.
struct CertificateFiles {
  std::string cert;
  std::string key;
  bool operator==(const CertificateFiles&) const = default;
};

// The DNS names of `cert`'s subjectAltName, lowercased; its CN when it has none.
std::vector<std::string> CertificateNames(X509* cert);

// True if `pattern` (a certificate name, maybe "*.example.com") covers `name`.
bool NameMatches(std::string_view pattern, std::string_view name);

struct CertificateReport {
  std::vector<std::string> errors;    // the certificate cannot be used
  std::vector<std::string> warnings;  // usable, but look now (expires soon)
  std::vector<std::string> names;
  int64_t not_after_unix = 0;  // the leaf's expiry, seconds since the epoch
};

// Reads and checks `files` at time `now_unix`: the leaf and every chain
// certificate parse, each chain certificate issued the one before it, the key
// matches the leaf, the leaf is valid now; a warning when it expires within
// `warn_days`. Messages name the file.
CertificateReport CheckCertificate(const CertificateFiles& files, int64_t now_unix,
                                   int warn_days = 14);

}  // namespace nines::tls
