// The chaos history checks catch what they are for: a planted lost write, a
// stale read, lost or doubled increments, typed transactions applied in part,
// twice or lost; and pass a clean history with unknown outcomes in it.
#include "history.h"

#include "typed_group.h"

#include <gtest/gtest.h>

namespace nines::chaos {
namespace {

Op Make(OpType type, const std::string& key, int64_t call, int64_t ret,
        Outcome outcome = Outcome::kOk) {
  Op op;
  op.type = type;
  op.key = key;
  op.call_us = call;
  op.ret_us = ret;
  op.outcome = outcome;
  return op;
}
Op Write(const std::string& key, const std::string& v, int64_t call, int64_t ret,
         Outcome outcome = Outcome::kOk) {
  Op op = Make(OpType::kWrite, key, call, ret, outcome);
  op.value = v;
  return op;
}
Op Read(const std::string& key, const std::string& v, int64_t call, int64_t ret) {
  Op op = Make(OpType::kRead, key, call, ret);
  op.output = v;
  return op;
}
Op Incr(const std::string& key, const std::string& result, int64_t call, int64_t ret,
        Outcome outcome = Outcome::kOk) {
  Op op = Make(OpType::kIncr, key, call, ret, outcome);
  op.output = result;
  return op;
}
Op Cas(const std::string& key, const std::string& expected, const std::string& v, bool applied,
       int64_t call, int64_t ret) {
  Op op = Make(OpType::kCas, key, call, ret);
  op.expected = expected;
  op.value = v;
  op.output = applied ? "1" : "0";
  return op;
}

TEST(ChaosHistory, CleanHistoryWithUnknownOutcomesPasses) {
  std::vector<Op> h = {
      Write("r1", "a", 0, 10),
      Write("r1", "b", 20, 30, Outcome::kUnknown),  // may or may not have happened
      Read("r1", "a", 40, 50),
      Cas("r1", "a", "c", true, 60, 70),
      Read("r1", "c", 80, 90),
      Write("r1", "x", 95, 99, Outcome::kFail),  // certainly not applied
      Incr("c1", "1", 0, 10),
      Incr("c1", "", 5, 15, Outcome::kUnknown),
      Incr("c1", "3", 20, 30),
      Read("c1", "3", 40, 50),
  };
  std::vector<Op> finals = {Read("r1", "c", 1000, 1010), Read("c1", "3", 1000, 1010)};
  CheckReport r = CheckHistory(h, finals);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front();
  EXPECT_EQ(r.operations, 9u);
  EXPECT_EQ(r.keys, 2u);
}

TEST(ChaosHistory, ReportsLostAcknowledgedWrite) {
  std::vector<Op> h = {Write("r1", "a", 0, 10), Write("r1", "b", 20, 30)};
  CheckReport r = CheckHistory(h, {Read("r1", "a", 100, 110)});
  ASSERT_FALSE(r.violations.empty());
  bool lost = false;
  for (const std::string& v : r.violations) lost |= v.find("lost acknowledged write") != v.npos;
  EXPECT_TRUE(lost);
  // Absent at the end although a write was acknowledged.
  CheckReport absent = CheckHistory({Write("r2", "a", 0, 10)}, {Read("r2", "", 100, 110)});
  EXPECT_FALSE(absent.violations.empty());
}

TEST(ChaosHistory, ReportsStaleRead) {
  std::vector<Op> h = {Write("r1", "a", 0, 10), Write("r1", "b", 20, 30), Read("r1", "a", 40, 50)};
  CheckReport r = CheckHistory(h, {});
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("not linearizable"), std::string::npos);
}

TEST(ChaosHistory, ReportsCasThatIgnoredItsCondition) {
  std::vector<Op> h = {Write("r1", "a", 0, 10), Cas("r1", "z", "b", true, 20, 30)};
  EXPECT_FALSE(CheckHistory(h, {}).violations.empty());
}

TEST(ChaosHistory, ReportsDoubledAndLostIncrements) {
  std::vector<Op> doubled = {Incr("c1", "1", 0, 10), Incr("c1", "1", 20, 30)};
  EXPECT_FALSE(CheckHistory(doubled, {}).violations.empty());
  std::vector<Op> lost = {Incr("c1", "1", 0, 10), Incr("c1", "2", 20, 30)};
  EXPECT_FALSE(CheckHistory(lost, {Read("c1", "1", 100, 110)}).violations.empty());
  std::vector<Op> stale = {Incr("c1", "1", 0, 10), Incr("c1", "2", 20, 30),
                           Read("c1", "1", 40, 50)};
  EXPECT_FALSE(CheckHistory(stale, {}).violations.empty());
  // More than was ever sent: an increment applied twice.
  std::vector<Op> twice = {Incr("c1", "2", 0, 10)};
  EXPECT_FALSE(CheckHistory(twice, {}).violations.empty());
}

Op Txn(const std::string& value, const std::string& exec, int64_t call, int64_t ret,
       Outcome outcome = Outcome::kOk) {
  Op op = Make(OpType::kTxn, "t1", call, ret, outcome);
  op.value = value;
  op.output = exec;
  return op;
}
Op Group(const std::string& line) {
  Op op = Make(OpType::kRead, "t1", 100, 110);
  op.output = line;
  return op;
}

TEST(ChaosHistory, TypedGroupsPassWhenWholeAndOnce) {
  // b's outcome is unknown and it was applied; c was refused and is absent.
  std::vector<Op> h = {Txn("a", "1 1 1 1", 0, 10), Txn("b", "", 20, 30, Outcome::kUnknown),
                       Txn("c", "", 20, 30, Outcome::kFail), Txn("d", "3 3 1 1", 40, 50)};
  CheckReport r = CheckHistory(h, {Group("3 | a b d | a b d | a b d")});
  EXPECT_TRUE(r.violations.empty()) << r.violations[0];
  // The unknown one not applied is fine too (the counts then skip nothing).
  std::vector<Op> h2 = {Txn("a", "1 1 1 1", 0, 10), Txn("b", "", 20, 30, Outcome::kUnknown)};
  EXPECT_TRUE(CheckHistory(h2, {Group("1 | a | a | a")}).violations.empty());
}

TEST(ChaosHistory, ReportsTypedTransactionsAppliedInPartTwiceOrLost) {
  std::vector<Op> one = {Txn("a", "1 1 1 1", 0, 10)};
  // In part: the list holds it, the set does not.
  EXPECT_FALSE(CheckHistory(one, {Group("1 | a |  | a")}).violations.empty());
  // Twice: the list holds it twice.
  EXPECT_FALSE(CheckHistory(one, {Group("2 | a a | a | a")}).violations.empty());
  // Lost.
  EXPECT_FALSE(CheckHistory(one, {Group("0 |  |  | ")}).violations.empty());
  // Applied although refused.
  std::vector<Op> refused = {Txn("a", "", 0, 10, Outcome::kFail)};
  EXPECT_FALSE(CheckHistory(refused, {Group("1 | a | a | a")}).violations.empty());
  // An EXEC that saw the counter and the list disagree, or a set member
  // that was already there.
  EXPECT_FALSE(CheckHistory({Txn("a", "2 1 1 1", 0, 10)}, {}).violations.empty());
  EXPECT_FALSE(CheckHistory({Txn("a", "1 1 0 1", 0, 10)}, {}).violations.empty());
  // Two transactions that counted the same, and a stale count.
  EXPECT_FALSE(CheckHistory({Txn("a", "1 1 1 1", 0, 10), Txn("b", "1 1 1 1", 5, 15)}, {})
                   .violations.empty());
  EXPECT_FALSE(CheckHistory({Txn("a", "2 2 1 1", 0, 10), Txn("b", "1 1 1 1", 20, 30)}, {})
                   .violations.empty());
}

TEST(ChaosHistory, TypedGroupLinesComeFromTheReads) {
  std::string line;
  ASSERT_TRUE(TypedGroupLine({"$1\r\n2\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n",
                              "*2\r\n$1\r\nb\r\n$1\r\na\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
                             &line));
  EXPECT_EQ(line, "2 | b a | a b | a b");
  ASSERT_TRUE(TypedGroupLine({"$-1\r\n", "*0\r\n", "*0\r\n", "*0\r\n"}, &line));
  EXPECT_EQ(line, "0 |  |  | ");
  TypedGroupState state;
  ASSERT_TRUE(ParseTypedGroup(line, &state));
  EXPECT_EQ(state.counter, 0);
  EXPECT_TRUE(state.list.empty());
  // A WRONGTYPE error or a cut reply is not a state.
  EXPECT_FALSE(TypedGroupLine({"-WRONGTYPE x\r\n", "*0\r\n", "*0\r\n", "*0\r\n"}, &line));
  EXPECT_FALSE(TypedGroupLine({"$-1\r\n", "*2\r\n$1\r\na\r\n", "*0\r\n", "*0\r\n"}, &line));
}

}  // namespace
}  // namespace nines::chaos
