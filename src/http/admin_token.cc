// Reading a listener's admin token from its config (see admin_token.h).
#include "http/admin_token.h"

#include <arpa/inet.h>

#include "base/log.h"
#include "base/secret.h"

namespace nines::http {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

std::string ReadAdminToken(TableReader& table, const Endpoint& admin, std::string_view admin_key,
                           std::string_view component) {
  std::string token = table.String("admin_token", "");
  std::string token_file = table.String("admin_token_file", "");
  if (table.Has("admin_token") && token.empty()) {
    table.ErrorAt("admin_token", "'admin_token' must not be empty");
  }
  if (!token_file.empty()) {
    if (table.Has("admin_token")) {
      table.ErrorAt("admin_token_file", "set 'admin_token' or 'admin_token_file', not both");
    }
    std::string secret, warning;
    if (Status s = ReadSecretFile(token_file, table.file(), &secret, &warning); s.ok()) {
      token = secret;
      if (!warning.empty()) {
        LogWarn(component, "{}: admin_token_file: {}", table.file(), warning);
      }
    } else {
      table.ErrorAt("admin_token_file", "admin_token_file: " + s.message());
    }
  } else if (table.Has("admin_token_file")) {
    table.ErrorAt("admin_token_file", "'admin_token_file' must not be empty");
  }
  bool token_given = table.Has("admin_token") || table.Has("admin_token_file");
  if (!token_given && !admin.host.empty() && !IsLoopbackHost(admin.host)) {
    table.ErrorAt(admin_key, "'" + std::string(admin_key) + "' (" + admin.ToString() +
                                 ") is not a loopback address: set 'admin_token_file' (or "
                                 "'admin_token') so that its changes need the token");
  }
  return token;
}

}  // namespace nines::http
