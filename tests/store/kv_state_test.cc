// The state machine: every write op's semantics (Redis's where Redis has
// them), expiry driven only by command timestamps, versions, SCAN/KEYS,
// snapshots, and determinism across two members applying the same log.
#include "store/kv_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

namespace nines::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // a leader-stamped "now"

class KvStateTest : public ::testing::Test {
 protected:
  KvResult Run(KvCommand c, int64_t now = kT0) {
    c.now_ms = now;
    std::string encoded;
    EncodeKvCommand(c, &encoded);
    KvResult r = state_.Apply(++index_, encoded);
    EXPECT_TRUE(state_.CheckIndexes());
    return r;
  }
  static KvCommand Cmd(KvOp op, std::vector<std::string_view> args) {
    KvCommand c;
    c.op = op;
    c.args = std::move(args);
    return c;
  }
  KvResult Set(std::string_view k, std::string_view v, uint8_t flags = 0,
               ExpireKind kind = ExpireKind::kNone, int64_t expire = 0, int64_t now = kT0) {
    KvCommand c = Cmd(KvOp::kSet, {k, v});
    c.flags = flags;
    c.expire_kind = kind;
    c.integer = expire;
    return Run(c, now);
  }
  KvResult IncrBy(std::string_view k, int64_t delta) {
    KvCommand c = Cmd(KvOp::kIncrBy, {k});
    c.integer = delta;
    return Run(c);
  }
  KvResult Expire(std::string_view k, int64_t ms, uint8_t flags = 0, int64_t now = kT0) {
    KvCommand c = Cmd(KvOp::kExpire, {k});
    c.expire_kind = ExpireKind::kRelativeMs;
    c.integer = ms;
    c.flags = flags;
    return Run(c, now);
  }
  std::string Get(std::string_view k, int64_t now = kT0) {
    const KvEntry* e = state_.Find(k, now);
    return e ? e->value : "(nil)";
  }

  KvState state_;
  uint64_t index_ = 0;
};

TEST_F(KvStateTest, SetGetBinarySafe) {
  std::string key("k\0\xff", 3);
  std::string value("\0\r\n\0", 4);
  EXPECT_EQ(Set(key, value).type, KvResult::Type::kOk);
  EXPECT_EQ(Get(key), value);
  EXPECT_EQ(state_.Find(key, kT0)->version, 1u);
  EXPECT_EQ(Get("other"), "(nil)");
  EXPECT_EQ(state_.applied_index(), 1u);
}

TEST_F(KvStateTest, SetNxXxGet) {
  EXPECT_EQ(Set("k", "v1", kFlagXx).type, KvResult::Type::kNil);  // XX on absent
  EXPECT_EQ(Get("k"), "(nil)");
  EXPECT_EQ(Set("k", "v1", kFlagNx).type, KvResult::Type::kOk);
  EXPECT_EQ(Set("k", "v2", kFlagNx).type, KvResult::Type::kNil);  // NX on present
  EXPECT_EQ(Get("k"), "v1");
  KvResult r = Set("k", "v3", kFlagXx | kFlagGet);
  ASSERT_EQ(r.type, KvResult::Type::kBulk);
  EXPECT_EQ(r.bulk, "v1");
  EXPECT_EQ(Get("k"), "v3");
  // NX GET on a present key: returns the old value, does not set (Redis 7).
  r = Set("k", "v4", kFlagNx | kFlagGet);
  EXPECT_EQ(r.bulk, "v3");
  EXPECT_EQ(Get("k"), "v3");
  EXPECT_EQ(Set("new", "x", kFlagGet).type, KvResult::Type::kNil);
}

TEST_F(KvStateTest, ExpiryFollowsCommandTimeNotAClock) {
  Set("k", "v", 0, ExpireKind::kRelativeMs, 1000, kT0);
  EXPECT_EQ(Get("k", kT0 + 999), "v");
  EXPECT_EQ(state_.PttlMs("k", kT0 + 400), 600);
  EXPECT_EQ(Get("k", kT0 + 1000), "(nil)");
  EXPECT_EQ(state_.PttlMs("k", kT0 + 1000), -2);
  // Still stored until a command removes it; counted as absent.
  EXPECT_EQ(state_.stored_keys(), 1u);
  EXPECT_EQ(state_.LiveKeyCount(kT0 + 1000), 0u);
  EXPECT_EQ(state_.LiveKeyCount(kT0), 1u);
  // A later command (time stamped past the expiry) removes it lazily.
  EXPECT_EQ(Run(Cmd(KvOp::kGetDel, {"k"}), kT0 + 2000).type, KvResult::Type::kNil);
  EXPECT_EQ(state_.stored_keys(), 0u);
}

