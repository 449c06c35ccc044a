// A blocking HTTP/1.1 client for tests: raw bytes in, parsed responses out,
// every call bounded by a timeout.
#pragma once

#include <string>

namespace nines::test {

struct HttpResult {
  bool ok = false;    // a complete response was read
  std::string error;  // why not
  int status = 0;
  std::string head;     // status line and headers as received
  std::string body;     // decoded (chunked bodies are de-chunked)
  bool closed = false;  // the server closed the connection after the response

  // Value of the first header `name` (case-insensitive) in head, or "".
  std::string Header(const std::string& name) const;
};

class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool Connect(const std::string& host, int port, int timeout_ms = 3000);
  bool Send(const std::string& bytes);
  // Reads one response to a request made with `method`.
  HttpResult Read(const std::string& method = "GET", int timeout_ms = 5000);
  // Reads whatever arrives until the peer closes or the timeout passes.
  std::string ReadUntilClose(int timeout_ms, bool* closed);
  void Close();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
HttpResult HttpRequest(const std::string& host, int port, const std::string& raw,
                       const std::string& method = "GET", int timeout_ms = 5000);
HttpResult HttpGet(const std::string& host, int port, const std::string& path,
                   const std::string& extra_headers = "", int timeout_ms = 5000);
HttpResult HttpPost(const std::string& host, int port, const std::string& path,
                    const std::string& body, int timeout_ms = 5000);

}  // namespace nines::test
