// Guards the `nines up` API against browsers driven by other sites:
// DNS rebinding (a foreign Host), cross-origin requests (a foreign
// Origin) and cross-site form posts (a POST that is not application/json).
#pragma once

#include <string>

#include "base/config.h"
#include "http/simple_server.h"

namespace nines::up {

// "" when `request` may be served by the listener at `listen`, else why not
// (the body of a 403). Host must name an IP literal or localhost with the
// listener's port; Origin, when present, must be http://HOST of the request;
// a POST must carry Content-Type: application/json (which a form cannot send).
std::string RefuseForeignRequest(const http::Request& request, const Endpoint& listen);

}  // namespace nines::up
