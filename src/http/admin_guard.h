// The one guard in front of every admin listener (lb, dns) and the `nines up`
// API and dashboard. A request that changes state must carry the admin token
// in `Authorization: Bearer TOKEN` (a header an HTML form cannot send), be
// `Content-Type: application/json` (a form or a no-cors fetch cannot send
// that either), come from no other site (`Origin`), and name this listener in
// `Host` (a DNS-rebinding page names its own domain). See docs/security.md.
#pragma once

#include <optional>
#include <string>

#include "base/config.h"
#include "http/simple_server.h"

namespace nines::http {

struct AdminAccess {
  Endpoint listen;    // the listener's own address: what `Host` must name
  std::string token;  // the admin token; "" only on loopback (no token asked for)
  std::string realm;  // for WWW-Authenticate, e.g. "nines-lb"
};

// Why a request is refused, or nullopt when it may pass.
// 403 for a foreign Host or a cross-site Origin, 401 (with
// WWW-Authenticate: Bearer) for a missing or wrong token, 415 for a body
// that is not declared as JSON.
std::optional<Response> RefuseStateChange(const Request& request, const AdminAccess& access);

// The browser checks alone (Host and Origin, 403): for reads that must not
// leak to another site's page, like the dashboard's /api/state.
std::optional<Response> RefuseForeignBrowser(const Request& request, const AdminAccess& access);

// True for methods that only read (GET, HEAD).
bool IsReadOnlyMethod(const std::string& method);

// The token of an `Authorization: Bearer TOKEN` header ("" when there is none).
std::string BearerToken(const Request& request);

}  // namespace nines::http
