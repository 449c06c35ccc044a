// CRC32C (Castagnoli, polynomial 0x1EDC6F41) for WAL records and snapshots.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else a table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nines::store::crc32c {

// The CRC of data[0..n) appended to a string whose CRC is init_crc.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) {
  return Extend(0, data, n);
}
inline uint32_t Value(std::string_view data) {
  return Extend(0, data.data(), data.size());
}

// The portable table implementation (also used to check the hardware one).
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);

// A CRC stored next to the data it covers is masked (as LevelDB does), so a
// CRC computed over bytes that themselves contain CRCs stays well mixed.
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace nines::store::crc32c
