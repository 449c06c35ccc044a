// Integer encodings, written once: little-endian fixed-width and varints (the
// WAL, snapshots, the state machine's formats, Raft's codec, the store's peer
// frames), big-endian (network order: DNS), and the fixed-width lowercase hex
// of file names (wal-%016x.log).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace nines {

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 4);
}

inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 8);
}

inline void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void EncodeFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Network byte order (big-endian), as DNS and most wire protocols write.
inline void EncodeBigEndian16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void EncodeBigEndian32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (3 - i)));
}

inline uint16_t DecodeBigEndian16(const uint8_t* p) {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | p[1]);
}

inline uint32_t DecodeBigEndian32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, static_cast<size_t>(n));
}

inline void PutLengthPrefixed(std::string* dst, std::string_view value) {
  PutVarint64(dst, value.size());
  dst->append(value);
}

// Decodes the varint at `in[*pos]` and advances `pos` past it. Returns nullptr,
// or why it could not ("truncated varint", "varint overflows 64 bits", "varint
// too long"); `pos` and `v` are then unspecified. Never reads past the end.
inline const char* GetVarint64(std::string_view in, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (*pos >= in.size()) return "truncated varint";
    auto byte = static_cast<uint8_t>(in[(*pos)++]);
    if (shift == 63 && byte > 1) return "varint overflows 64 bits";
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return nullptr;
    }
  }
  return "varint too long";
}

// The value of one hex digit (0-9, a-f, A-F), or -1.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly `digits` lowercase hex digits (as fmt's {:016x} writes them), at most
// 16; nullopt for anything else (uppercase, a sign, a prefix, a short string).
inline std::optional<uint64_t> ParseFixedHex(std::string_view text, size_t digits) {
  if (digits > 16 || text.size() != digits) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    int digit = HexDigitValue(c);
    if (digit < 0 || (c >= 'A' && c <= 'F')) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  return value;
}

// A cursor over bytes being decoded. Every getter returns false (and leaves the
// cursor unusable) when the input is short or malformed; nothing reads past end.
class Decoder {
 public:
  explicit Decoder(std::string_view input) : rest_(input) {}

  bool GetFixed32(uint32_t* v) {
    if (rest_.size() < 4) return false;
    *v = DecodeFixed32(rest_.data());
    rest_.remove_prefix(4);
    return true;
  }
  bool GetFixed64(uint64_t* v) {
    if (rest_.size() < 8) return false;
    *v = DecodeFixed64(rest_.data());
    rest_.remove_prefix(8);
    return true;
  }
  bool GetByte(uint8_t* v) {
    if (rest_.empty()) return false;
    *v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool GetVarint64(uint64_t* v) {
    size_t pos = 0;
    const char* error = ::nines::GetVarint64(rest_, &pos, v);
    rest_.remove_prefix(pos);
    return error == nullptr;
  }
  // A varint length, then that many bytes (a view into the input).
  bool GetLengthPrefixed(std::string_view* value) {
    uint64_t n = 0;
    if (!GetVarint64(&n) || n > rest_.size()) return false;
    *value = rest_.substr(0, static_cast<size_t>(n));
    rest_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  bool done() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

}  // namespace nines
