// Numbers from the DNS RFCs that the wire format, the answer policy and the
// server share: record types, classes, opcodes, rcodes, header bits, limits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nines::dns {

// Record types (RFC 1035 3.2.2, RFC 3596, RFC 6891, RFC 8482).
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeHinfo = 13;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeIxfr = 251;
inline constexpr uint16_t kTypeAxfr = 252;
inline constexpr uint16_t kTypeAny = 255;

inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassAny = 255;

inline constexpr uint8_t kOpcodeQuery = 0;

inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;
inline constexpr int kRcodeBadVers = 16;  // extended rcode: upper 8 bits go in the OPT TTL

// Header flag bits (in the 16-bit flags word).
inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;
inline constexpr uint16_t kFlagRa = 0x0080;
inline constexpr uint16_t kFlagCd = 0x0010;

inline constexpr uint16_t kEdnsOptionClientSubnet = 8;
inline constexpr uint16_t kEdnsDoBit = 0x8000;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;  // wire length, including the root label
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kClassicUdpSize = 512;  // without EDNS (RFC 1035 4.2.1)
inline constexpr size_t kMaxMessageSize = 65535;
// What this server advertises in its OPT record (the DNS flag day 2020 value).
inline constexpr uint16_t kAdvertisedUdpSize = 1232;

// Readable names for metrics and logs ("A", "AAAA", ..., "OTHER").
const char* TypeName(uint16_t type);
const char* RcodeName(int rcode);

}  // namespace nines::dns
