// Whole-message decoding with the same safe name reader the server uses.
#include "dns/message.h"

#include "base/coding.h"
#include "dns/dns_constants.h"
#include "dns/name.h"
#include "dns/writer.h"

namespace nines::dns {
namespace {

inline uint16_t Read16(std::span<const uint8_t> p, size_t at) {
  return DecodeBigEndian16(p.data() + at);
}

bool ReadRecord(std::span<const uint8_t> packet, size_t* pos, Record* r) {
  if (!ReadName(packet, pos, &r->name) || packet.size() - *pos < 10) return false;
  r->type = Read16(packet, *pos);
  r->rrclass = Read16(packet, *pos + 2);
  r->ttl = DecodeBigEndian32(packet.data() + *pos + 4);
  uint16_t rdlength = Read16(packet, *pos + 8);
  *pos += 10;
  if (packet.size() - *pos < rdlength) return false;
  size_t rdata_start = *pos;
  r->rdata.assign(packet.begin() + rdata_start, packet.begin() + rdata_start + rdlength);
  if (r->type == kTypeNs || r->type == kTypeCname || r->type == kTypeSoa) {
    size_t at = rdata_start;
    if (!ReadName(packet.first(rdata_start + rdlength), &at, &r->target)) return false;
    if (r->type == kTypeSoa) {
      std::string rname;
      if (!ReadName(packet.first(rdata_start + rdlength), &at, &rname)) return false;
      if (rdata_start + rdlength - at != 20) return false;
    } else if (at != rdata_start + rdlength) {
      return false;
    }
  } else if ((r->type == kTypeA && rdlength != 4) || (r->type == kTypeAaaa && rdlength != 16)) {
    return false;
  }
  *pos += rdlength;
  return true;
}

}  // namespace

std::optional<Message> DecodeMessage(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize) return std::nullopt;
  Message m;
  m.id = Read16(packet, 0);
  m.flags = Read16(packet, 2);
  m.rcode = m.flags & 0xF;
  uint16_t counts[4];
  for (int i = 0; i < 4; ++i) counts[i] = Read16(packet, 4 + 2 * i);
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < counts[0]; ++i) {
    std::string name;
    if (!ReadName(packet, &pos, &name) || packet.size() - pos < 4) return std::nullopt;
    m.questions.emplace_back(std::move(name), Read16(packet, pos));
    pos += 4;
  }
  std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s + 1]; ++i) {
      Record r;
      if (!ReadRecord(packet, &pos, &r)) return std::nullopt;
      if (r.type == kTypeOpt) {
        if (s != 2 || m.has_opt || r.name.size() != 1) return std::nullopt;
        m.has_opt = true;
        m.opt_udp_size = r.rrclass;
        m.opt_version = static_cast<uint8_t>(r.ttl >> 16);
        m.rcode |= static_cast<int>((r.ttl >> 24) & 0xFF) << 4;
        size_t at = 0;
        while (at + 4 <= r.rdata.size()) {
          uint16_t code = Read16(r.rdata, at);
          uint16_t length = Read16(r.rdata, at + 2);
          if (r.rdata.size() - at - 4 < length) return std::nullopt;
          if (code == kEdnsOptionClientSubnet) {
            std::span<const uint8_t> data(r.rdata.data() + at + 4, length);
            if (data.size() < 4) return std::nullopt;
            m.has_client_subnet = true;
            m.client_subnet.family = Read16(data, 0);
            m.client_subnet.source_prefix = data[2];
            m.client_subnet.scope_prefix = data[3];
            for (size_t k = 4; k < data.size() && k - 4 < 16; ++k) {
              m.client_subnet.address[k - 4] = data[k];
            }
          }
          at += 4 + length;
        }
        if (at != r.rdata.size()) return std::nullopt;
        continue;
      }
      sections[s]->push_back(std::move(r));
    }
  }
  if (pos != packet.size()) return std::nullopt;
  return m;
}

std::vector<uint8_t> BuildQuery(uint16_t id, std::string_view wire_name, uint16_t qtype,
                                uint16_t edns_udp_size, const ClientSubnet* subnet,
                                bool recursion_desired) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, kMaxMessageSize);
  w.SetHeader(id, recursion_desired ? kFlagRd : 0);
  w.AddQuestion(wire_name, qtype, kClassIn);
  if (edns_udp_size != 0) w.AddOpt(edns_udp_size, 0, false, subnet);
  w.Finish();
  return out;
}

}  // namespace nines::dns
