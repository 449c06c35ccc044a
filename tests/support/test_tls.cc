// Test certificates and the blocking TLS client.
#include "support/test_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nines::test {

namespace {

EVP_PKEY* NewKey() {
  return EVP_EC_gen("P-256");
}

void WritePem(const std::string& path, X509* cert, X509* chain) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  PEM_write_X509(f, cert);
  if (chain) PEM_write_X509(f, chain);
  std::fclose(f);
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

X509* ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw std::runtime_error("cannot read " + path);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return x;
}

EVP_PKEY* ReadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw std::runtime_error("cannot read " + path);
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return k;
}

std::string RandomSerial(X509* x) {
  BIGNUM* bn = BN_new();
  BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

void AddExt(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

TestCa MakeTestCa(const std::string& dir, const std::string& name) {
  EVP_PKEY* key = NewKey();
  X509* x = X509_new();
  X509_set_version(x, 2);
  RandomSerial(x);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  AddExt(x, x, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
  X509_sign(x, key, EVP_sha256());
  TestCa ca{dir + "/ca.pem", dir + "/ca.key"};
  WritePem(ca.cert_file, x, nullptr);
  WriteKey(ca.key_file, key);
  X509_free(x);
  EVP_PKEY_free(key);
  return ca;
}

std::string MakeTestLeaf(const TestCa& ca, const std::string& file_base,
                         const std::vector<std::string>& names, int from_days, int to_days) {
  X509* ca_cert = ReadCert(ca.cert_file);
  EVP_PKEY* ca_key = ReadKey(ca.key_file);
  EVP_PKEY* key = NewKey();
  X509* x = X509_new();
  X509_set_version(x, 2);
  std::string serial = RandomSerial(x);
  X509_gmtime_adj(X509_getm_notBefore(x), static_cast<long>(from_days) * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(to_days) * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names.at(0).c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
  std::string san;
  for (const std::string& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  AddExt(x, ca_cert, NID_subject_alt_name, san.c_str());
  AddExt(x, ca_cert, NID_basic_constraints, "CA:FALSE");
  AddExt(x, ca_cert, NID_ext_key_usage, "serverAuth,clientAuth");
  X509_sign(x, ca_key, EVP_sha256());
  WritePem(file_base + ".pem", x, ca_cert);
  WriteKey(file_base + ".key", key);
  X509_free(x);
  X509_free(ca_cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return serial;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TlsTestClient::~TlsTestClient() {
  Close();
}

void TlsTestClient::Close() {
  if (ssl_) {
    // Without close_notify OpenSSL marks the session unresumable.
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
    SSL_free(ssl_);
  }
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

bool TlsTestClient::Connect(const std::string& host, int port, const std::string& server_name,
                            const std::string& ca_file, SSL_SESSION* resume, bool check_name) {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error_ = "connect failed";
    return false;
  }
  timeval tv{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  // No internal cache: freeing the context would flush it and mark its sessions unresumable.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    if (check_name) SSL_set1_host(ssl_, server_name.c_str());
  }
  if (resume) SSL_set_session(ssl_, resume);
  if (SSL_connect(ssl_) != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    ERR_clear_error();
    error_ = std::string("handshake failed: ") + text;
    return false;
  }
  return true;
}

bool TlsTestClient::Send(const std::string& data) {
  size_t n = 0;
  return ssl_ && SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1 && n == data.size();
}

std::string TlsTestClient::Read(size_t max, int timeout_ms) {
  if (!ssl_) return "";
  if (SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return "";
  }
  std::string out(max, '\0');
  size_t n = 0;
  if (SSL_read_ex(ssl_, out.data(), max, &n) != 1) {
    ERR_clear_error();
    return "";
  }
  out.resize(n);
  return out;
}

std::string TlsTestClient::ReadResponseBody(int timeout_ms) {
  std::string data;
  size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    std::string more = Read(16384, timeout_ms);
    if (more.empty()) {
      error_ = "no response head";
      return "";
    }
    data += more;
  }
  size_t length_at = data.find("Content-Length: ");
  if (length_at == std::string::npos || length_at > head_end) {
    error_ = "no Content-Length";
    return "";
  }
  size_t length = std::stoul(data.substr(length_at + 16));
  std::string body = data.substr(head_end + 4);
  while (body.size() < length) {
    std::string more = Read(65536, timeout_ms);
    if (more.empty()) {
      error_ = "body cut short";
      return "";
    }
    body += more;
  }
  return body;
}

std::string TlsTestClient::PeerSerial() const {
  X509* x = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (!x) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string TlsTestClient::PeerCommonName() const {
  X509* x = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (!x) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
  return cn;
}

}  // namespace nines::test
