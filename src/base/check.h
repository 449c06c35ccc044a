// NINES_CHECK: an invariant check that stays on in release builds (unlike
// assert, which -DNDEBUG removes). A broken invariant prints what broke and
// where, then aborts: a crash beats silently serving or storing wrong data.
// Use it for conditions the code itself guarantees, never for bad input
// (that gets an error the caller can report).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace nines {

[[noreturn]] inline void CheckFailed(const char* expr, const char* message, const char* file,
                                     int line) {
  std::fprintf(stderr, "nines: invariant broken at %s:%d: %s (%s)\n", file, line, message, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace nines

// NINES_CHECK(cond, "what must hold"): evaluates cond exactly once, in every build.
#define NINES_CHECK(cond, message) \
  ((cond) ? (void)0 : ::nines::CheckFailed(#cond, message, __FILE__, __LINE__))
