// Seeds for the chaos run's generators. sim::Prng(s + 1) yields the sequence
// of sim::Prng(s) shifted by one step, so seeds are scrambled first (the
// splitmix64 finalizer): nearby seeds give unrelated fault schedules.
#pragma once

#include <cstdint>

#include "../sim/prng.h"

namespace nines::chaos {

inline sim::Prng SeededPrng(uint64_t seed, uint64_t stream) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + stream + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return sim::Prng(z ^ (z >> 31));
}

}  // namespace nines::chaos
