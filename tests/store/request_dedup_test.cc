// The replicated dedup table (store/request_dedup.h) and its use by the state
// machine: a wrapped write whose request id was applied is not applied again,
// eviction is oldest-first within the bounds, and the table survives a
// snapshot round trip (and older snapshots without it still load).
#include "store/request_dedup.h"

#include <gtest/gtest.h>

#include "base/coding.h"
#include "store/kv_command.h"
#include "store/kv_state.h"
#include "store/outcome.h"

namespace nines::store {
namespace {

std::string Incr(const std::string& key) {
  KvCommand c;
  c.op = KvOp::kIncrBy;
  c.args = {key};
  c.integer = 1;
  std::string out;
  EncodeKvCommand(c, &out);
  return out;
}

TEST(RequestDedup, WrapRoundTrips) {
  std::string wrapped = WrapDeduplicated({7, 99}, "cmd");
  RequestKey key;
  std::string_view command;
  ASSERT_TRUE(UnwrapDeduplicated(wrapped, &key, &command));
  EXPECT_EQ(key, (RequestKey{7, 99}));
  EXPECT_EQ(command, "cmd");
  EXPECT_FALSE(UnwrapDeduplicated(Incr("k"), &key, &command)) << "plain commands are not wrapped";
  EXPECT_FALSE(UnwrapDeduplicated("F", &key, &command)) << "short input";
}

TEST(RequestDedup, RecordsFirstResultOnly) {
  RequestDedup table;
  EXPECT_EQ(table.Find({1, 1}), nullptr);
  table.Record({1, 1}, 10, "first");
  table.Record({1, 1}, 11, "second");
  ASSERT_NE(table.Find({1, 1}), nullptr);
  EXPECT_EQ(*table.Find({1, 1}), "first");
  EXPECT_EQ(table.Find({2, 1}), nullptr) << "keyed by origin too";
  EXPECT_EQ(table.size(), 1u);
}

TEST(RequestDedup, EvictsOldestBeyondTheCountBound) {
  RequestDedup table;
  for (uint64_t i = 1; i <= RequestDedup::kMaxEntries + 5; ++i) table.Record({1, i}, i, "");
  EXPECT_EQ(table.size(), RequestDedup::kMaxEntries);
  EXPECT_EQ(table.evictions(), 5u);
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(table.Find({1, i}), nullptr) << i;
  EXPECT_NE(table.Find({1, 6}), nullptr);
  EXPECT_NE(table.Find({1, RequestDedup::kMaxEntries + 5}), nullptr);
}

TEST(RequestDedup, EvictsOldestBeyondTheByteBound) {
  RequestDedup table;
  std::string big(RequestDedup::kMaxBytes / 4, 'x');
  for (uint64_t i = 1; i <= 5; ++i) table.Record({1, i}, i, big);
  EXPECT_LE(table.bytes(), RequestDedup::kMaxBytes);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.Find({1, 2}), nullptr);
  EXPECT_NE(table.Find({1, 3}), nullptr);
}

TEST(RequestDedup, SerializesInOrderAndEvictsTheSameAfterwards) {
  RequestDedup a;
  for (uint64_t i = 1; i <= 10; ++i) a.Record({i % 3 + 1, 100 - i}, i, "r" + std::to_string(i));
  std::string bytes;
  a.Serialize(&bytes);
  bytes += "tail";
  RequestDedup b;
  size_t used = 0;
  ASSERT_TRUE(b.Deserialize(bytes, &used).ok());
  EXPECT_EQ(used, bytes.size() - 4);
  EXPECT_EQ(b.size(), a.size());
  std::string again;
  b.Serialize(&again);
  EXPECT_EQ(again, bytes.substr(0, used)) << "same order, same bytes";
  // Filling both to the bound evicts the same (oldest) keys on both.
  for (uint64_t i = 0; i < RequestDedup::kMaxEntries; ++i) {
    a.Record({9, i}, 100 + i, "");
    b.Record({9, i}, 100 + i, "");
  }
  std::string full_a, full_b;
  a.Serialize(&full_a);
  b.Serialize(&full_b);
  EXPECT_EQ(full_a, full_b);
}

TEST(RequestDedup, RejectsDamagedInput) {
  RequestDedup a;
  a.Record({1, 2}, 3, "result");
  std::string bytes;
  a.Serialize(&bytes);
  RequestDedup b;
  size_t used = 0;
  EXPECT_FALSE(b.Deserialize(bytes.substr(0, bytes.size() - 1), &used).ok());
  EXPECT_FALSE(b.Deserialize("XXXX", &used).ok());
  EXPECT_EQ(b.size(), 0u);
}

TEST(RequestDedup, StateMachineAppliesARetriedWriteOnce) {
  KvState state;
  std::string wrapped = WrapDeduplicated({5, 1000}, Incr("n"));
  KvResult first = state.Apply(1, wrapped);
  ASSERT_EQ(first.type, KvResult::Type::kInteger);
  EXPECT_EQ(first.integer, 1);
  // The retry (same key) gets the first result; the value stays.
  KvResult again = state.Apply(2, wrapped);
  EXPECT_EQ(again.type, KvResult::Type::kInteger);
  EXPECT_EQ(again.integer, 1);
  EXPECT_EQ(state.applied_index(), 2u);
  // Another id, or no wrapper, is a new write.
  EXPECT_EQ(state.Apply(3, WrapDeduplicated({5, 1001}, Incr("n"))).integer, 2);
  EXPECT_EQ(state.Apply(4, Incr("n")).integer, 3);
  EXPECT_EQ(state.dedup().size(), 2u);

  // The table is kept in snapshots: a member restored from one still refuses the repeat.
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(state.Serialize()).ok());
  EXPECT_EQ(restored.dedup().size(), 2u);
  EXPECT_EQ(restored.Apply(5, wrapped).integer, 1);
  EXPECT_EQ(restored.Apply(6, Incr("n")).integer, 4);
}

