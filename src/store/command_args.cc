// Shared argument parsing and formatting for the command handlers.
#include "store/command_args.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>

namespace nines::store {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

bool ParseRedisLongDouble(std::string_view text, long double* value) {
  constexpr size_t kMaxChars = 5 * 1024;  // Redis's MAX_LONG_DOUBLE_CHARS
  if (text.empty() || text.size() >= kMaxChars) return false;
  // strtold stops at a NUL inside the text, as it does in Redis.
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  const bool space = buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r');
  if (space || *end != '\0' ||
      (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0.0L)) || errno == EINVAL ||
      std::isnan(v)) {
    return false;
  }
  *value = v;
  return true;
}

std::string FormatHumanLongDouble(long double value) {
  char buf[5 * 1024];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "0";
  std::string out(buf, static_cast<size_t>(n));
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

bool ParseScanCursor(std::string_view text, uint64_t* cursor) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  *cursor = negative ? 0 - v : v;
  return true;
}

Status ParseScanOptions(std::span<const std::string_view> args, size_t first,
                        ScanOptions* options) {
  for (size_t j = first; j < args.size(); j += 2) {
    if (j + 1 >= args.size()) {
      return Status::InvalidArgument("ERR syntax error");
    }
    std::string_view opt = args[j];
    if (EqualsIgnoreCase(opt, "count")) {
      int64_t count = 0;
      if (!ParseRedisInt64(args[j + 1], &count)) {
        return Status::InvalidArgument(std::string(kErrNotInteger));
      }
      if (count < 1) {
        return Status::InvalidArgument("ERR syntax error");
      }
      options->count = static_cast<uint64_t>(count);
    } else if (EqualsIgnoreCase(opt, "match")) {
      options->pattern = args[j + 1];
    } else {
      return Status::InvalidArgument("ERR syntax error");
    }
  }
  return Status::Ok();
}

Status ParseRandomCount(std::string_view text, int64_t* count) {
  if (!ParseRedisInt64(text, count)) {
    return Status::InvalidArgument(std::string(kErrNotInteger));
  }
  if (*count == std::numeric_limits<int64_t>::min()) {
    return Status::InvalidArgument(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  }
  return Status::Ok();
}

namespace {
thread_local std::mt19937_64* read_rng_override = nullptr;
}  // namespace

uint64_t ReadRandom() {
  if (read_rng_override != nullptr) return (*read_rng_override)();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

ScopedReadSeed::ScopedReadSeed(uint64_t seed) : rng_(seed), previous_(read_rng_override) {
  read_rng_override = &rng_;
}

ScopedReadSeed::~ScopedReadSeed() {
  read_rng_override = previous_;
}

}  // namespace nines::store
