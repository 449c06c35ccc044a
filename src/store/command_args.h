// Argument parsing and reply building shared by the command handlers of every
// type (commands.cc, hash_commands.cc, set_commands.cc, keyspace_commands.cc):
// Redis's number parsing and formatting, SCAN-family options, and RESP
// replies built into a KvResult.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/kv_state.h"
#include "store/resp_writer.h"

namespace nines::store {

inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrNanOrInf = "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view kErrNoSuchKey = "ERR no such key";

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Redis's string2ld: strtold over the whole text (no leading space, no NaN;
// "inf" is accepted, callers check the result).
bool ParseRedisLongDouble(std::string_view text, long double* value);
// Redis's ld2string in LD_STR_HUMAN mode ("%.17Lf", trailing zeros cut):
// what INCRBYFLOAT and HINCRBYFLOAT reply and store.
std::string FormatHumanLongDouble(long double value);
// Redis's strtoull cursor: unsigned decimal, a leading '-' wraps around.
bool ParseScanCursor(std::string_view text, uint64_t* cursor);

// The options of HSCAN / SSCAN (and ZSCAN): MATCH pattern, COUNT n.
struct ScanOptions {
  uint64_t cursor = 0;
  uint64_t count = 10;
  std::string_view pattern = "*";
};
// Parses args[first...] as MATCH / COUNT pairs; on error the Status's message is Redis's reply
// text.
Status ParseScanOptions(std::span<const std::string_view> args, size_t first, ScanOptions* options);
// One page of a collection scan: the elements with ScanHash(element) >=
// cursor in (hash, element) order, about count of them (never splitting a
// group of equal hashes), and the cursor of the next page (0: done).
// element(i) gives the i-th element of size.
template <typename ElementAt>
std::vector<size_t> ScanCollection(size_t size, const ScanOptions& options, ElementAt element,
                                   uint64_t* next_cursor);

// The count of SRANDMEMBER / HRANDFIELD (Redis's getRangeLongFromObjectOrReply
// over [-LONG_MAX, LONG_MAX]): "not an integer" or "out of range" errors.
Status ParseRandomCount(std::string_view text, int64_t* count);
// Most elements a negative (repeating) random count may ask for: Redis has no
// bound and would build the whole reply; nines refuses beyond this.
inline constexpr uint64_t kMaxRandomReply = uint64_t{1} << 24;
inline constexpr std::string_view kErrRandomTooMany =
    "ERR count exceeds the most elements nines returns at once (16777216)";

// A thread-local generator for reads that pick at random (SRANDMEMBER,
// HRANDFIELD, RANDOMKEY): reads are answered by one member and never
// replicated, so they need not agree.
uint64_t ReadRandom();
// While alive, ReadRandom draws from a generator seeded with seed (reads
// inside a transaction reply the same on every member). Not nested across
// threads: one per thread at a time.
class ScopedReadSeed {
 public:
  explicit ScopedReadSeed(uint64_t seed);
  ~ScopedReadSeed();
  ScopedReadSeed(const ScopedReadSeed&) = delete;
  ScopedReadSeed& operator=(const ScopedReadSeed&) = delete;

 private:
  std::mt19937_64 rng_;
  std::mt19937_64* previous_;
};

// KvResult::Raw replies built with a ReplyWriter.
class RawReply {
 public:
  RawReply() : writer_(&text_) {}
  resp::ReplyWriter& w() { return writer_; }
  KvResult Take() { return KvResult::Raw(std::move(text_)); }

 private:
  std::string text_;
  resp::ReplyWriter writer_;
};

inline KvResult WrongTypeResult() {
  return KvResult::Error(std::string(kErrWrongType));
}

template <typename ElementAt>
std::vector<size_t> ScanCollection(size_t size, const ScanOptions& options, ElementAt element,
                                   uint64_t* next_cursor) {
  struct Item {
    uint64_t hash;
    size_t pos;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < size; ++i) {
    const uint64_t h = ScanHash(element(i));
    if (h >= options.cursor) items.push_back({h, i});
  }
  auto less = [&](const Item& a, const Item& b) {
    return a.hash != b.hash ? a.hash < b.hash : element(a.pos) < element(b.pos);
  };
  const size_t count = static_cast<size_t>(std::max<uint64_t>(options.count, 1));
  *next_cursor = 0;
  if (items.size() > count) {
    std::nth_element(items.begin(), items.begin() + static_cast<ptrdiff_t>(count), items.end(),
                     less);
    // Keep the whole group of the last hash taken: a cursor cannot split it.
    const uint64_t next_hash = items[count].hash;
    std::vector<Item> page;
    uint64_t after = UINT64_MAX;
    bool more = false;
    for (const Item& it : items) {
      if (it.hash < next_hash || (it.hash == next_hash && items[count - 1].hash == next_hash)) {
        page.push_back(it);
      } else {
        more = true;
        after = std::min(after, it.hash);
      }
    }
    if (more) *next_cursor = after;
    items = std::move(page);
  }
  std::sort(items.begin(), items.end(), less);
  std::vector<size_t> positions;
  positions.reserve(items.size());
  for (const Item& it : items) positions.push_back(it.pos);
  return positions;
}

}  // namespace nines::store
