// The history a chaos run records (every client operation with its outcome
// and its real-time interval) and the checks run on it afterwards: per-key
// linearizability of the registers (tests/sim's checker), counters that
// neither lose nor invent increments, typed transactions applied whole and
// once (typed_group.h), and acknowledged writes still present in the final
// reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nines::chaos {

// kTxn: a typed transaction (typed_group.h) adding `value` to the group `key`;
// its output is the EXEC's four integer replies, space-separated. A final
// read of a group has the state line of TypedGroupLine as its output.
enum class OpType : uint8_t { kRead, kWrite, kCas, kIncr, kTxn };

// ok: the answer came and says what happened. fail: certainly not applied
// (connect refused, -TRYAGAIN, 503). unknown: may or may not have been
// applied (timeout, lost connection, -UNKNOWN, 504).
enum class Outcome : uint8_t { kOk, kFail, kUnknown };

struct Op {
  OpType type = OpType::kRead;
  uint64_t client = 0;
  std::string key;
  std::string value;     // write / CAS new value
  std::string expected;  // CAS expected value ("" = absent)
  std::string output;    // read value ("" = absent), CAS "1"/"0", INCR result
  Outcome outcome = Outcome::kOk;
  int64_t call_us = 0;
  int64_t ret_us = 0;
  std::string via;  // e.g. "resp s2", "http s1": for the report
};

// Counter keys start with 'c', typed groups with 't'; every other key is a
// register ('r', or 'e' with a TTL).
inline bool IsCounterKey(const std::string& key) {
  return !key.empty() && key[0] == 'c';
}

struct CheckReport {
  uint64_t operations = 0;  // ops with outcome ok or unknown
  uint64_t keys = 0;
  uint64_t unchecked_keys = 0;          // linearizability search gave up (too many ops or steps)
  std::vector<std::string> violations;  // one line each, with the key
};

// Checks a whole history. `final_reads` are reads made after every fault was
// healed and every client stopped: the lost-write checks compare against them
// (they are also part of the history checked for linearizability).
CheckReport CheckHistory(const std::vector<Op>& history, const std::vector<Op>& final_reads);

// One line describing an op, for violation reports.
std::string Describe(const Op& op);

}  // namespace nines::chaos
