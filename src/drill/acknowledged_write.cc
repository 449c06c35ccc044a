// BodyFingerprint: canonical JSON, then FNV-1a 64.
#include "drill/acknowledged_write.h"

#include <nlohmann/json.hpp>

namespace nines::drill {

namespace {
uint64_t Fnv1a(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}
constexpr uint64_t kOffset = 14695981039346656037ULL;
}  // namespace

uint64_t BodyFingerprint(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Fnv1a(body, Fnv1a("raw:", kOffset));
  // nlohmann's objects keep keys sorted: dump() is canonical.
  return Fnv1a(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               Fnv1a("json:", kOffset));
}

}  // namespace nines::drill