TEST(RequestDedup, SnapshotsWithoutTheTableStillLoad) {
  // An older snapshot, written by hand as versions before NVK3 did: magic
  // "NVK1", applied index, clock, one string key, and no table section.
  std::string bytes = "NVK1";
  PutFixed64(&bytes, 1);  // applied index
  PutFixed64(&bytes, 0);  // clock
  PutVarint64(&bytes, 1);
  PutLengthPrefixed(&bytes, "n");
  PutLengthPrefixed(&bytes, "1");
  PutFixed64(&bytes, 0);  // no expiry
  PutFixed64(&bytes, 1);  // version
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(bytes).ok());
  EXPECT_EQ(restored.dedup().size(), 0u);
  EXPECT_EQ(restored.Apply(2, Incr("n")).integer, 2);
  EXPECT_FALSE(restored.Deserialize(bytes + "junk").ok()) << "trailing bytes are refused";
  // An NVK2 snapshot (strings, then the table) cut off where the table starts
  // is damaged, not old; with the table it loads.
  bytes[3] = '2';
  EXPECT_FALSE(restored.Deserialize(bytes).ok());
  std::string empty_table;
  RequestDedup().Serialize(&empty_table);
  ASSERT_TRUE(restored.Deserialize(bytes + empty_table).ok());
  EXPECT_EQ(restored.Apply(2, Incr("n")).integer, 2);
  // Today's snapshots are NVK4 (typed values, WATCH's tombstones) and end
  // with the table.
  KvState state;
  state.Apply(1, Incr("n"));
  std::string now = state.Serialize();
  EXPECT_EQ(now.substr(0, 4), "NVK4");
  EXPECT_EQ(now.substr(now.size() - empty_table.size()), empty_table);
  // NVK3 is NVK4 without the tombstones (here: horizon 0, none): it loads,
  // and knows nothing of removals before it.
  std::string nvk3 = now;
  nvk3[3] = '3';
  const size_t tombstones_at = nvk3.size() - empty_table.size() - 2;
  ASSERT_EQ(nvk3.substr(tombstones_at, 2), std::string(2, '\0'));
  nvk3.erase(tombstones_at, 2);
  ASSERT_TRUE(restored.Deserialize(nvk3).ok());
  EXPECT_EQ(restored.tombstones().horizon(), 1u);
  EXPECT_EQ(restored.Apply(2, Incr("n")).integer, 2);
}

