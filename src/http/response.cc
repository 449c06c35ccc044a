// Response building.
#include "http/response.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nines::http {

const char* StatusReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string BuildResponse(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  std::string out;
  out.reserve(128 + body.size());
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n", status,
                 StatusReason(status), body.size());
  if (!content_type.empty()) {
    fmt::format_to(std::back_inserter(out), "Content-Type: {}\r\n", content_type);
  }
  for (const auto& [name, value] : extra_headers) {
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string BuildErrorResponse(int status, bool keep_alive,
                               const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string body = fmt::format("{} {}\n", status, StatusReason(status));
  return BuildResponse(status, "text/plain", body, keep_alive, extra);
}

std::string JsonErrorBody(std::string_view message) {
  return JsonErrorBody(message, nlohmann::json::object());
}

std::string JsonErrorBody(std::string_view message, const nlohmann::json& fields) {
  nlohmann::json j = {{"error", message}};
  for (const auto& [key, value] : fields.items()) j[key] = value;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nines::http
