// Building HTTP/1.1 responses: reason phrases and whole small responses
// (errors from the proxy, admin and API answers).
#pragma once

#include <nlohmann/json_fwd.hpp>

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

// The body of every JSON error reply in nines: {"error":"message"}, escaped as
// JSON (invalid UTF-8 in an echoed key is replaced, never thrown on). The
// members of the object `fields` follow "error" to give context:
// {"error":"no such server","server":"a"}.
std::string JsonErrorBody(std::string_view message);
std::string JsonErrorBody(std::string_view message, const nlohmann::json& fields);

}  // namespace nines::http