TEST(Outcome, ErrorsTellAppliedFromUnknown) {
  EXPECT_EQ(TryAgainError("no leader"), "TRYAGAIN no leader");
  EXPECT_EQ(UnknownOutcomeError("timeout"), "UNKNOWN outcome unknown: timeout");
  EXPECT_TRUE(IsUnknownOutcome(UnknownOutcomeError("x")));
  EXPECT_FALSE(IsUnknownOutcome(TryAgainError("x")));
  EXPECT_EQ(HttpStatusForError(UnknownOutcomeError("x")), 504);
  EXPECT_EQ(HttpStatusForError(TryAgainError("x")), 503);
  EXPECT_EQ(TooLargeError(70, 60).rfind("ERR command too large", 0), 0u);
  EXPECT_EQ(HttpStatusForError(TooLargeError(70, 60)), 413);
}

TEST(Outcome, ForwardedRequestsParse) {
  std::vector<std::string> args = {"INCR", "k"};
  RequestKey key{3, 17};
  std::string encoded;
  EncodeForwarded(&key, args, &encoded);
  EXPECT_EQ(encoded, "*5\r\n$9\r\nNINES.FWD\r\n$1\r\n3\r\n$2\r\n17\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  std::vector<std::string_view> in = {"nines.fwd", "3", "17", "INCR", "k"};
  ASSERT_TRUE(IsForwarded(in));
  RequestKey parsed;
  std::vector<std::string_view> command;
  Status s = ParseForwarded(in, &parsed, &command);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(parsed, key);
  EXPECT_EQ(command, (std::vector<std::string_view>{"INCR", "k"}));
  s = ParseForwarded({"NINES.FWD", "3", "17"}, &parsed, &command);
  EXPECT_EQ(s.message(), "ERR wrong number of arguments for 'nines.fwd' command");
  EXPECT_FALSE(ParseForwarded({"NINES.FWD", "0", "17", "GET", "k"}, &parsed, &command).ok());
  EXPECT_FALSE(ParseForwarded({"NINES.FWD", "3", "-1", "GET", "k"}, &parsed, &command).ok());
  EXPECT_FALSE(IsForwarded({"GET", "k"}));
}

// A retry that arrives after its id was evicted from the table must not be
// applied a second time: the table remembers the evicted id ranges, and the
// retry is answered "outcome unknown" (it was applied once, long ago, or is
// a first attempt so late that its client was told so already).
TEST(RequestDedup, RetryOfAnEvictedIdIsUnknownInsteadOfAppliedTwice) {
  KvState state;
  const std::string retried = WrapDeduplicated({5, 1000}, Incr("n"));
  uint64_t index = 0;
  ASSERT_EQ(state.Apply(++index, retried).integer, 1);
  for (uint64_t id = 1001; id <= 1000 + RequestDedup::kMaxEntries; ++id) {
    state.Apply(++index, WrapDeduplicated({5, id}, Incr("other")));
  }
  ASSERT_GT(state.dedup().evictions(), 0u) << "the first id is out of the table";

  KvResult again = state.Apply(++index, retried);
  EXPECT_EQ(again.type, KvResult::Type::kError);
  EXPECT_TRUE(IsUnknownOutcome(again.bulk)) << again.bulk;
  EXPECT_EQ(state.Apply(++index, Incr("n")).integer, 2) << "the retry was applied again";

  // The same after a snapshot round trip.
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(state.Serialize()).ok());
  KvResult later = restored.Apply(++index, retried);
  EXPECT_EQ(later.type, KvResult::Type::kError);
  EXPECT_TRUE(IsUnknownOutcome(later.bulk)) << later.bulk;
  EXPECT_EQ(restored.Apply(++index, Incr("n")).integer, 3);
  // Ids of another boot (another nonce) and of other members are new writes.
  EXPECT_EQ(restored.Apply(++index, WrapDeduplicated({5, 1000 + (1ull << 40)}, Incr("n"))).integer,
            4);
  EXPECT_EQ(restored.Apply(++index, WrapDeduplicated({6, 1000}, Incr("n"))).integer, 5);
}

