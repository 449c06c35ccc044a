// Parsing one incoming query (RFC 1035 4.1) with its EDNS0 OPT record
// (RFC 6891) and Client Subnet option (RFC 7871). Untrusted input: every
// length is checked and the result says how to answer a bad packet.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace nines::dns {

// RFC 7871 option as received. `address` holds the prefix, zero-padded.
struct ClientSubnet {
  uint16_t family = 0;  // 1 IPv4, 2 IPv6
  uint8_t source_prefix = 0;
  uint8_t scope_prefix = 0;
  std::array<uint8_t, 16> address{};
};

struct Edns {
  bool present = false;
  uint16_t udp_size = 0;  // requestor's payload size (as sent; callers clamp)
  uint8_t version = 0;
  bool dnssec_ok = false;
  bool has_client_subnet = false;
  ClientSubnet client_subnet;
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // the request's flags word
  uint8_t opcode = 0;
  bool has_question = false;
  std::string name;  // wire form, original case, uncompressed
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  Edns edns;
};

enum class ParseResult {
  kOk,       // a well-formed query
  kDrop,     // not worth an answer: shorter than a header, or a response (QR=1)
  kFormErr,  // malformed: answer FORMERR (the id and opcode are valid)
  kNotImp,   // well-formed, but an opcode other than QUERY
  kBadVers,  // EDNS version above 0: answer BADVERS with OPT version 0
};

// Parses `packet` into `query`. On anything but kDrop, `query->id`,
// `query->flags` and `query->opcode` are filled in.
ParseResult ParseQuery(std::span<const uint8_t> packet, Query* query);

// Validates an RFC 7871 option payload; false means FORMERR.
bool ParseClientSubnet(std::span<const uint8_t> data, ClientSubnet* out);

}  // namespace nines::dns
