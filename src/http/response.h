// Building HTTP/1.1 responses: reason phrases and whole small responses
// (errors from the proxy, admin and API answers).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nines::http {

const char* StatusReason(int status);

// A complete response with Content-Length. `extra_headers` are written as
// given ("Name: value" pairs).
std::string BuildResponse(
    int status, std::string_view content_type, std::string_view body, bool keep_alive,
    const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

// The short error a proxy answers with (text/plain body "503 Service Unavailable\n").
std::string BuildErrorResponse(int status, bool keep_alive,
                               const std::vector<std::pair<std::string, std::string>>& extra = {});

}  // namespace nines::http
