// The checks of a chaos history: registers through tests/sim's
// linearizability checker, counters by real-time order and counts, and lost
// acknowledged writes against the final reads.
#include "history.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "linearizability.h"

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
    } else {
      std::vector<const Op*> with_final = ops;
      if (final_read != nullptr) with_final.push_back(final_read);
      CheckRegister(key, with_final, final_read, &report);
    }
  }
  return report;
}

std::string Describe(const Op& op) {
  static constexpr const char* kTypes[] = {"read", "write", "cas", "incr"};
  static constexpr const char* kOutcomes[] = {"ok", "fail", "unknown"};
  std::string what = kTypes[static_cast<int>(op.type)];
  if (op.type == OpType::kWrite) what += fmt::format(" '{}'", op.value);
  if (op.type == OpType::kCas) what += fmt::format(" '{}'->'{}'", op.expected, op.value);
  std::string out = op.outcome == Outcome::kOk ? fmt::format(" -> '{}'", op.output) : "";
  return fmt::format("client {} ({}) {}{} {} [{}..{} us]", op.client, op.via, what, out,
                     kOutcomes[static_cast<int>(op.outcome)], op.call_us, op.ret_us);
}

}  // namespace nines::chaos
