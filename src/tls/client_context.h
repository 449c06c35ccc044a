// A TLS client's context: the CA file that servers' certificates must chain
// to, and optionally a client certificate (mutual TLS). Each new SSL* sends
// SNI and verifies the server's certificate against the expected name (a DNS
// name, or an IP address literal). Immutable once built; shared by threads.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "tls/certificate.h"

namespace nines::tls {

struct ClientOptions {
  std::string ca_file;      // PEM; "" = the system's default CA store
  CertificateFiles client;  // client certificate for mutual TLS; empty = none
  std::string min_version = "1.2";
  bool operator==(const ClientOptions&) const = default;
};

class ClientContext {
 public:
  // Builds the context (loads the CA file and any client certificate) into
  // *built. InvalidArgument for a bad option, IoError for a file that cannot
  // be loaded.
  static Status Build(const ClientOptions& options, std::shared_ptr<ClientContext>* built);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A new client-side SSL* (connect state) that sends `server_name` as SNI
  // (unless it is an IP address) and accepts only a certificate for it.
  SSL* NewSsl(std::string_view server_name) const;

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace nines::tls
