// Decoding a whole DNS message (any section) into plain structs: used by
// clients (tests, the integration test's resolver) and by the fuzz target
// to check that every response the server builds is well-formed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dns/query.h"

namespace nines::dns {

struct Record {
  std::string name;  // wire form, as received
  uint16_t type = 0;
  uint16_t rrclass = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;  // raw; names inside are expanded into `target`
  std::string target;          // NS/CNAME target, SOA mname (wire form)
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  int rcode = 0;                                            // including the extended bits from OPT
  std::vector<std::pair<std::string, uint16_t>> questions;  // name, type
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;
  bool has_opt = false;
  uint16_t opt_udp_size = 0;
  uint8_t opt_version = 0;
  bool has_client_subnet = false;
  ClientSubnet client_subnet;
};

// Returns nullopt when the message is malformed.
std::optional<Message> DecodeMessage(std::span<const uint8_t> packet);

// Builds a query packet (for clients and tests). `subnet` may be null;
// `edns_udp_size` 0 means no OPT record.
std::vector<uint8_t> BuildQuery(uint16_t id, std::string_view wire_name, uint16_t qtype,
                                uint16_t edns_udp_size, const ClientSubnet* subnet,
                                bool recursion_desired = false);

}  // namespace nines::dns
