// The orders model: idempotency keys, ids (deterministic and collision-free),
// store keys, list limits, body validation and the record format.
#include "app/orders.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace nines::app {
namespace {

TEST(Orders, IdempotencyKeys) {
  EXPECT_TRUE(ValidIdempotencyKey("abc-DEF_0.9:x"));
  EXPECT_TRUE(ValidIdempotencyKey(std::string(128, 'a')));
  EXPECT_FALSE(ValidIdempotencyKey(std::string(129, 'a')));
  EXPECT_FALSE(ValidIdempotencyKey(""));
  for (std::string bad : {"a b", "a/b", "a%20", "é", "a\r\n", "a,b"}) {
    EXPECT_FALSE(ValidIdempotencyKey(bad)) << bad;
  }
}

TEST(Orders, IdsAreRandomAndScopesSeparateClients) {
  EXPECT_EQ(NewOrderId(0x1234, 7), "o-00000000000012340000000000000007");
  EXPECT_NE(NewOrderId(1, 2), NewOrderId(2, 1));
  EXPECT_TRUE(ValidOrderId(NewOrderId(~0ULL, 0)));
  // Ids written by earlier versions stay readable.
  EXPECT_TRUE(ValidOrderId("k-" + std::string(128, 'z')));
  EXPECT_TRUE(ValidOrderId("g-0000000000001234-7"));
  EXPECT_FALSE(ValidOrderId("abc"));
  EXPECT_FALSE(ValidOrderId("k-"));
  EXPECT_FALSE(ValidOrderId("k-a/b"));
  EXPECT_FALSE(ValidOrderId("o-0000000000001234000000000000000g"));
  EXPECT_FALSE(ValidOrderId("o-00"));
  // Scopes: one per credential, "anon" without one.
  EXPECT_EQ(IdempotencyScope(""), "anon");
  EXPECT_EQ(IdempotencyScope("Bearer a"), IdempotencyScope("Bearer a"));
  EXPECT_NE(IdempotencyScope("Bearer a"), IdempotencyScope("Bearer b"));
  EXPECT_EQ(IdempotencyScope("Bearer a").size(), 16u);
  EXPECT_NE(IdemKey(IdempotencyScope("Bearer a"), "k"), IdemKey(IdempotencyScope("Bearer b"), "k"));
}

TEST(Orders, IdemState) {
  IdemState s{false, NewOrderId(1, 2), BodyFingerprint("{}")};
  std::string text = EncodeIdemState(s);
  EXPECT_EQ(text, "pending o-00000000000000010000000000000002 " + BodyFingerprint("{}"));
  IdemState back;
  ASSERT_TRUE(DecodeIdemState(text, &back));
  EXPECT_FALSE(back.done);
  EXPECT_EQ(back.id, s.id);
  EXPECT_EQ(back.fingerprint, s.fingerprint);
  s.done = true;
  ASSERT_TRUE(DecodeIdemState(EncodeIdemState(s), &back));
  EXPECT_TRUE(back.done);
  for (const char* bad : {"", "done", "done x", "maybe o-1 f", "done nope fp"}) {
    EXPECT_FALSE(DecodeIdemState(bad, &back)) << bad;
  }
  EXPECT_NE(BodyFingerprint(R"({"a":1})"), BodyFingerprint(R"({"a":2})"));
}

TEST(Orders, IdemClaim) {
  std::string id = NewOrderId(1, 2);
  IdemClaim claim{id, BodyFingerprint("{}"), "us-east app 1"};
  std::string text = EncodeIdemClaim(claim);
  EXPECT_EQ(text, "claim " + id + " " + claim.fingerprint + " us-east app 1");
  IdemClaim back;
  ASSERT_TRUE(DecodeIdemClaim(text, &back));
  EXPECT_EQ(back.id, id);
  EXPECT_EQ(back.fingerprint, claim.fingerprint);
  EXPECT_EQ(back.owner, "us-east app 1");
  std::vector<std::string> bad_claims = {"",
                                         "claim",
                                         "claim " + id,
                                         "claim " + id + " fp",
                                         "pending " + id + " fp x",
                                         "claim nope fp x",
                                         "claim " + id + "  x"};
  for (const std::string& bad : bad_claims) {
    EXPECT_FALSE(DecodeIdemClaim(bad, &back)) << bad;
  }
  // A claim is not an idem state, nor the reverse.
  IdemState state;
  EXPECT_FALSE(DecodeIdemState(text, &state));
}

TEST(Orders, StoreKeys) {
  EXPECT_EQ(OrderKey("k-a"), "order:k-a");
  EXPECT_EQ(SequenceKey(), "orders:seq");
  EXPECT_EQ(IndexKey(12), "orders:by_seq:12");
  EXPECT_EQ(IdemKey("anon", "k1"), "idem:anon:k1");
  EXPECT_EQ(ClaimKey("anon", "k1"), "claim:anon:k1");
  // A key holding ":claim" cannot name another key's claim (claims are a prefix apart).
  EXPECT_NE(IdemKey("anon", "k1:claim"), ClaimKey("anon", "k1"));
  int64_t seq = 0;
  EXPECT_TRUE(ParseIndexKey(IndexKey(12), &seq));
  EXPECT_EQ(seq, 12);
  for (const char* bad : {"orders:by_seq:", "orders:by_seq:0", "orders:by_seq:1x", "order:k-1"}) {
    EXPECT_FALSE(ParseIndexKey(bad, &seq)) << bad;
  }
}

TEST(Orders, ListLimit) {
  int limit = 0;
  EXPECT_EQ(ParseListLimit("", &limit).ToString(), "ok");
  EXPECT_EQ(limit, 20);
  EXPECT_EQ(ParseListLimit("1", &limit).ToString(), "ok");
  EXPECT_EQ(limit, 1);
  EXPECT_EQ(ParseListLimit("100", &limit).ToString(), "ok");
  EXPECT_EQ(limit, 100);
  for (std::string bad : {"0", "101", "-1", "5x", "x", " 5", "99999999999"}) {
    EXPECT_FALSE(ParseListLimit(bad, &limit).ok()) << bad;
  }
}

TEST(Orders, BodyValidation) {
  std::string canonical;
  EXPECT_EQ(ValidateOrderBody(R"({ "item" : "book", "qty": 2 })", &canonical).ToString(), "ok");
  EXPECT_EQ(canonical, R"({"item":"book","qty":2})");
  EXPECT_FALSE(ValidateOrderBody("[1,2]", &canonical).ok());
  EXPECT_FALSE(ValidateOrderBody("{\"a\":", &canonical).ok());
  EXPECT_FALSE(ValidateOrderBody("", &canonical).ok());
  EXPECT_FALSE(ValidateOrderBody("\"\xff\"", &canonical).ok());
}

TEST(Orders, RecordRoundTrip) {
  OrderRecord r;
  r.id = "k-abc";
  r.created_ms = 1700000000123;
  r.app = "us-east-app-1";
  r.region = "us-east";
  r.seq = 9;
  r.order_json = R"({"item":"book"})";
  std::string text = EncodeOrderRecord(r);
  EXPECT_EQ(
      text,
      R"({"id":"k-abc","created_ms":1700000000123,"app":"us-east-app-1","region":"us-east","seq":9,"order":{"item":"book"}})");
  EXPECT_EQ(text, EncodeOrderRecord(r));  // same inputs, same bytes
  std::string id;
  int64_t seq = 0;
  ASSERT_TRUE(DecodeOrderRecord(text, &id, &seq));
  EXPECT_EQ(id, "k-abc");
  EXPECT_EQ(seq, 9);
  EXPECT_FALSE(DecodeOrderRecord("{}", &id, &seq));
  EXPECT_FALSE(DecodeOrderRecord("nope", &id, &seq));
  std::string order;
  ASSERT_TRUE(DecodeOrderRecord(text, &id, &seq, &order));
  EXPECT_EQ(order, r.order_json);
}

std::string Nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(Orders, BodyDepthIsBounded) {
  std::string canonical;
  // Within the bound: accepted.
  std::string ok = "{\"a\":" + Nested(kMaxOrderDepth - 1) + "}";
  EXPECT_EQ(ValidateOrderBody(ok, &canonical).ToString(), "ok");
  // One level deeper, and far deeper (within 64 KiB, and beyond): refused, no recursion.
  for (int depth : {kMaxOrderDepth, 5000, 32000, 200000}) {
    std::string deep = "{\"a\":" + Nested(depth) + "}";
    EXPECT_FALSE(ValidateOrderBody(deep, &canonical).ok()) << depth;
  }
  // Brackets inside strings are not nesting.
  std::string quoted = "{\"a\":\"" + std::string(1000, '[') + "\\\"{\"}";
  EXPECT_EQ(ValidateOrderBody(quoted, &canonical).ToString(), "ok");
}

}  // namespace
}  // namespace nines::app
