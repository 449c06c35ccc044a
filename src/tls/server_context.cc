// Server contexts: certificate loading, protocol and cipher settings, SNI and ALPN callbacks.
#include "tls/server_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cctype>

#include "tls/tls_error.h"

namespace nines::tls {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

constexpr unsigned char kSessionContext[] = "nines";

}  // namespace

int ParseTlsVersion(std::string_view text) {
  if (text == "1.2") return TLS1_2_VERSION;
  if (text == "1.3") return TLS1_3_VERSION;
  return 0;
}

ServerContext::~ServerContext() {
  for (Entry& e : entries_) SSL_CTX_free(e.ctx);
}

Status ServerContext::Build(const ServerOptions& options, std::shared_ptr<TicketKeys> tickets,
                            std::shared_ptr<ServerContext>* built) {
  ERR_clear_error();
  std::shared_ptr<ServerContext> out(new ServerContext());
  out->options_ = options;
  out->tickets_ = std::move(tickets);
  if (options.certificates.empty()) {
    return Status::InvalidArgument("no certificate");
  }
  int min_version = ParseTlsVersion(options.min_version);
  if (min_version == 0) {
    return Status::InvalidArgument(
        fmt::format("min_version must be \"1.2\" or \"1.3\", not \"{}\"", options.min_version));
  }
  for (const std::string& p : options.alpn) {
    if (p.empty() || p.size() > 255) {
      return Status::InvalidArgument("bad ALPN protocol name");
    }
    out->alpn_wire_ += static_cast<char>(p.size());
    out->alpn_wire_ += p;
  }
  for (const CertificateFiles& files : options.certificates) {
    Entry entry;
    entry.files = files;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
      return Status::IoError(TakeErrorText());
    }
    entry.ctx = ctx;
    out->entries_.push_back(entry);
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
      return Status::InvalidArgument(
          fmt::format("ciphers \"{}\": {}", options.ciphers, TakeErrorText()));
    }
    if (SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
      return Status::InvalidArgument(
          fmt::format("ciphersuites \"{}\": {}", options.ciphersuites, TakeErrorText()));
    }
    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Record buffers stay with the connection (no SSL_MODE_RELEASE_BUFFERS:
    // a malloc and free per request otherwise), and OpenSSL reads ahead: one
    // read(2) takes a record's header and body, not two.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    SSL_CTX_set_timeout(ctx, options.session_timeout_s);
    if (out->tickets_) {
      // Stateless resumption only: no per-server session cache to share or bound.
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_num_tickets(ctx, 1);
      out->tickets_->InstallOn(ctx);
    } else {
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(ctx, 0);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
      return Status::IoError(fmt::format("certificate {}: {}", files.cert, TakeErrorText()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Status::IoError(fmt::format("key {}: {}", files.key, TakeErrorText()));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument(
          fmt::format("the key {} does not match the certificate {}", files.key, files.cert));
    }
    if (!options.client_ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, options.client_ca.c_str(), nullptr) != 1) {
        return Status::IoError(fmt::format("client CA {}: {}", options.client_ca, TakeErrorText()));
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca.c_str())) {
        SSL_CTX_set_client_CA_list(ctx, names);
      }
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, &ServerContext::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx, out.get());
    if (!out->alpn_wire_.empty())
      SSL_CTX_set_alpn_select_cb(ctx, &ServerContext::OnAlpn, out.get());

    X509* leaf = SSL_CTX_get0_certificate(ctx);
    Entry& stored = out->entries_.back();
    stored.names = CertificateNames(leaf);
    const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
    struct tm tm {};
    if (ASN1_TIME_to_tm(not_after, &tm) == 1) stored.not_after_unix = timegm(&tm);
    size_t index = out->entries_.size() - 1;
    for (const std::string& name : stored.names) {
      if (name.size() > 2 && name[0] == '*' && name[1] == '.') {
        out->wildcard_.emplace(name.substr(2), index);  // the first certificate naming it wins
      } else {
        out->exact_.emplace(name, index);
      }
    }
  }
  ERR_clear_error();
  *built = std::move(out);
  return Status::Ok();
}

SSL* ServerContext::NewSsl() const {
  SSL* ssl = SSL_new(entries_[0].ctx);
  if (ssl) SSL_set_accept_state(ssl);
  return ssl;
}

size_t ServerContext::Select(std::string_view server_name) const {
  std::string name = Lower(server_name);
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  }
  return 0;
}

int ServerContext::OnServerName(SSL* ssl, int* alert, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  auto* self = static_cast<const ServerContext*>(arg);
  size_t index = self->Select(name);
  if (index != 0) SSL_set_SSL_CTX(ssl, self->entries_[index].ctx);
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                          const unsigned char* in, unsigned int inlen, void* arg) {
  auto* self = static_cast<const ServerContext*>(arg);
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  if (SSL_select_next_proto(&selected, outlen, ours, self->alpn_wire_.size(), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace nines::tls
