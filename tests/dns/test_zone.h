// A three-region zone shared by the policy and responder tests (the shape of
// the built-in blueprint: us-east, us-west, eu-west).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.h"
#include "dns/responder.h"

namespace nines::dns::testing {

inline IpAddress Ip(const char* text) {
  IpAddress a;
  ParseIpAddress(text, &a);
  return a;
}

inline IpPrefix Net(const char* text) {
  IpPrefix p;
  (void)ParseIpPrefix(text, &p);
  return p;
}

inline std::string Wire(std::string_view text) {
  std::string w;
  NameFromText(text, &w);
  return w;
}

inline std::vector<RegionSpec> ThreeRegions() {
  return {
      {"us-east", 38.9, -77.0, {Ip("127.0.1.1")}, {Net("10.1.0.0/16")}},
      {"us-west", 37.4, -122.1, {Ip("127.0.2.1"), Ip("127.0.2.2")}, {Net("10.2.0.0/16")}},
      {"eu-west",
       53.3,
       -6.3,
       {Ip("127.0.3.1"), Ip("2001:db8::3")},
       {Net("10.3.0.0/16"), Net("10.3.7.0/24"), Net("2001:db8:3::/48")}},
  };
}

// Health flags, all up.
struct Health {
  explicit Health(int n) : flags(new std::atomic<bool>[n]), size(n) {
    for (int i = 0; i < n; ++i) flags[i] = true;
  }
  HealthFlags view() const { return HealthFlags(flags.get(), size); }
  std::unique_ptr<std::atomic<bool>[]> flags;
  size_t size;
};

inline Zone TestZone() {
  Zone z;
  z.apex = Wire("shop.test");
  z.ttl = 10;
  z.policy_names = {Wire("www.shop.test"), Wire("api.v1.shop.test")};
  z.nameservers = {{Wire("ns1.shop.test"), Ip("127.0.0.1")},
                   {Wire("ns2.shop.test"), Ip("127.0.0.2")}};
  z.hostmaster = Wire("hostmaster.shop.test");
  z.serial = 42;
  z.negative_ttl = 10;
  // Default location: London, nearest to eu-west.
  z.policy = AnswerPolicy(ThreeRegions(), 51.5, -0.1);
  return z;
}

}  // namespace nines::dns::testing
