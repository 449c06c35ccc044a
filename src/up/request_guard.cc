// The `nines up` API's request guard (see request_guard.h and docs/up.md "Security").
#include "up/request_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace nines::up {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A name no DNS answer can rebind: an IPv4 or IPv6 literal, or localhost.
bool IsLiteralHost(const std::string& host) {
  if (host == "localhost") return true;
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  }
  return inet_pton(AF_INET, host.c_str(), buf) == 1;
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

}  // namespace

std::string RefuseForeignRequest(const http::Request& request, const Endpoint& listen) {
  std::string host_header = Lower(request.Header("Host"));
  std::string host;
  int port = 0;
  if (!SplitHostPort(host_header, &host, &port) || !IsLiteralHost(host) || port != listen.port) {
    return "refused: Host '" + host_header + "' is not this dashboard's address (use http://" +
           listen.ToString() + "/ or http://localhost:" + std::to_string(listen.port) + "/)";
  }
  std::string origin = request.Header("Origin");
  if (!origin.empty() && Lower(origin) != "http://" + host_header) {
    return "refused: cross-origin request from '" + origin + "'";
  }
  if (request.method == "POST") {
    std::string type = Lower(request.Header("Content-Type"));
    std::string media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    if (media != "application/json") {
      return "refused: POST needs 'Content-Type: application/json'";
    }
  }
  return "";
}

}  // namespace nines::up
