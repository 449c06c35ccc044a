// Strict query parsing: one question, empty answer and authority sections,
// at most one OPT in the additional section, nothing after the last record.
#include "dns/query.h"

#include "base/coding.h"
#include "dns/dns_constants.h"
#include "dns/name.h"

namespace nines::dns {
namespace {

// More additional records than this in a query is abuse, not a query.
constexpr uint16_t kMaxAdditionalRecords = 8;

inline uint16_t Read16(std::span<const uint8_t> p, size_t at) {
  return DecodeBigEndian16(p.data() + at);
}

// Parses the OPT RDATA options; only Client Subnet is interpreted.
bool ParseOptions(std::span<const uint8_t> rdata, Edns* edns) {
  size_t pos = 0;
  while (pos < rdata.size()) {
    if (rdata.size() - pos < 4) return false;
    uint16_t code = Read16(rdata, pos);
    uint16_t length = Read16(rdata, pos + 2);
    pos += 4;
    if (rdata.size() - pos < length) return false;
    if (code == kEdnsOptionClientSubnet) {
      if (edns->has_client_subnet) return false;  // twice is malformed
      if (!ParseClientSubnet(rdata.subspan(pos, length), &edns->client_subnet)) return false;
      edns->has_client_subnet = true;
    }
    pos += length;
  }
  return true;
}

// Structure only: every question and record in bounds, nothing after them.
bool WellFormed(std::span<const uint8_t> packet, uint16_t qdcount, uint16_t ancount,
                uint16_t nscount, uint16_t arcount) {
  size_t pos = kHeaderSize;
  std::string name;
  for (uint16_t i = 0; i < qdcount; ++i) {
    name.clear();
    if (!ReadName(packet, &pos, &name) || packet.size() - pos < 4) return false;
    pos += 4;
  }
  uint32_t records = static_cast<uint32_t>(ancount) + nscount + arcount;
  for (uint32_t i = 0; i < records; ++i) {
    name.clear();
    if (!ReadName(packet, &pos, &name) || packet.size() - pos < 10) return false;
    uint16_t rdlength = Read16(packet, pos + 8);
    pos += 10;
    if (packet.size() - pos < rdlength) return false;
    pos += rdlength;
  }
  return pos == packet.size();
}

}  // namespace

bool ParseClientSubnet(std::span<const uint8_t> data, ClientSubnet* out) {
  if (data.size() < 4) return false;
  ClientSubnet ecs;
  ecs.family = Read16(data, 0);
  ecs.source_prefix = data[2];
  ecs.scope_prefix = data[3];
  size_t max_bits;
  if (ecs.family == 1) {
    max_bits = 32;
  } else if (ecs.family == 2) {
    max_bits = 128;
  } else {
    return false;  // RFC 7871 7.2.1: unknown family is FORMERR (as gdnsd does)
  }
  if (ecs.source_prefix > max_bits) return false;
  size_t address_bytes = (ecs.source_prefix + 7) / 8;
  if (data.size() - 4 != address_bytes) return false;  // too few or too many octets
  for (size_t i = 0; i < address_bytes; ++i) ecs.address[i] = data[4 + i];
  // Bits beyond the source prefix must be zero (RFC 7871 6).
  if (ecs.source_prefix % 8 != 0) {
    uint8_t mask = static_cast<uint8_t>(0xFF >> (ecs.source_prefix % 8));
    if (ecs.address[address_bytes - 1] & mask) return false;
  }
  // A non-zero scope in a query is ignored (it MUST be 0; we are lenient).
  ecs.scope_prefix = 0;
  *out = ecs;
  return true;
}

ParseResult ParseQuery(std::span<const uint8_t> packet, Query* query) {
  *query = Query();
  if (packet.size() < kHeaderSize) return ParseResult::kDrop;
  query->id = Read16(packet, 0);
  query->flags = Read16(packet, 2);
  query->opcode = static_cast<uint8_t>((query->flags >> 11) & 0xF);
  if (query->flags & kFlagQr) return ParseResult::kDrop;  // never answer a response
  uint16_t qdcount = Read16(packet, 4);
  uint16_t ancount = Read16(packet, 6);
  uint16_t nscount = Read16(packet, 8);
  uint16_t arcount = Read16(packet, 10);
  size_t pos = kHeaderSize;

  if (qdcount == 1) {
    if (ReadName(packet, &pos, &query->name) && packet.size() - pos >= 4) {
      query->qtype = Read16(packet, pos);
      query->qclass = Read16(packet, pos + 2);
      pos += 4;
      query->has_question = true;
    }
  }
  // Other opcodes get NOTIMP when the message is well-formed (FORMERR when
  // it is not); their EDNS is still read when it parses, so the answer can
  // carry an OPT record.
  const bool not_implemented = query->opcode != kOpcodeQuery;
  if (not_implemented && !WellFormed(packet, qdcount, ancount, nscount, arcount)) {
    return ParseResult::kFormErr;
  }
  auto malformed = [&] {
    query->edns = Edns();
    return not_implemented ? ParseResult::kNotImp : ParseResult::kFormErr;
  };
  if (!query->has_question || ancount != 0 || nscount != 0 || arcount > kMaxAdditionalRecords) {
    return malformed();
  }
  if (query->qtype == kTypeOpt) return malformed();

  bool bad_version = false;
  for (uint16_t i = 0; i < arcount; ++i) {
    std::string owner;
    if (!ReadName(packet, &pos, &owner) || packet.size() - pos < 10) return malformed();
    uint16_t type = Read16(packet, pos);
    uint16_t rrclass = Read16(packet, pos + 2);
    uint8_t version = packet[pos + 5];  // pos + 4 is the extended rcode: responses only
    uint16_t ext_flags = Read16(packet, pos + 6);
    uint16_t rdlength = Read16(packet, pos + 8);
    pos += 10;
    if (packet.size() - pos < rdlength) return malformed();
    std::span<const uint8_t> rdata = packet.subspan(pos, rdlength);
    pos += rdlength;
    if (type != kTypeOpt) continue;  // other additional data is ignored
    // RFC 6891 6.1.1: one OPT, owned by the root.
    if (query->edns.present || owner.size() != 1) return malformed();
    query->edns.present = true;
    query->edns.udp_size = rrclass;
    query->edns.version = version;
    query->edns.dnssec_ok = (ext_flags & kEdnsDoBit) != 0;
    if (version != 0) {
      bad_version = true;  // options of an unknown version are not interpreted
    } else if (!ParseOptions(rdata, &query->edns)) {
      return malformed();
    }
  }
  if (pos != packet.size()) return malformed();  // trailing garbage
  if (not_implemented) return ParseResult::kNotImp;
  if (bad_version) return ParseResult::kBadVers;
  return ParseResult::kOk;
}

}  // namespace nines::dns