// Evicted ids of one boot merge into one range; another boot's (far away)
// get their own; the ranges are bounded, least recently extended dropped.
TEST(RequestDedup, EvictedRangesMergePerBootAndStayBounded) {
  RequestDedup table;
  const uint64_t boot1 = 1ull << 50;
  const uint64_t boot2 = 1ull << 60;
  uint64_t index = 0;
  for (uint64_t i = 0; i < RequestDedup::kMaxEntries; ++i)
    table.Record({1, boot1 + 3 * i}, ++index, "");
  for (uint64_t i = 0; i < RequestDedup::kMaxEntries; ++i)
    table.Record({1, boot2 + 3 * i}, ++index, "");
  EXPECT_EQ(table.evicted_ranges(), 1u);
  EXPECT_TRUE(table.Evicted({1, boot1}));
  EXPECT_TRUE(table.Evicted({1, boot1 + 3 * (RequestDedup::kMaxEntries - 1)}));
  EXPECT_FALSE(table.Evicted({1, boot2})) << "still in the table";
  EXPECT_FALSE(table.Evicted({2, boot1})) << "keyed by origin";
  EXPECT_FALSE(table.Evicted({1, boot1 - RequestDedup::kMaxRangeGap * 4}));

  RequestDedup far;
  const uint64_t step = RequestDedup::kMaxRangeGap * 4;
  const uint64_t extra = RequestDedup::kMaxEvictedRanges + 100;
  for (uint64_t i = 0; i < RequestDedup::kMaxEntries + extra; ++i)
    far.Record({1, i * step}, i + 1, "");
  EXPECT_EQ(far.evicted_ranges(), RequestDedup::kMaxEvictedRanges);
  EXPECT_FALSE(far.Evicted({1, 0})) << "the least recently extended range was dropped";
  EXPECT_TRUE(far.Evicted({1, (extra - 1) * step}));
  // The ranges survive serialization, byte for byte.
  std::string bytes;
  far.Serialize(&bytes);
  RequestDedup copy;
  size_t used = 0;
  ASSERT_TRUE(copy.Deserialize(bytes, &used).ok());
  EXPECT_EQ(used, bytes.size());
  EXPECT_EQ(copy.evicted_ranges(), far.evicted_ranges());
  EXPECT_TRUE(copy.Evicted({1, (extra - 1) * step}));
  std::string again;
  copy.Serialize(&again);
  EXPECT_EQ(again, bytes);
}

// A table written before evicted ranges were kept ("RQD1") still loads.
TEST(RequestDedup, TablesWithoutEvictedRangesStillLoad) {
  RequestDedup a;
  a.Record({1, 2}, 3, "result");
  std::string bytes;
  a.Serialize(&bytes);
  ASSERT_EQ(bytes.substr(0, 4), "RQD2");
  ASSERT_EQ(bytes.back(), '\0') << "no ranges: a zero count at the end";
  bytes.pop_back();
  bytes[3] = '1';
  RequestDedup b;
  size_t used = 0;
  ASSERT_TRUE(b.Deserialize(bytes, &used).ok());
  EXPECT_EQ(used, bytes.size());
  ASSERT_NE(b.Find({1, 2}), nullptr);
  EXPECT_EQ(*b.Find({1, 2}), "result");
}

}  // namespace
}  // namespace nines::store