TEST_F(KvStateTest, ClockNeverRunsBackward) {
  Set("k", "v", 0, ExpireKind::kRelativeMs, 1000, kT0);
  Set("other", "x", 0, ExpireKind::kNone, 0, kT0 + 5000);  // a leader with a fast clock
  EXPECT_EQ(state_.clock_ms(), kT0 + 5000);
  // A new leader whose clock is behind cannot resurrect k.
  KvResult r = Run(Cmd(KvOp::kGetDel, {"k"}), kT0);
  EXPECT_EQ(r.type, KvResult::Type::kNil);
  EXPECT_EQ(state_.clock_ms(), kT0 + 5000);
  // Relative expiry counts from the applied clock; reads at an earlier now
  // are raised to it.
  Set("k2", "v", 0, ExpireKind::kRelativeMs, 100, kT0);
  EXPECT_EQ(state_.PttlMs("k2", kT0), 100);
  EXPECT_EQ(Get("k2", kT0 + 5100), "(nil)");
}

TEST_F(KvStateTest, SetKeepTtlAndPlainSetClearsTtl) {
  Set("k", "v", 0, ExpireKind::kRelativeMs, 10'000);
  Set("k", "v2", kFlagKeepTtl);
  EXPECT_EQ(state_.PttlMs("k", kT0), 10'000);
  Set("k", "v3");
  EXPECT_EQ(state_.PttlMs("k", kT0), -1);
  EXPECT_EQ(state_.keys_with_expiry(), 0u);
}

TEST_F(KvStateTest, SetWithPastAbsoluteExpiryDeletes) {
  Set("k", "v");
  EXPECT_EQ(Set("k", "v2", 0, ExpireKind::kAbsoluteMs, kT0 - 1).type, KvResult::Type::kOk);
  EXPECT_EQ(state_.stored_keys(), 0u);
}

TEST_F(KvStateTest, IncrByLikeRedis) {
  EXPECT_EQ(IncrBy("n", 5).integer, 5);
  EXPECT_EQ(IncrBy("n", -7).integer, -2);
  EXPECT_EQ(Get("n"), "-2");
  Set("s", "abc");
  KvResult r = IncrBy("s", 1);
  EXPECT_EQ(r.type, KvResult::Type::kError);
  EXPECT_EQ(r.bulk, "ERR value is not an integer or out of range");
  for (const char* bad : {" 1", "1 ", "+1", "01", "-0", "1.5", "", "99999999999999999999"}) {
    Set("b", bad);
    EXPECT_EQ(IncrBy("b", 1).bulk, kErrNotInteger) << bad;
  }
  Set("max", "9223372036854775807");
  EXPECT_EQ(IncrBy("max", 1).bulk, "ERR increment or decrement would overflow");
  Set("min", "-9223372036854775808");
  EXPECT_EQ(IncrBy("min", -1).bulk, kErrOverflow);
  EXPECT_EQ(IncrBy("min", 1).integer, -9223372036854775807);
  // INCR keeps a TTL.
  Set("t", "1", 0, ExpireKind::kRelativeMs, 5000);
  IncrBy("t", 1);
  EXPECT_EQ(state_.PttlMs("t", kT0), 5000);
}

TEST_F(KvStateTest, AppendRespectsTheLimit) {
  KvCommand c = Cmd(KvOp::kAppend, {"k", "hello"});
  c.number = 8;
  EXPECT_EQ(Run(c).integer, 5);
  c.args = {"k", " world"};
  KvResult r = Run(c);
  EXPECT_EQ(r.type, KvResult::Type::kError);
  EXPECT_EQ(r.bulk, kErrStringTooLong);
  c.args = {"k", "abc"};
  EXPECT_EQ(Run(c).integer, 8);
  EXPECT_EQ(Get("k"), "helloabc");
}

TEST_F(KvStateTest, MSetDelGetDelFlushAll) {
  EXPECT_EQ(Run(Cmd(KvOp::kMSet, {"a", "1", "b", "2", "a", "3"})).type, KvResult::Type::kOk);
  EXPECT_EQ(Get("a"), "3");
  EXPECT_EQ(Run(Cmd(KvOp::kDel, {"a", "a", "zz"})).integer, 1);
  KvResult r = Run(Cmd(KvOp::kGetDel, {"b"}));
  EXPECT_EQ(r.bulk, "2");
  EXPECT_EQ(state_.stored_keys(), 0u);
  Set("x", "1", 0, ExpireKind::kRelativeMs, 100);
  Set("y", "1");
  EXPECT_EQ(Run(Cmd(KvOp::kFlushAll, {})).type, KvResult::Type::kOk);
  EXPECT_EQ(state_.stored_keys(), 0u);
  EXPECT_EQ(state_.keys_with_expiry(), 0u);
  EXPECT_EQ(state_.memory_bytes(), 0u);
}

TEST_F(KvStateTest, ExpireOptionsAndPersist) {
  EXPECT_EQ(Expire("missing", 100).integer, 0);
  Set("k", "v");
  EXPECT_EQ(Expire("k", 100, kFlagXx).integer, 0);  // no TTL yet
  EXPECT_EQ(Expire("k", 100, kFlagGt).integer, 0);  // no TTL = infinite
  EXPECT_EQ(Expire("k", 100, kFlagNx).integer, 1);
  EXPECT_EQ(Expire("k", 200, kFlagNx).integer, 0);
  EXPECT_EQ(Expire("k", 50, kFlagGt).integer, 0);
  EXPECT_EQ(Expire("k", 500, kFlagGt).integer, 1);
  EXPECT_EQ(Expire("k", 900, kFlagLt).integer, 0);
  EXPECT_EQ(Expire("k", 300, kFlagLt).integer, 1);
  EXPECT_EQ(state_.PttlMs("k", kT0), 300);
  EXPECT_EQ(Run(Cmd(KvOp::kPersist, {"k"})).integer, 1);
  EXPECT_EQ(Run(Cmd(KvOp::kPersist, {"k"})).integer, 0);
  EXPECT_EQ(state_.PttlMs("k", kT0), -1);
  EXPECT_EQ(Expire("k", -1).integer, 1);  // in the past: deleted
  EXPECT_EQ(state_.stored_keys(), 0u);
}

TEST_F(KvStateTest, VersionsAndCompareAndSet) {
  Set("k", "v1");
  const uint64_t v1 = state_.Find("k", kT0)->version;
  EXPECT_EQ(v1, index_);
  KvCommand cas = Cmd(KvOp::kCasSet, {"k", "v2"});
  cas.number = v1 + 100;
  KvResult r = Run(cas);
  EXPECT_EQ(r.type, KvResult::Type::kError);
  EXPECT_EQ(r.bulk, "CONFLICT");
  EXPECT_EQ(r.version, v1);
  cas.number = v1;
  r = Run(cas);
  EXPECT_EQ(r.type, KvResult::Type::kOk);
  EXPECT_EQ(r.version, index_);
  EXPECT_EQ(Get("k"), "v2");
  // Version 0 means "must not exist".
  KvCommand create = Cmd(KvOp::kCasSet, {"fresh", "x"});
  EXPECT_EQ(Run(create).type, KvResult::Type::kOk);
  EXPECT_EQ(Run(create).type, KvResult::Type::kError);
  KvCommand del = Cmd(KvOp::kCasDel, {"fresh"});
  del.number = 1;
  EXPECT_EQ(Run(del).type, KvResult::Type::kError);
  del.number = state_.Find("fresh", kT0)->version;
  EXPECT_EQ(Run(del).type, KvResult::Type::kOk);
  EXPECT_EQ(Get("fresh"), "(nil)");
}

TEST_F(KvStateTest, PurgeExpiredRemovesOnlyExpiredUpToTheLimit) {
  for (int i = 0; i < 10; ++i) {
    Set("e" + std::to_string(i), "v", 0, ExpireKind::kRelativeMs, 10 + i);
  }
  Set("keep", "v", 0, ExpireKind::kRelativeMs, 100'000);
  KvCommand purge = Cmd(KvOp::kPurgeExpired, {});
  purge.number = 4;
  EXPECT_EQ(Run(purge, kT0 + 1000).integer, 4);
  EXPECT_EQ(state_.stored_keys(), 7u);
  purge.number = 100;
  EXPECT_EQ(Run(purge, kT0 + 1000).integer, 6);
  EXPECT_EQ(state_.stored_keys(), 1u);
}

TEST_F(KvStateTest, MalformedCommandIsAnErrorResultAndAdvancesTheIndex) {
  KvResult r = state_.Apply(1, "garbage");
  EXPECT_EQ(r.type, KvResult::Type::kError);
  EXPECT_NE(r.bulk.find("malformed command"), std::string::npos);
  EXPECT_EQ(state_.applied_index(), 1u);
}

TEST(Glob, RedisPatterns) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h[b-a]llo", "hallo"));  // reversed range, as Redis
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("user:*:name", "user:42:name"));
  EXPECT_FALSE(GlobMatch("user:*:name", "user:42:age"));
  EXPECT_TRUE(GlobMatch("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(GlobMatch("abc", "abcd"));
  EXPECT_TRUE(GlobMatch("[abc", "a"));  // unterminated class
  // Pathological pattern stays fast (iterative, no exponential backtracking).
  EXPECT_FALSE(GlobMatch("a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(ParseRedisInt64, LikeString2ll) {
  int64_t v;
  EXPECT_TRUE(ParseRedisInt64("0", &v) && v == 0);
  EXPECT_TRUE(ParseRedisInt64("-9223372036854775808", &v) && v == INT64_MIN);
  EXPECT_TRUE(ParseRedisInt64("9223372036854775807", &v) && v == INT64_MAX);
  for (const char* bad : {"", "-", "-0", "01", "+1", " 1", "1a", "9223372036854775808",
                          "-9223372036854775809", "184467440737095516150"}) {
    EXPECT_FALSE(ParseRedisInt64(bad, &v)) << bad;
  }
}

TEST_F(KvStateTest, ScanVisitsEveryKeyPresentThroughout) {
  for (int i = 0; i < 500; ++i) Set("key:" + std::to_string(i), "v");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int pages = 0;
  do {
    ScanPage page = state_.Scan(cursor, 10, "", kT0);
    for (std::string_view k : page.keys) seen.insert(std::string(k));
    cursor = page.next_cursor;
    // Churn between pages: new keys and deletions must not hide old ones.
    Set("churn:" + std::to_string(pages), "x");
    if (pages % 3 == 0) Run(Cmd(KvOp::kDel, {"churn:" + std::to_string(pages)}));
    ASSERT_LT(++pages, 1000);
  } while (cursor != 0);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen.count("key:" + std::to_string(i)), 1u) << i;
  EXPECT_GT(pages, 40);
}

TEST_F(KvStateTest, ScanCursorsSurviveIndexGrowthMidIteration) {
  for (int i = 0; i < 100; ++i) Set("old:" + std::to_string(i), "v");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int page_number = 0;
  do {
    ScanPage page = state_.Scan(cursor, 50, "old:*", kT0);
    for (std::string_view k : page.keys) seen.insert(std::string(k));
    cursor = page.next_cursor;
    // New keys as the iteration goes: the index doubles its buckets
    // several times (16 buckets hold 128 keys before the first doubling).
    for (int i = 0; i < 40; ++i) Set("new:" + std::to_string(page_number * 40 + i), "v");
    ++page_number;
    ASSERT_LT(page_number, 10000);
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(state_.CheckIndexes());
}

TEST_F(KvStateTest, ScanMatchAndExpiredKeys) {
  Set("user:1", "a");
  Set("user:2", "b");
  Set("order:1", "c");
  Set("user:3", "d", 0, ExpireKind::kRelativeMs, 10);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    ScanPage page = state_.Scan(cursor, 2, "user:*", kT0 + 100);
    for (std::string_view k : page.keys) seen.insert(std::string(k));
    cursor = page.next_cursor;
  } while (cursor != 0);
  EXPECT_EQ(seen, (std::set<std::string>{"user:1", "user:2"}));
  auto keys = state_.Keys("user:*", kT0);
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(state_.Keys("*", kT0 + 100).size(), 3u);
  EXPECT_EQ(state_.Keys("*", kT0, 2).size(), 2u);
}

TEST_F(KvStateTest, SnapshotRoundTripIsExact) {
  Set("a", "1");
  Set("b", std::string("\0bin", 4), 0, ExpireKind::kRelativeMs, 5000);
  IncrBy("n", 10);
  std::string bytes = state_.Serialize();
  KvState copy;
  ASSERT_TRUE(copy.Deserialize(bytes).ok());
  EXPECT_TRUE(copy.CheckIndexes());
  EXPECT_EQ(copy.Serialize(), bytes);
  EXPECT_EQ(copy.applied_index(), state_.applied_index());
  EXPECT_EQ(copy.clock_ms(), state_.clock_ms());
  EXPECT_EQ(copy.Find("b", kT0)->value, std::string("\0bin", 4));
  EXPECT_EQ(copy.PttlMs("b", kT0), 5000);
  EXPECT_EQ(copy.Find("n", kT0)->version, 3u);
  EXPECT_EQ(copy.memory_bytes(), state_.memory_bytes());
}

TEST_F(KvStateTest, DamagedSnapshotIsRejectedAndLeavesEmptyState) {
  Set("a", "1");
  Set("b", "2");
  std::string bytes = state_.Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    KvState copy;
    EXPECT_FALSE(copy.Deserialize(bytes.substr(0, n)).ok()) << n;
    EXPECT_EQ(copy.stored_keys(), 0u);
  }
  KvState copy;
  EXPECT_FALSE(copy.Deserialize(bytes + "x").ok());
}

TEST(KvStateDeterminism, TwoMembersApplyingTheSameLogAgree) {
  std::mt19937 rng(99);
  KvState a;
  KvState b;
  std::vector<std::string> log;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "k" + std::to_string(rng() % 50);
    std::string value = std::to_string(rng() % 1000);
    KvCommand c;
    c.now_ms = kT0 + i * 10 - static_cast<int64_t>(rng() % 500);  // leaders' clocks disagree
    switch (rng() % 8) {
      case 0:
        c.op = KvOp::kSet;
        c.args = {key, value};
        c.flags = static_cast<uint8_t>(rng() % 3);
        if (rng() % 2) {
          c.expire_kind = ExpireKind::kRelativeMs;
          c.integer = rng() % 300;
        }
        break;
      case 1:
        c.op = KvOp::kDel;
        c.args = {key};
        break;
      case 2:
        c.op = KvOp::kIncrBy;
        c.args = {key};
        c.integer = rng() % 7;
        break;
      case 3:
        c.op = KvOp::kAppend;
        c.args = {key, value};
        c.number = 64;
        break;
      case 4:
        c.op = KvOp::kExpire;
        c.args = {key};
        c.expire_kind = ExpireKind::kRelativeMs;
        c.integer = rng() % 200;
        break;
      case 5:
        c.op = KvOp::kPersist;
        c.args = {key};
        break;
      case 6:
        c.op = KvOp::kPurgeExpired;
        c.number = 5;
        break;
      default:
        c.op = KvOp::kGetDel;
        c.args = {key};
        break;
    }
    std::string encoded;
    EncodeKvCommand(c, &encoded);
    log.push_back(encoded);
  }
  std::vector<KvResult> results_a;
  for (size_t i = 0; i < log.size(); ++i) results_a.push_back(a.Apply(i + 1, log[i]));
  // b restarts from a snapshot half way.
  for (size_t i = 0; i < log.size() / 2; ++i) b.Apply(i + 1, log[i]);
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(b.Serialize()).ok());
  for (size_t i = log.size() / 2; i < log.size(); ++i) {
    KvResult r = restored.Apply(i + 1, log[i]);
    ASSERT_EQ(r.type, results_a[i].type) << i;
    ASSERT_EQ(r.integer, results_a[i].integer) << i;
    ASSERT_EQ(r.bulk, results_a[i].bulk) << i;
  }
  EXPECT_EQ(a.Serialize(), restored.Serialize());
  EXPECT_TRUE(a.CheckIndexes());
}

// Applying a log index twice (or out of order) would corrupt the state
// silently; the check must stay on in release builds (-DNDEBUG), where a
// plain assert vanishes.
TEST(KvStateDeathTest, ApplyingAnIndexNotAboveTheAppliedOneStopsInEveryBuild) {
  KvState state;
  KvCommand c;
  c.op = KvOp::kSet;
  c.args = {"k", "v"};
  c.now_ms = kT0;
  std::string encoded;
  EncodeKvCommand(c, &encoded);
  state.Apply(5, encoded);
  EXPECT_DEATH(state.Apply(5, encoded), "invariant broken");
  EXPECT_DEATH(state.Apply(4, "\xff not a command"), "invariant broken");
}

}  // namespace
}  // namespace nines::store
