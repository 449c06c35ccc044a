// PLANTED BUGS, for the whole-member simulator only (tests/sim, docs/raft.md
// "Whole store members"): NINES_STORE_PLANT=1|2|3 in the environment turns
// one on, to prove nines_sim_store catches it. Unset (always, in production)
// the store behaves correctly. 1 = a new WAL segment's preamble repeats the
// in-memory hard state instead of the last synced one; 2 = replay ignores
// truncating appends at or below the snapshot; 3 = writes are acknowledged
// without fsyncing the WAL.
#pragma once

#include <cstdlib>

namespace nines::store {

inline int StorePlant() {
  static const int plant = [] {
    const char* v = std::getenv("NINES_STORE_PLANT");
    return v ? std::atoi(v) : 0;
  }();
  return plant;
}

}  // namespace nines::store
