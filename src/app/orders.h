// The orders data model, pure: idempotency keys and their per-client scope,
// order ids, the store keys an order lives under, and the record format.
//
// In the store (docs/app.md):
//   order:ID            the record, JSON (exactly the body GET /orders/ID returns)
//   orders:seq          INCR counter: every created order takes one number
//   orders:by_seq:N     ID of the order with sequence number N (listing, newest first)
//   idem:SCOPE:KEY      "done ID FP": the order a client's Idempotency-Key made
//                       (written in one MSETNX with the order; see IdemState)
//   claim:SCOPE:KEY     "claim ID FP OWNER": the request working on the key, with
//                       a short lease (PX) its owner renews (see IdemClaim)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nines::app {

constexpr size_t kMaxIdempotencyKeyBytes = 128;
constexpr int kDefaultListLimit = 20;
constexpr int kMaxListLimit = 100;
// Nesting of [ and { in a POST /orders body, the object itself counting 1.
constexpr int kMaxOrderDepth = 32;

// A token of [A-Za-z0-9._:-], 1..128 bytes.
bool ValidIdempotencyKey(std::string_view key);
// The scope of a client's keys: 16 hex digits of a hash of its credential
// (the Authorization header), or "anon" for requests without one.
std::string IdempotencyScope(std::string_view authorization);
// A new order id: "o-" + 32 hex digits of randomness (not derived from the
// key, so it cannot be guessed from it).
std::string NewOrderId(uint64_t high, uint64_t low);
// Ids as they may appear in GET /orders/ID: NewOrderId's, and the k-KEY /
// g-NONCE-N ids of orders written by earlier versions.
bool ValidOrderId(std::string_view id);

std::string OrderKey(std::string_view id);  // "order:ID"
std::string SequenceKey();                  // "orders:seq"
std::string IndexKey(int64_t seq);          // "orders:by_seq:N"
std::string IndexPattern();                 // "orders:by_seq:*" (SCAN MATCH)
// orders:by_seq:N -> N; false if the key is not one.
bool ParseIndexKey(std::string_view key, int64_t* seq);
std::string IdemKey(std::string_view scope, std::string_view key);   // "idem:SCOPE:KEY"
std::string ClaimKey(std::string_view scope, std::string_view key);  // "claim:SCOPE:KEY"

// The value of idem:SCOPE:KEY: "done ID FP" once the order exists (FP is the
// fingerprint of the request body). "pending ID FP" is what versions before
// claims wrote while a request ran (with a TTL): still read, never written.
struct IdemState {
  bool done = false;
  std::string id;
  std::string fingerprint;
};
std::string EncodeIdemState(const IdemState& state);
bool DecodeIdemState(std::string_view text, IdemState* state);

// The value of claim:SCOPE:KEY while a request works on the key: the order id
// it will create (new and random for every request, so it is also the
// request's token: a claim is "ours" exactly when its id is ours), the body's
// fingerprint, and the owner app's name (for people reading the store).
struct IdemClaim {
  std::string id;
  std::string fingerprint;
  std::string owner;
};
std::string EncodeIdemClaim(const IdemClaim& claim);  // "claim ID FP OWNER"
bool DecodeIdemClaim(std::string_view text, IdemClaim* claim);
// 16 hex digits of a hash of the canonical body.
std::string BodyFingerprint(std::string_view canonical);

// Parses limit=N of GET /orders ("" -> default); an error is InvalidArgument.
Status ParseListLimit(std::string_view text, int* limit);

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
// *canonical to its compact serialization; an error is InvalidArgument.
Status ValidateOrderBody(std::string_view body, std::string* canonical);
// The record as stored and returned: {"id","created_ms","app","region","seq","order"}.
std::string EncodeOrderRecord(const OrderRecord& record);
// Reads back id, seq and the canonical order of a stored record; false if it is not one.
bool DecodeOrderRecord(std::string_view text, std::string* id, int64_t* seq,
                       std::string* order_json = nullptr);

}  // namespace nines::app
