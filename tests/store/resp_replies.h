// The RESP2 texts that store tests expect as replies: integers, bulk strings
// and errors, spelled once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nines::store::testing {

inline std::string Int(int64_t v) {
  return ":" + std::to_string(v) + "\r\n";
}
inline std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string Err(std::string_view text) {
  return "-" + std::string(text) + "\r\n";
}

}  // namespace nines::store::testing
