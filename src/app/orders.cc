// Idempotency keys, order ids, store keys and the order record format.
#include "app/orders.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace nines::app {
namespace {

bool TokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
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

std::string OrderIdForClientKey(std::string_view key) {
  return "k-" + std::string(key);
}

std::string OrderIdForGeneratedKey(uint64_t nonce, uint64_t counter) {
  return fmt::format("g-{:016x}-{}", nonce, counter);
}

bool ValidOrderId(std::string_view id) {
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

std::string ParseListLimit(std::string_view text, int* limit) {
  if (text.empty()) {
    *limit = kDefaultListLimit;
    return "";
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxListLimit) {
    return fmt::format("limit must be an integer from 1 to {}", kMaxListLimit);
  }
  *limit = value;
  return "";
}

std::string ValidateOrderBody(std::string_view body, std::string* canonical) {
  // Before parsing: the serializer recurses, so depth is bounded first.
  if (NestingDepth(body, kMaxOrderDepth) > kMaxOrderDepth) {
    return fmt::format("body is nested deeper than {} levels", kMaxOrderDepth);
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return "body is not valid JSON";
  if (!j.is_object()) return "body must be a JSON object";
  *canonical = j.dump();
  return "";
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

bool DecodeOrderRecord(std::string_view text, std::string* id, int64_t* seq) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto i = j.find("id");
  auto s = j.find("seq");
  if (i == j.end() || !i->is_string() || s == j.end() || !s->is_number_integer()) return false;
  *id = i->get<std::string>();
  *seq = s->get<int64_t>();
  return true;
}

}  // namespace nines::app
