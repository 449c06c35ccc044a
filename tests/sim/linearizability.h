// Per-key linearizability check of a client history (Wing-Gong search with
// Lowe's memoization, as in Porcupine). Histories are split by key
// (P-compositionality) and bounded per key, so the search stays fast.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace nines::sim {

inline constexpr int64_t kNeverReturned = std::numeric_limits<int64_t>::max();
inline constexpr size_t kMaxOpsPerKey = 64;

struct ClientOp {
  // kIncr: Redis INCR on a register holding a decimal (absent = 0); output
  // is the new value.
  enum class Kind : uint8_t { kGet, kPut, kCas, kIncr } kind = Kind::kGet;
  uint64_t client = 0;
  std::string key;
  std::string input;     // put value or CAS new value
  std::string expected;  // CAS
  std::string output;    // get result, CAS "1"/"0"; unknown when never returned
  int64_t call = 0;
  int64_t ret = kNeverReturned;  // indeterminate: may have taken effect at any later time
};

enum class LinearizabilityResult { kOk, kViolation, kGaveUp };

// Checks the history of one key (at most kMaxOpsPerKey operations).
LinearizabilityResult CheckKey(const std::vector<ClientOp>& ops, uint64_t max_steps);

// Splits by key and checks each; fills `bad_key` on the first violation.
LinearizabilityResult CheckHistory(const std::vector<ClientOp>& ops, std::string* bad_key,
                                   uint64_t max_steps_per_key = 2'000'000);

}  // namespace nines::sim
