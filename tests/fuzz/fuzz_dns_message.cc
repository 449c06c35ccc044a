// libFuzzer target for the DNS query parser and the whole responder: any
// packet must either be dropped or get a response that decodes, fits the
// transport's size, keeps the id, and is FORMERR whenever the parser said
// the query was malformed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dns/dns_constants.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/responder.h"

namespace {

using namespace nines::dns;

IpAddress Ip(const char* text) {
  IpAddress a;
  ParseIpAddress(text, &a);
  return a;
}

IpPrefix Net(const char* text) {
  IpPrefix p;
  (void)ParseIpPrefix(text, &p);
  return p;
}

std::string Wire(const char* text) {
  std::string w;
  NameFromText(text, &w);
  return w;
}

struct Fixture {
  Fixture() : flags(new std::atomic<bool>[8]) {
    zone.apex = Wire("shop.test");
    zone.policy_names = {Wire("www.shop.test")};
    zone.nameservers = {{Wire("ns1.shop.test"), Ip("127.0.0.1")},
                        {Wire("ns.other.example"), Ip("127.0.0.2")}};
    zone.hostmaster = Wire("hostmaster.shop.test");
    std::vector<RegionSpec> regions = {
        {"a", 38.9, -77.0, {Ip("127.0.1.1"), Ip("::1")}, {Net("10.1.0.0/16"), Net("::/1")}},
        {"b", 53.3, -6.3, {Ip("127.0.2.1")}, {Net("10.2.0.0/16"), Net("10.2.3.0/24")}},
    };
    zone.policy = AnswerPolicy(regions, 0, 0);
    for (int i = 0; i < 8; ++i) flags[i] = true;
  }
  Zone zone;
  std::unique_ptr<std::atomic<bool>[]> flags;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  std::span<const uint8_t> packet(data, size);
  // The first byte of the input (if any) steers health and transport.
  uint8_t steer = size > 0 ? data[0] : 0;
  for (int i = 0; i < 3; ++i) fixture->flags[i] = (steer >> i) & 1;
  Transport transport = (steer & 0x80) ? Transport::kTcp : Transport::kUdp;

  Query query;
  ParseResult parsed = ParseQuery(packet, &query);
  std::vector<uint8_t> out;
  ResponseInfo info;
  bool answered = Respond(fixture->zone, HealthFlags(fixture->flags.get(), 3), packet,
                          Ip("10.2.3.4"), transport, &out, &info);
  if (!answered) {
    if (parsed != ParseResult::kDrop) abort();
    return 0;
  }
  if (transport == Transport::kUdp && out.size() > MaxUdpResponse(query.edns)) abort();
  std::optional<Message> m = DecodeMessage(out);
  if (!m) abort();
  if (m->id != query.id || !(m->flags & kFlagQr)) abort();
  if (parsed == ParseResult::kFormErr && m->rcode != kRcodeFormErr) abort();
  if (parsed != ParseResult::kFormErr && m->rcode == kRcodeFormErr) abort();
  return 0;
}
