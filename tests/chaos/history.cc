// The checks of a chaos history: registers through tests/sim's
// linearizability checker, counters by real-time order and counts, and lost
// acknowledged writes against the final reads.
#include "history.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "linearizability.h"
#include "typed_group.h"

namespace nines::chaos {
namespace {

bool Acked(const Op& op) {
  return op.outcome == Outcome::kOk;
}

// A register op as the simulator's checker sees it; false if it has no place
// in the history (failed ops were certainly not applied; reads without an
// answer tell nothing).
bool ToClientOp(const Op& op, sim::ClientOp* out) {
  if (op.outcome == Outcome::kFail) return false;
  if (op.type == OpType::kRead && op.outcome != Outcome::kOk) return false;
  out->client = op.client;
  out->key = op.key;
  out->call = op.call_us;
  out->ret = op.outcome == Outcome::kOk ? op.ret_us : sim::kNeverReturned;
  switch (op.type) {
    case OpType::kRead:
      out->kind = sim::ClientOp::Kind::kGet;
      out->output = op.output;
      return true;
    case OpType::kWrite:
      out->kind = sim::ClientOp::Kind::kPut;
      out->input = op.value;
      return true;
    case OpType::kCas:
      out->kind = sim::ClientOp::Kind::kCas;
      out->input = op.value;
      out->expected = op.expected;
      out->output = op.output;
      return true;
    case OpType::kIncr:
    case OpType::kTxn:
      return false;
  }
  return false;
}

bool Writes(const Op& op) {
  return op.type == OpType::kWrite || (op.type == OpType::kCas && op.outcome != Outcome::kOk) ||
         (op.type == OpType::kCas && op.output == "1");
}

void CheckRegister(const std::string& key, const std::vector<const Op*>& ops, const Op* final_read,
                   CheckReport* report) {
  std::vector<sim::ClientOp> history;
  for (const Op* op : ops) {
    sim::ClientOp c;
    if (ToClientOp(*op, &c)) history.push_back(std::move(c));
  }
  sim::LinearizabilityResult r = sim::CheckKey(history, 2'000'000);
  if (r == sim::LinearizabilityResult::kViolation) {
    report->violations.push_back(
        fmt::format("key {}: not linearizable ({} operations)", key, history.size()));
  } else if (r == sim::LinearizabilityResult::kGaveUp) {
    ++report->unchecked_keys;
  }
  if (final_read == nullptr) return;
  // Lost acknowledged writes. Values are unique per write, so the final
  // value names the one write that produced it.
  const std::string& f = final_read->output;
  const Op* writer = nullptr;
  for (const Op* op : ops) {
    if (op->outcome != Outcome::kFail && Writes(*op) && op->value == f) writer = op;
  }
  for (const Op* op : ops) {
    if (!Acked(*op) || !Writes(*op) || op->value == f) continue;
    // An acked write that began after the final value's write had returned
    // (or any acked write when the key is absent at the end) was lost.
    bool lost = f.empty() || (writer != nullptr && writer->outcome == Outcome::kOk &&
                              op->call_us > writer->ret_us);
    if (lost) {
      report->violations.push_back(fmt::format(
          "key {}: lost acknowledged write: {}; final value '{}'", key, Describe(*op), f));
    }
  }
  if (!f.empty() && writer == nullptr) {
    report->violations.push_back(fmt::format("key {}: final value '{}' was never written", key, f));
  }
}

int64_t CounterValue(const std::string& s) {
  if (s.empty()) return 0;
  return std::strtoll(s.c_str(), nullptr, 10);
}

void CheckCounter(const std::string& key, const std::vector<const Op*>& ops, const Op* final_read,
                  CheckReport* report) {
  std::vector<const Op*> known;  // answered INCRs and reads
  uint64_t acked = 0, unknown = 0;
  int64_t max_acked = 0;
  std::map<int64_t, const Op*> results;
  for (const Op* op : ops) {
    if (op->type == OpType::kIncr) {
      if (op->outcome == Outcome::kUnknown) ++unknown;
      if (op->outcome != Outcome::kOk) continue;
      ++acked;
      int64_t v = CounterValue(op->output);
      max_acked = std::max(max_acked, v);
      auto [it, fresh] = results.emplace(v, op);
      if (!fresh) {
        report->violations.push_back(fmt::format("key {}: two INCRs returned {}: {} and {}", key, v,
                                                 Describe(*it->second), Describe(*op)));
      }
      known.push_back(op);
    } else if (op->type == OpType::kRead && op->outcome == Outcome::kOk) {
      known.push_back(op);
    }
  }
  if (final_read != nullptr) known.push_back(final_read);
  // Real-time order: an op that starts after another returned sees at least
  // its value, and an INCR a strictly greater one.
  for (const Op* a : known) {
    for (const Op* b : known) {
      if (a->ret_us >= b->call_us) continue;
      int64_t va = CounterValue(a->output), vb = CounterValue(b->output);
      bool bad = b->type == OpType::kIncr ? vb <= va : vb < va;
      if (bad) {
        report->violations.push_back(
            fmt::format("key {}: stale: {} after {}", key, Describe(*b), Describe(*a)));
      }
    }
  }
  for (const Op* op : known) {
    int64_t v = CounterValue(op->output);
    if (v > static_cast<int64_t>(acked + unknown)) {
      report->violations.push_back(fmt::format("key {}: {} but only {} INCRs were sent", key,
                                               Describe(*op), acked + unknown));
    }
  }
  if (final_read == nullptr) return;
  int64_t f = CounterValue(final_read->output);
  if (f < static_cast<int64_t>(acked) || f < max_acked) {
    report->violations.push_back(fmt::format(
        "key {}: lost acknowledged increments: final {} with {} INCRs acknowledged (largest "
        "result {})",
        key, f, acked, max_acked));
  }
}

// A typed group: every acknowledged transaction's EXEC saw the hash counter
// equal to the list's length and added a new set and sorted-set member; no
// two saw the same count, and one that began after another returned saw a
// larger one. The final state holds every acknowledged value once, in all
// four keys alike, and nothing that was refused or never sent.
void CheckTypedGroup(const std::string& key, const std::vector<const Op*>& ops,
                     const Op* final_read, CheckReport* report) {
  auto violation = [&](const std::string& what) {
    report->violations.push_back(fmt::format("key {}: {}", key, what));
  };
  std::set<std::string> acked, maybe;  // values of acknowledged / unknown transactions
  std::map<int64_t, const Op*> counts;
  std::vector<std::pair<const Op*, int64_t>> answered;
  int64_t max_count = 0;
  for (const Op* op : ops) {
    if (op->type != OpType::kTxn) continue;
    if (op->outcome == Outcome::kUnknown) maybe.insert(op->value);
    if (op->outcome != Outcome::kOk) continue;
    acked.insert(op->value);
    int64_t h = 0, l = 0, s = 0, z = 0;
    std::istringstream replies(op->output);
    if (!(replies >> h >> l >> s >> z) || h != l || s != 1 || z != 1) {
      violation(fmt::format("not applied whole: {}", Describe(*op)));
      continue;
    }
    auto [it, fresh] = counts.emplace(h, op);
    if (!fresh) {
      violation(fmt::format("two transactions counted {}: {} and {}", h, Describe(*it->second),
                            Describe(*op)));
    }
    answered.emplace_back(op, h);
    max_count = std::max(max_count, h);
  }
  for (const auto& [a, ca] : answered) {
    for (const auto& [b, cb] : answered) {
      if (a->ret_us < b->call_us && cb <= ca) {
        violation(fmt::format("stale: {} after {}", Describe(*b), Describe(*a)));
      }
    }
  }
  if (final_read == nullptr) return;
  TypedGroupState state;
  if (!ParseTypedGroup(final_read->output, &state)) {
    violation(fmt::format("unreadable final state '{}'", final_read->output));
    return;
  }
  const auto n = static_cast<int64_t>(state.list.size());
  if (state.counter != n || state.set.size() != state.list.size() ||
      state.zset.size() != state.list.size()) {
    violation(fmt::format("transactions applied in part: final '{}'", final_read->output));
  }
  std::vector<std::string> list = state.list, zset = state.zset;
  std::sort(list.begin(), list.end());
  std::sort(zset.begin(), zset.end());
  if (std::adjacent_find(list.begin(), list.end()) != list.end()) {
    violation(fmt::format("a transaction applied twice: final '{}'", final_read->output));
  }
  if (list != state.set || zset != state.set) {
    violation(fmt::format("list, set and sorted set differ: final '{}'", final_read->output));
  }
  for (const std::string& v : acked) {
    if (!std::binary_search(state.set.begin(), state.set.end(), v)) {
      violation(fmt::format("lost acknowledged transaction '{}'", v));
    }
  }
  for (const std::string& v : state.set) {
    if (acked.count(v) == 0 && maybe.count(v) == 0) {
      violation(fmt::format("'{}' was refused or never sent, yet applied", v));
    }
  }
  if (state.counter < max_count) {
    violation(
        fmt::format("final count {} below an acknowledged count of {}", state.counter, max_count));
  }
}

}  // namespace

CheckReport CheckHistory(const std::vector<Op>& history, const std::vector<Op>& final_reads) {
  CheckReport report;
  std::map<std::string, std::vector<const Op*>> by_key;
  for (const Op& op : history) {
    if (op.outcome != Outcome::kFail) ++report.operations;
    by_key[op.key].push_back(&op);
  }
  std::map<std::string, const Op*> finals;
  for (const Op& op : final_reads) {
    if (op.outcome == Outcome::kOk) finals[op.key] = &op;
  }
  for (auto& [key, ops] : by_key) {
    ++report.keys;
    auto it = finals.find(key);
    const Op* final_read = it == finals.end() ? nullptr : it->second;
    if (IsCounterKey(key)) {
      CheckCounter(key, ops, final_read, &report);
    } else if (IsTypedKey(key)) {
      CheckTypedGroup(key, ops, final_read, &report);
    } else {
      std::vector<const Op*> with_final = ops;
      if (final_read != nullptr) with_final.push_back(final_read);
      CheckRegister(key, with_final, final_read, &report);
    }
  }
  return report;
}

std::string Describe(const Op& op) {
  static constexpr const char* kTypes[] = {"read", "write", "cas", "incr", "txn"};
  static constexpr const char* kOutcomes[] = {"ok", "fail", "unknown"};
  std::string what = kTypes[static_cast<int>(op.type)];
  if (op.type == OpType::kWrite || op.type == OpType::kTxn) what += fmt::format(" '{}'", op.value);
  if (op.type == OpType::kCas) what += fmt::format(" '{}'->'{}'", op.expected, op.value);
  std::string out = op.outcome == Outcome::kOk ? fmt::format(" -> '{}'", op.output) : "";
  return fmt::format("client {} ({}) {}{} {} [{}..{} us]", op.client, op.via, what, out,
                     kOutcomes[static_cast<int>(op.outcome)], op.call_us, op.ret_us);
}

}  // namespace nines::chaos
