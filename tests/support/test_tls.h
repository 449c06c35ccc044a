// TLS helpers for tests: certificates made with the OpenSSL API (a CA and
// leaves with any names and validity, written as PEM files), and a blocking
// TLS client that reports what the server presented.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace nines::test {

// A CA: ca.pem / ca.key under `dir`.
struct TestCa {
  std::string cert_file;
  std::string key_file;
};
TestCa MakeTestCa(const std::string& dir, const std::string& name = "nines test CA");

// A leaf signed by `ca`, valid from now+from_days to now+to_days, with CN
// names[0] and every name as a DNS subjectAltName. Writes FILE.pem (leaf
// then the CA: a chain) and FILE.key; returns the certificate's serial (hex).
std::string MakeTestLeaf(const TestCa& ca, const std::string& file_base,
                         const std::vector<std::string>& names, int from_days = -1,
                         int to_days = 30);

// The whole file, "" if unreadable.
std::string ReadTextFile(const std::string& path);

// A blocking TLS client on one connection (no Asio).
class TlsTestClient {
 public:
  TlsTestClient() = default;
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // Connects and handshakes with SNI `server_name`, verifying against
  // `ca_file` (and the name, if check_name). `resume` (may be null): a
  // session to resume. False with error() on failure.
  bool Connect(const std::string& host, int port, const std::string& server_name,
               const std::string& ca_file, SSL_SESSION* resume = nullptr, bool check_name = true);
  bool Send(const std::string& data);
  // Reads up to `max` bytes (blocks up to timeout_ms); "" on EOF, error or timeout.
  std::string Read(size_t max, int timeout_ms = 5000);
  // Reads until the response `GET` produced is complete: head and
  // Content-Length body. Returns the body, or "" with error().
  std::string ReadResponseBody(int timeout_ms = 5000);
  // The serial (hex) and CN of the certificate the server presented.
  std::string PeerSerial() const;
  std::string PeerCommonName() const;
  bool Resumed() const { return ssl_ && SSL_session_reused(ssl_) == 1; }
  // The session to resume later (after a response was read: TLS 1.3 tickets
  // come after the handshake). Caller frees it with SSL_SESSION_free.
  SSL_SESSION* TakeSession() const { return ssl_ ? SSL_get1_session(ssl_) : nullptr; }
  const std::string& error() const { return error_; }
  void Close();

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  std::string error_;
};

}  // namespace nines::test
