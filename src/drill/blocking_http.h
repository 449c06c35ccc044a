// A small blocking HTTP/1.1 client (one request per connection, bounded by a
// deadline, optional source address) for the drill's control traffic: the
// `nines up` API, lb admin status, and reading acknowledged orders back.
#pragma once

#include <string>

namespace nines::drill {

struct HttpReply {
  bool ok = false;    // a complete response was read
  std::string error;  // why not
  int status = 0;
  std::string body;
};

// `host_port` is "A.B.C.D:PORT"; `source_ip` ("" = any) is bound before connecting.
HttpReply BlockingHttp(const std::string& host_port, const std::string& method,
                       const std::string& path, const std::string& body = "", int timeout_ms = 3000,
                       const std::string& source_ip = "");

// Splits "http://H:P/..." or "H:P" into "H:P"; "" if malformed.
std::string HostPortOfUrl(const std::string& url);

}  // namespace nines::drill
