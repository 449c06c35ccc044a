// The admin guard (see admin_guard.h and docs/security.md "Admin APIs").
#include "http/admin_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "base/secret.h"
#include "http/admin_token.h"

namespace nines::http {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  }
  return inet_pton(AF_INET, host.c_str(), buf) == 1;
}

bool IsWildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "[::]" || host.empty();
}

// Splits "host:port" ("[v6]:port", or no port: 80).
bool SplitHostPort(const std::string& value, std::string* host, int* port) {
  size_t colon = value.rfind(':');
  bool has_port = colon != std::string::npos && value.find(']', colon) == std::string::npos;
  *host = has_port ? value.substr(0, colon) : value;
  *port = 80;
  if (has_port) {
    std::string digits = value.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
      return false;
    }
    *port = std::stoi(digits);
  }
  return !host->empty();
}

// A Host that names this listener: its port, and its address (any IP
// literal when it listens on every address; "localhost" too when it
// listens on loopback). A DNS name is never its own: it could be rebound.
bool NamesListener(const std::string& host, int port, const Endpoint& listen) {
  if (port != listen.port) return false;
  std::string own = Lower(listen.host);
  if (IsWildcard(own)) return IsIpLiteral(host) || host == "localhost";
  if (host == own) return IsIpLiteral(host);
  return host == "localhost" && IsLoopbackHost(own);
}

Response Refused(int status, const std::string& message) {
  return JsonError(status, "refused: " + message);
}

}  // namespace

bool IsReadOnlyMethod(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

std::string BearerToken(const Request& request) {
  std::string value = request.Header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || Lower(value.substr(0, kScheme.size())) != kScheme) {
    return "";
  }
  std::string token = value.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  return token;
}

std::optional<Response> RefuseForeignBrowser(const Request& request, const AdminAccess& access) {
  std::string host_header = Lower(request.Header("Host"));
  std::string host;
  int port = 0;
  if (!SplitHostPort(host_header, &host, &port) || !NamesListener(host, port, access.listen)) {
    return Refused(403, "Host '" + host_header + "' is not this listener's address (use http://" +
                            access.listen.ToString() + "/)");
  }
  std::string origin = request.Header("Origin");
  if (!origin.empty() && Lower(origin) != "http://" + host_header) {
    return Refused(403, "cross-origin request from '" + origin + "'");
  }
  return std::nullopt;
}

std::optional<Response> RefuseStateChange(const Request& request, const AdminAccess& access) {
  if (auto refused = RefuseForeignBrowser(request, access)) return refused;
  if (!access.token.empty()) {
    std::string given = BearerToken(request);
    if (given.empty() || !SecretEquals(given, access.token)) {
      Response r = Refused(401, given.empty() ? "this change needs 'Authorization: Bearer TOKEN' "
                                                "(the admin token)"
                                              : "wrong admin token");
      std::string challenge = "Bearer realm=\"" + access.realm + "\"";
      if (!given.empty()) challenge += ", error=\"invalid_token\"";
      r.headers.emplace_back("WWW-Authenticate", challenge);
      return r;
    }
  }
  std::string type = Lower(request.Header("Content-Type"));
  std::string media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media != "application/json") {
    return Refused(415, "a change needs 'Content-Type: application/json'");
  }
  return std::nullopt;
}

}  // namespace nines::http
