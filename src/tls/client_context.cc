// Client contexts: verification against a CA file, SNI and host name checks.
#include "tls/client_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/config.h"
#include "tls/server_context.h"
#include "tls/tls_error.h"

namespace nines::tls {

ClientContext::~ClientContext() {
  SSL_CTX_free(ctx_);
}

Status ClientContext::Build(const ClientOptions& options, std::shared_ptr<ClientContext>* built) {
  ERR_clear_error();
  std::shared_ptr<ClientContext> out(new ClientContext());
  out->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!out->ctx_) {
    return Status::IoError(TakeErrorText());
  }
  SSL_CTX* ctx = out->ctx_;
  int min_version = ParseTlsVersion(options.min_version);
  if (min_version == 0) {
    return Status::InvalidArgument(
        fmt::format("min_version must be \"1.2\" or \"1.3\", not \"{}\"", options.min_version));
  }
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int loaded = options.ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(ctx)
                   : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return Status::IoError(fmt::format("CA file {}: {}", options.ca_file, TakeErrorText()));
  }
  if (!options.client.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.client.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options.client.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return Status::IoError(fmt::format("client certificate {} / key {}: {}", options.client.cert,
                                         options.client.key, TakeErrorText()));
    }
  }
  *built = std::move(out);
  return Status::Ok();
}

SSL* ClientContext::NewSsl(std::string_view server_name) const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl);
  std::string name(server_name);
  if (ParseIpv4Address(name, nullptr)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else if (!name.empty()) {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
  return ssl;
}

}  // namespace nines::tls
