// The orders data model, pure: idempotency keys and the order ids derived
// from them, the store keys an order lives under, and the record format.
//
// In the store (docs/app.md):
//   order:ID          the record, JSON (exactly the body GET /orders/ID returns)
//   orders:seq        INCR counter giving every new order a sequence number
//   orders:by_seq:N   ID of the order with sequence number N (listing, newest first)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nines::app {

constexpr size_t kMaxIdempotencyKeyBytes = 128;
constexpr int kDefaultListLimit = 20;
constexpr int kMaxListLimit = 100;
// Nesting of [ and { in a POST /orders body, the object itself counting 1.
constexpr int kMaxOrderDepth = 32;

// A token of [A-Za-z0-9._:-], 1..128 bytes.
bool ValidIdempotencyKey(std::string_view key);
// The order id for a client's key: "k-" + key. Injective, so two keys never share an order.
std::string OrderIdForClientKey(std::string_view key);
// The order id for a request without a key: "g-" + 16 hex digits of the
// process's random nonce + "-" + a per-process counter. The "g-" prefix keeps
// these apart from every client key.
std::string OrderIdForGeneratedKey(uint64_t nonce, uint64_t counter);
// Ids as they may appear in GET /orders/ID (what the two functions above make).
bool ValidOrderId(std::string_view id);

std::string OrderKey(std::string_view id);  // "order:ID"
std::string SequenceKey();                  // "orders:seq"
std::string IndexKey(int64_t seq);          // "orders:by_seq:N"

// Parses limit=N of GET /orders ("" -> default). Returns "" or an error message.
std::string ParseListLimit(std::string_view text, int* limit);

struct OrderRecord {
  std::string id;
  int64_t created_ms = 0;
  std::string app;
  std::string region;
  int64_t seq = 0;
  std::string order_json;  // the client's JSON object, re-serialized compactly
};

// Validates a POST /orders body: a JSON object nested at most kMaxOrderDepth
// deep (checked before parsing, without recursion). On success sets
// *canonical to its compact serialization and returns ""; else the error.
std::string ValidateOrderBody(std::string_view body, std::string* canonical);
// The record as stored and returned: {"id","created_ms","app","region","seq","order"}.
std::string EncodeOrderRecord(const OrderRecord& record);
// Reads back id and seq of a stored record; false if it is not one.
bool DecodeOrderRecord(std::string_view text, std::string* id, int64_t* seq);

}  // namespace nines::app
