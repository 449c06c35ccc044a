// Idempotency keys and scopes, order ids, store keys and the order record format.
#include "app/orders.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

namespace nines::app {
namespace {

bool TokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool Hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

uint64_t Fnv1a64(std::string_view data, uint64_t seed) {
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The deepest nesting of [ and { outside strings, stopping early past `limit`.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

bool ValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) return false;
  for (char c : key) {
    if (!TokenChar(c)) return false;
  }
  return true;
}

std::string IdempotencyScope(std::string_view authorization) {
  if (authorization.empty()) return "anon";
  return fmt::format("{:016x}", Fnv1a64(authorization, 0));
}

std::string NewOrderId(uint64_t high, uint64_t low) {
  return fmt::format("o-{:016x}{:016x}", high, low);
}

bool ValidOrderId(std::string_view id) {
  if (id.size() == 34 && id.substr(0, 2) == "o-") return Hex(id.substr(2));
  if (id.size() < 3 || id.size() > kMaxIdempotencyKeyBytes + 2) return false;
  if (id.substr(0, 2) != "k-" && id.substr(0, 2) != "g-") return false;
  return ValidIdempotencyKey(id.substr(2));
}

std::string OrderKey(std::string_view id) {
  return "order:" + std::string(id);
}

std::string SequenceKey() {
  return "orders:seq";
}

std::string IndexKey(int64_t seq) {
  return fmt::format("orders:by_seq:{}", seq);
}

std::string IndexPattern() {
  return "orders:by_seq:*";
}

bool ParseIndexKey(std::string_view key, int64_t* seq) {
  constexpr std::string_view kPrefix = "orders:by_seq:";
  if (key.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view digits = key.substr(kPrefix.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *seq);
  return ec == std::errc() && end == digits.data() + digits.size() && *seq > 0;
}

std::string IdemKey(std::string_view scope, std::string_view key) {
  return fmt::format("idem:{}:{}", scope, key);
}

std::string ClaimKey(std::string_view scope, std::string_view key) {
  return fmt::format("claim:{}:{}", scope, key);
}

std::string EncodeIdemState(const IdemState& state) {
  return fmt::format("{} {} {}", state.done ? "done" : "pending", state.id, state.fingerprint);
}

bool DecodeIdemState(std::string_view text, IdemState* state) {
  size_t a = text.find(' ');
  size_t b = a == std::string_view::npos ? a : text.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view word = text.substr(0, a);
  if (word != "done" && word != "pending") return false;
  state->done = word == "done";
  state->id = std::string(text.substr(a + 1, b - a - 1));
  state->fingerprint = std::string(text.substr(b + 1));
  return ValidOrderId(state->id) && !state->fingerprint.empty();
}

std::string EncodeIdemClaim(const IdemClaim& claim) {
  return fmt::format("claim {} {} {}", claim.id, claim.fingerprint, claim.owner);
}

bool DecodeIdemClaim(std::string_view text, IdemClaim* claim) {
  constexpr std::string_view kWord = "claim ";
  if (text.substr(0, kWord.size()) != kWord) return false;
  text.remove_prefix(kWord.size());
  size_t a = text.find(' ');
  size_t b = a == std::string_view::npos ? a : text.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  claim->id = std::string(text.substr(0, a));
  claim->fingerprint = std::string(text.substr(a + 1, b - a - 1));
  claim->owner = std::string(text.substr(b + 1));  // the rest: a name may hold spaces
  return ValidOrderId(claim->id) && !claim->fingerprint.empty();
}

std::string BodyFingerprint(std::string_view canonical) {
  return fmt::format("{:016x}", Fnv1a64(canonical, 0x6f72646572ULL));
}

Status ParseListLimit(std::string_view text, int* limit) {
  if (text.empty()) {
    *limit = kDefaultListLimit;
    return Status::Ok();
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxListLimit) {
    return Status::InvalidArgument(
        fmt::format("limit must be an integer from 1 to {}", kMaxListLimit));
  }
  *limit = value;
  return Status::Ok();
}

Status ValidateOrderBody(std::string_view body, std::string* canonical) {
  // Before parsing: the serializer recurses, so depth is bounded first.
  if (NestingDepth(body, kMaxOrderDepth) > kMaxOrderDepth) {
    return Status::InvalidArgument(
        fmt::format("body is nested deeper than {} levels", kMaxOrderDepth));
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("body must be a JSON object");
  *canonical = j.dump();
  return Status::Ok();
}

std::string EncodeOrderRecord(const OrderRecord& record) {
  // Built by hand around the already-canonical order so that the same inputs
  // always give the same bytes (the retry check compares them).
  std::string out = "{\"id\":" + nlohmann::json(record.id).dump();
  out += fmt::format(",\"created_ms\":{}", record.created_ms);
  out += ",\"app\":" + nlohmann::json(record.app).dump();
  out += ",\"region\":" + nlohmann::json(record.region).dump();
  out += fmt::format(",\"seq\":{}", record.seq);
  out += ",\"order\":" + record.order_json + "}";
  return out;
}

bool DecodeOrderRecord(std::string_view text, std::string* id, int64_t* seq,
                       std::string* order_json) {
  if (NestingDepth(text, kMaxOrderDepth + 1) > kMaxOrderDepth + 1) return false;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto i = j.find("id");
  auto s = j.find("seq");
  if (i == j.end() || !i->is_string() || s == j.end() || !s->is_number_integer()) return false;
  *id = i->get<std::string>();
  *seq = s->get<int64_t>();
  if (order_json) {
    auto o = j.find("order");
    if (o == j.end() || !o->is_object()) return false;
    *order_json = o->dump();
  }
  return true;
}

}  // namespace nines::app
