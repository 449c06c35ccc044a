// Answering one query. Flags: QR and AA set, RD copied from the query (RFC
// 1035 4.1.1), RA never set (no recursion offered).
#include "dns/responder.h"

#include <algorithm>

#include "base/check.h"
#include "dns/dns_constants.h"
#include "dns/name.h"
#include "dns/writer.h"

namespace nines::dns {
namespace {

// RFC 8482 answer to ANY: one HINFO record, as gdnsd does.
constexpr uint8_t kHinfoRfc8482[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};

enum class NodeKind { kNone, kApex, kPolicyName, kNameServer, kEmptyNonTerminal };

struct Node {
  NodeKind kind = NodeKind::kNone;
  const NameServer* nameserver = nullptr;
};

bool IsAncestorOf(std::string_view ancestor, std::string_view name) {
  return ancestor.size() < name.size() && RelativeLength(name, ancestor) > 0;
}

Node FindNode(const Zone& zone, std::string_view name, int relative) {
  Node node;
  if (relative == 0) {
    node.kind = NodeKind::kApex;
    return node;
  }
  for (const std::string& n : zone.policy_names) {
    if (NamesEqual(n, name)) {
      node.kind = NodeKind::kPolicyName;
      return node;
    }
  }
  for (const NameServer& ns : zone.nameservers) {
    if (NamesEqual(ns.name, name)) {
      node.kind = NodeKind::kNameServer;
      node.nameserver = &ns;
      return node;
    }
  }
  // A name with descendants exists even without records (RFC 8020): NODATA.
  for (const std::string& n : zone.policy_names) {
    if (IsAncestorOf(name, n)) node.kind = NodeKind::kEmptyNonTerminal;
  }
  for (const NameServer& ns : zone.nameservers) {
    if (IsAncestorOf(name, ns.name)) node.kind = NodeKind::kEmptyNonTerminal;
  }
  return node;
}

uint16_t ResponseFlags(const Query& q, uint8_t rcode) {
  return static_cast<uint16_t>(kFlagQr | (static_cast<uint16_t>(q.opcode & 0xF) << 11) |
                               (q.flags & kFlagRd) | (rcode & 0xF));
}

SoaFields MakeSoa(const Zone& zone) {
  SoaFields soa;
  soa.mname = zone.nameservers.empty() ? std::string_view(zone.apex)
                                       : std::string_view(zone.nameservers[0].name);
  soa.rname = zone.hostmaster;
  soa.serial = zone.serial;
  soa.refresh = zone.refresh;
  soa.retry = zone.retry;
  soa.expire = zone.expire;
  soa.minimum = zone.negative_ttl;
  return soa;
}

// Writes the answer and authority records; false when they did not fit.
bool WriteRecords(const Zone& zone, HealthFlags health, const Query& q, const Node& node,
                  const IpAddress& client, MessageWriter* w, ResponseInfo* info) {
  const std::string& owner = q.name;
  auto write_policy_answer = [&](int family) {
    zone.policy.Choose(client, family, health, &info->policy, q.id);
    info->used_policy = true;
    for (int index : info->policy.addresses) {
      int region = zone.policy.RegionOfAddress(index);
      int k = index - zone.policy.AddressIndex(region, 0);
      const IpAddress& a = zone.policy.regions()[region].addresses[k];
      if (!w->AddAddress(Section::kAnswer, owner, zone.ttl,
                         std::span<const uint8_t>(a.bytes.data(), family == 4 ? 4 : 16))) {
        return false;
      }
    }
    return true;
  };
  bool answered = false;  // at least one record in the answer section
  bool ok = true;
  uint16_t type = q.qtype;
  switch (node.kind) {
    case NodeKind::kApex:
    case NodeKind::kPolicyName:
      if (type == kTypeA || type == kTypeAaaa) {
        ok = write_policy_answer(type == kTypeA ? 4 : 6);
        answered = !info->policy.addresses.empty();
      } else if (type == kTypeAny) {
        ok = w->AddRaw(Section::kAnswer, owner, kTypeHinfo, zone.ttl, kHinfoRfc8482);
        answered = true;
      } else if (node.kind == NodeKind::kApex && type == kTypeSoa) {
        ok = w->AddSoa(Section::kAnswer, owner, zone.ttl, MakeSoa(zone));
        answered = true;
      } else if (node.kind == NodeKind::kApex && type == kTypeNs) {
        for (const NameServer& ns : zone.nameservers) {
          ok = ok && w->AddNameRecord(Section::kAnswer, owner, kTypeNs, zone.ttl, ns.name);
        }
        answered = !zone.nameservers.empty();
        // Glue for in-zone servers; optional data, so a miss does not set TC.
        if (ok) {
          for (const NameServer& ns : zone.nameservers) {
            if (RelativeLength(ns.name, zone.apex) < 0) continue;
            w->AddAddress(
                Section::kAdditional, ns.name, zone.ttl,
                std::span<const uint8_t>(ns.address.bytes.data(), ns.address.family == 4 ? 4 : 16));
          }
        }
      }
      break;
    case NodeKind::kNameServer: {
      const IpAddress& a = node.nameserver->address;
      if ((type == kTypeA && a.family == 4) || (type == kTypeAaaa && a.family == 6) ||
          type == kTypeAny) {
        ok = w->AddAddress(Section::kAnswer, owner, zone.ttl,
                           std::span<const uint8_t>(a.bytes.data(), a.family == 4 ? 4 : 16));
        answered = true;
      }
      break;
    }
    case NodeKind::kEmptyNonTerminal:
      break;
    case NodeKind::kNone:
      info->rcode = kRcodeNxDomain;
      break;
  }
  if (!ok) return false;
  if (!answered) {  // NXDOMAIN or NODATA: the SOA tells resolvers how long to cache that
    if (!w->AddSoa(Section::kAuthority, zone.apex, zone.negative_ttl, MakeSoa(zone))) return false;
  }
  return true;
}

}  // namespace

size_t MaxUdpResponse(const Edns& edns) {
  if (!edns.present) return kClassicUdpSize;
  return std::clamp<size_t>(edns.udp_size, kClassicUdpSize, kAdvertisedUdpSize);
}

bool Respond(const Zone& zone, HealthFlags health, std::span<const uint8_t> packet,
             const IpAddress& source, Transport transport, std::vector<uint8_t>* out,
             ResponseInfo* info) {
  *info = ResponseInfo{.policy = std::move(info->policy)};
  Query q;
  ParseResult parsed = ParseQuery(packet, &q);
  if (parsed == ParseResult::kDrop) return false;
  info->qtype = q.qtype;

  size_t max_size = transport == Transport::kTcp ? kMaxMessageSize : MaxUdpResponse(q.edns);
  MessageWriter w(out, max_size);
  w.SetHeader(q.id, 0);

  if (parsed == ParseResult::kFormErr) {
    info->rcode = kRcodeFormErr;
    w.SetFlags(ResponseFlags(q, kRcodeFormErr));
    w.Finish();
    return true;
  }
  if (parsed == ParseResult::kNotImp) {
    info->rcode = kRcodeNotImp;
    w.SetFlags(ResponseFlags(q, kRcodeNotImp));
    if (q.has_question) w.AddQuestion(q.name, q.qtype, q.qclass);
    if (q.edns.present) w.AddOpt(kAdvertisedUdpSize, 0, q.edns.dnssec_ok, nullptr);
    w.Finish();
    return true;
  }
  // From here the question was parsed; a 255-byte name always fits in 512.
  bool question_ok = w.AddQuestion(q.name, q.qtype, q.qclass);
  NINES_CHECK(question_ok, "a parsed question fits in a 512-byte reply");
  if (parsed == ParseResult::kBadVers) {
    info->rcode = kRcodeBadVers;
    w.SetFlags(ResponseFlags(q, kRcodeBadVers & 0xF));
    w.AddOpt(kAdvertisedUdpSize, kRcodeBadVers, q.edns.dnssec_ok, nullptr);
    w.Finish();
    return true;
  }

  // Keep room for the OPT record (and the echoed Client Subnet) at the end.
  const ClientSubnet* ecs = q.edns.has_client_subnet ? &q.edns.client_subnet : nullptr;
  size_t opt_size = 0;
  if (q.edns.present) {
    opt_size = 11 + (ecs ? 4 + 4 + (ecs->source_prefix + 7) / 8 : 0);
  }
  w.set_max_size(max_size - opt_size);

  // The client: the ECS prefix when it carries bits, else the packet source.
  IpAddress client = source;
  if (ecs && ecs->source_prefix > 0) {
    client.family = ecs->family == 1 ? 4 : 6;
    client.bytes = ecs->address;
  }

  uint8_t rcode = kRcodeNoError;
  bool authoritative = false;
  int relative = RelativeLength(q.name, zone.apex);
  if ((q.qclass != kClassIn && q.qclass != kClassAny) || relative < 0 || q.qtype == kTypeAxfr ||
      q.qtype == kTypeIxfr) {
    rcode = kRcodeRefused;  // not our zone (or a zone transfer, which we do not offer)
  } else {
    authoritative = true;
    Node node = FindNode(zone, q.name, relative);
    if (!WriteRecords(zone, health, q, node, client, &w, info)) {
      info->truncated = true;
    }
    rcode = static_cast<uint8_t>(info->rcode);
  }

  if (info->truncated) w.DropRecords();
  w.set_max_size(max_size);
  ClientSubnet echo;
  if (ecs) {
    echo = *ecs;
    // RFC 7871 7.2.1: scope 0 when the source prefix was 0 or the answer
    // does not depend on the client; else the bits the answer used.
    echo.scope_prefix =
        (ecs->source_prefix > 0 && info->used_policy) ? info->policy.scope_prefix : 0;
  }
  uint16_t flags = ResponseFlags(q, rcode);
  if (authoritative) flags |= kFlagAa;
  if (info->truncated) flags |= kFlagTc;
  w.SetFlags(flags);
  if (q.edns.present) {
    bool opt_ok = w.AddOpt(kAdvertisedUdpSize, 0, q.edns.dnssec_ok, ecs ? &echo : nullptr);
    NINES_CHECK(opt_ok, "room for the OPT record was kept");
  }
  info->rcode = rcode;
  w.Finish();
  return true;
}

}  // namespace nines::dns
