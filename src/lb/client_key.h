// The key a request is rate-limited by: a header's value, or the client's
// address. Behind trusted proxies the address comes from X-Forwarded-For,
// read from the right as nginx's real_ip_recursive does: each proxy appends
// the address it saw, so everything left of the last trusted hop was written
// by the client and proves nothing.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "http/parser.h"
#include "lb/lb_config.h"

namespace nines::lb {

// The client's address: `peer` unless it is a trusted proxy; then the
// rightmost X-Forwarded-For address (over every such header, in order) that
// is not a trusted proxy. If the walk meets a value that is not an address,
// the hop to its right (the last trusted one) is the client. If every
// address is trusted, the leftmost is. The view points into `headers` or
// `peer`.
std::string_view ForwardedClient(const std::vector<http::Header>& headers, std::string_view peer,
                                 uint32_t peer_ip, const std::vector<Ipv4Network>& trusted);

// The rate-limit key of a request under `limits`: the client_key header's
// value if configured and present and non-empty, else ForwardedClient.
std::string_view ClientKeyOf(const http::RequestHead& request, std::string_view peer,
                             uint32_t peer_ip, const RateLimitConfig& limits);

}  // namespace nines::lb
