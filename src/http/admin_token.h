// The admin token of a listener's config: `admin_token = "..."` or
// `admin_token_file = "path"` (preferred; a warning when the file is
// readable by its group or by everyone). An admin listener on an address
// that is not loopback without a token is a config error.
#pragma once

#include <string>
#include <string_view>

#include "base/config.h"

namespace nines::http {

// Reads admin_token / admin_token_file from `table` (a config file's top
// level), checks that `admin` (read from key `admin_key`) has a token unless
// it is loopback, and returns the token ("" for none). Errors go to the
// table's errors at the key's FILE:LINE:COL; a warning is logged under `component`.
std::string ReadAdminToken(TableReader& table, const Endpoint& admin, std::string_view admin_key,
                           std::string_view component);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace nines::http
