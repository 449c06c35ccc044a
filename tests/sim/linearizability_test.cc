// The per-key linearizability checker must accept valid histories and reject
// stale reads, lost writes and impossible CAS results.
#include "linearizability.h"

#include <gtest/gtest.h>

namespace nines::sim {
namespace {

ClientOp Put(uint64_t client, std::string v, int64_t call, int64_t ret) {
  ClientOp op;
  op.kind = ClientOp::Kind::kPut;
  op.client = client;
  op.key = "k";
  op.input = std::move(v);
  op.call = call;
  op.ret = ret;
  return op;
}

ClientOp Get(uint64_t client, std::string out, int64_t call, int64_t ret) {
  ClientOp op;
  op.kind = ClientOp::Kind::kGet;
  op.client = client;
  op.key = "k";
  op.output = std::move(out);
  op.call = call;
  op.ret = ret;
  return op;
}

ClientOp Cas(uint64_t client, std::string expected, std::string v, std::string ok, int64_t call,
             int64_t ret) {
  ClientOp op;
  op.kind = ClientOp::Kind::kCas;
  op.client = client;
  op.key = "k";
  op.expected = std::move(expected);
  op.input = std::move(v);
  op.output = std::move(ok);
  op.call = call;
  op.ret = ret;
  return op;
}

TEST(LinearizabilityTest, SequentialHistoryIsFine) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Get(2, "a", 20, 30), Cas(1, "a", "b", "1", 40, 50),
                          Get(2, "b", 60, 70)};
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kOk);
}

TEST(LinearizabilityTest, StaleReadIsCaught) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Put(1, "b", 20, 30), Get(2, "a", 40, 50)};
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kViolation);
}

TEST(LinearizabilityTest, ConcurrentReadMaySeeEitherValue) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Put(1, "b", 20, 60), Get(2, "a", 30, 40),
                          Get(3, "b", 35, 45)};
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kOk);
  // ...but not go back in time once a later read saw the new value.
  h.push_back(Get(2, "a", 70, 80));
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kViolation);
}

TEST(LinearizabilityTest, IndeterminateWriteMayOrMayNotHaveHappened) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Put(2, "x", 20, kNeverReturned), Get(3, "a", 30, 40)};
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kOk);
  h.push_back(Get(3, "x", 50, 60));
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kOk);
  h.push_back(Get(3, "a", 70, 80));  // x took effect, then vanished: lost write
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kViolation);
}

TEST(LinearizabilityTest, ImpossibleCasResultIsCaught) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Cas(2, "z", "b", "1", 20, 30)};
  EXPECT_EQ(CheckKey(h, 100000), LinearizabilityResult::kViolation);
  std::vector<ClientOp> h2{Put(1, "a", 0, 10), Cas(2, "a", "b", "0", 20, 30)};
  EXPECT_EQ(CheckKey(h2, 100000), LinearizabilityResult::kViolation);
}

TEST(LinearizabilityTest, KeysAreCheckedSeparately) {
  std::vector<ClientOp> h{Put(1, "a", 0, 10), Get(2, "a", 20, 30)};
  ClientOp other = Get(3, "zzz", 40, 50);
  other.key = "other";
  h.push_back(other);
  std::string bad;
  EXPECT_EQ(CheckHistory(h, &bad), LinearizabilityResult::kViolation);
  EXPECT_EQ(bad, "other");
}

TEST(LinearizabilityTest, ManyIndeterminateWritesStayTractable) {
  // Timed-out writes stay open forever: the search must still be quick for
  // the simulator's shapes (three clients, a dozen timeouts per key).
  std::vector<ClientOp> h;
  for (int i = 0; i < 12; ++i) {
    h.push_back(Put(i % 3, "v" + std::to_string(i), i * 100, kNeverReturned));
  }
  h.push_back(Get(5, "v3", 1500, 1510));
  h.push_back(Get(5, "v11", 1600, 1610));
  h.push_back(Put(6, "w", 1700, 1710));
  h.push_back(Get(5, "w", 1800, 1810));
  EXPECT_EQ(CheckKey(h, 2'000'000), LinearizabilityResult::kOk);
  h.push_back(Get(5, "v3", 1900, 1910));  // v3 cannot come back after w
  EXPECT_EQ(CheckKey(h, 2'000'000), LinearizabilityResult::kViolation);
}

ClientOp Incr(uint64_t client, std::string out, int64_t call, int64_t ret) {
  ClientOp op;
  op.kind = ClientOp::Kind::kIncr;
  op.client = client;
  op.key = "k";
  op.output = std::move(out);
  op.call = call;
  op.ret = ret;
  return op;
}

TEST(LinearizabilityTest, IncrCountsFromAbsentAndFromASetValue) {
  EXPECT_EQ(CheckKey({Incr(1, "1", 0, 1), Incr(2, "2", 2, 3), Get(1, "2", 4, 5)}, 100000),
            LinearizabilityResult::kOk);
  EXPECT_EQ(CheckKey({Put(1, "41", 0, 1), Incr(2, "42", 2, 3)}, 100000),
            LinearizabilityResult::kOk);
  // Two acknowledged INCRs cannot both return 1; a read cannot lose one.
  EXPECT_EQ(CheckKey({Incr(1, "1", 0, 1), Incr(2, "1", 2, 3)}, 100000),
            LinearizabilityResult::kViolation);
  EXPECT_EQ(CheckKey({Incr(1, "1", 0, 1), Incr(2, "2", 2, 3), Get(1, "1", 4, 5)}, 100000),
            LinearizabilityResult::kViolation);
  // An INCR whose outcome is unknown may or may not have happened.
  EXPECT_EQ(CheckKey({Incr(1, "", 0, kNeverReturned), Get(2, "1", 2, 3)}, 100000),
            LinearizabilityResult::kOk);
  EXPECT_EQ(CheckKey({Incr(1, "", 0, kNeverReturned), Get(2, "", 2, 3)}, 100000),
            LinearizabilityResult::kOk);
}

}  // namespace
}  // namespace nines::sim
