// A TLS server's contexts, built once from its options and shared by every
// thread: one SSL_CTX per certificate, all configured alike, and the SNI
// table that picks among them by the names in the certificates (exact names
// first, then "*.parent" wildcards; no match or no SNI: the first
// certificate). Immutable once built: a reload builds a new one, and
// connections made from the old one keep it alive until they close.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tls/certificate.h"
#include "tls/ticket_keys.h"

namespace nines::tls {

// Mozilla's "intermediate" configuration (v5.7): TLS 1.2 ciphers, and TLS 1.3 suites.
inline constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kIntermediateSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct ServerOptions {
  std::vector<CertificateFiles> certificates;      // the first is the default
  std::string min_version = "1.2";                 // "1.2" or "1.3"; the maximum is 1.3
  std::string ciphers = kIntermediateCiphers;      // TLS 1.2 (OpenSSL cipher list)
  std::string ciphersuites = kIntermediateSuites;  // TLS 1.3
  // ALPN protocols offered, in the server's order of preference; empty: no ALPN.
  std::vector<std::string> alpn;
  // Session lifetime hint for tickets, seconds.
  int session_timeout_s = 7200;
  // Mutual TLS: PEM CA file the client's certificate must chain to; "" = no client certificate.
  std::string client_ca;
  bool operator==(const ServerOptions&) const = default;
};

// "1.2" -> TLS1_2_VERSION, "1.3" -> TLS1_3_VERSION, else 0.
int ParseTlsVersion(std::string_view text);

class ServerContext {
 public:
  // Builds the contexts (loads every certificate and key) into *built.
  // `tickets` may be null (no session tickets). InvalidArgument for a bad
  // option or a key that does not match its certificate, IoError for a file
  // that cannot be loaded.
  static Status Build(const ServerOptions& options, std::shared_ptr<TicketKeys> tickets,
                      std::shared_ptr<ServerContext>* built);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A new server-side SSL* (accept state) on the default context; the SNI
  // callback switches it to another certificate's context. The SSL* may use
  // this object until its handshake ends: keep a reference (tls::Stream does).
  SSL* NewSsl() const;

  // Index of the certificate for `server_name` (0: the default).
  size_t Select(std::string_view server_name) const;

  struct Entry {
    SSL_CTX* ctx = nullptr;
    CertificateFiles files;
    std::vector<std::string> names;
    int64_t not_after_unix = 0;
  };
  const std::vector<Entry>& entries() const { return entries_; }
  const ServerOptions& options() const { return options_; }

 private:
  ServerContext() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);
  static int OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  ServerOptions options_;
  std::shared_ptr<TicketKeys> tickets_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> exact_;     // name -> entry
  std::unordered_map<std::string, size_t> wildcard_;  // "example.com" for "*.example.com"
  std::string alpn_wire_;                             // ALPN list in wire format
};

}  // namespace nines::tls
