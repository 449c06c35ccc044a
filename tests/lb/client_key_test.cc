// Client keys behind trusted proxies: X-Forwarded-For read from the right.
#include "lb/client_key.h"

#include <gtest/gtest.h>

namespace nines::lb {
namespace {

std::vector<Ipv4Network> Trusted(std::initializer_list<const char*> nets) {
  std::vector<Ipv4Network> out;
  for (const char* n : nets) {
    Ipv4Network net;
    EXPECT_TRUE(ParseIpv4Network(n, &net)) << n;
    out.push_back(net);
  }
  return out;
}

uint32_t Ip(const char* text) {
  uint32_t ip = 0;
  EXPECT_TRUE(ParseIpv4Address(text, &ip)) << text;
  return ip;
}

std::string Client(const std::vector<std::string>& xff, const char* peer,
                   const std::vector<Ipv4Network>& trusted) {
  std::vector<http::Header> headers = {{"Host", "t"}};
  for (const std::string& v : xff) headers.push_back({"X-Forwarded-For", v});
  return std::string(ForwardedClient(headers, peer, Ip(peer), trusted));
}

TEST(ClientKeyTest, UntrustedPeerIsTheClientWhateverItClaims) {
  auto trusted = Trusted({"10.0.0.0/8"});
  EXPECT_EQ(Client({"1.2.3.4"}, "198.51.100.1", trusted), "198.51.100.1");
}

TEST(ClientKeyTest, RightmostUntrustedAddressWins) {
  auto trusted = Trusted({"10.0.0.0/8", "127.0.0.0/8"});
  // The client wrote 192.0.2.1; the first proxy saw 203.0.113.5.
  EXPECT_EQ(Client({"192.0.2.1, 203.0.113.5, 10.0.0.2"}, "127.0.0.1", trusted), "203.0.113.5");
  EXPECT_EQ(Client({"203.0.113.5"}, "10.1.1.1", trusted), "203.0.113.5");
  // Spaces, tabs and empty items are skipped.
  EXPECT_EQ(Client({" 192.0.2.1 ,\t203.0.113.5 , ,10.0.0.2 "}, "10.1.1.1", trusted), "203.0.113.5");
}

TEST(ClientKeyTest, SeveralHeadersAreOneListInOrder) {
  auto trusted = Trusted({"10.0.0.0/8"});
  EXPECT_EQ(Client({"192.0.2.1", "203.0.113.5, 10.0.0.3"}, "10.0.0.4", trusted), "203.0.113.5");
  EXPECT_EQ(Client({"192.0.2.1", "10.0.0.3"}, "10.0.0.4", trusted), "192.0.2.1");
}

TEST(ClientKeyTest, AllTrustedGivesTheLeftmostHop) {
  auto trusted = Trusted({"10.0.0.0/8"});
  EXPECT_EQ(Client({"10.0.0.1, 10.0.0.2"}, "10.0.0.3", trusted), "10.0.0.1");
  EXPECT_EQ(Client({}, "10.0.0.3", trusted), "10.0.0.3");
  EXPECT_EQ(Client({""}, "10.0.0.3", trusted), "10.0.0.3");
}

TEST(ClientKeyTest, GarbageStopsTheWalkAtTheLastTrustedHop) {
  auto trusted = Trusted({"10.0.0.0/8"});
  EXPECT_EQ(Client({"203.0.113.5, not-an-address, 10.0.0.2"}, "10.0.0.3", trusted), "10.0.0.2");
  EXPECT_EQ(Client({"unknown"}, "10.0.0.3", trusted), "10.0.0.3");
  // An IPv6 client cannot be a trusted (IPv4) proxy: it is the client.
  EXPECT_EQ(Client({"192.0.2.1, 2001:db8::1, 10.0.0.2"}, "10.0.0.3", trusted), "2001:db8::1");
}

TEST(ClientKeyTest, HeaderKeyComesFirst) {
  RateLimitConfig limits;
  limits.client_header = "X-API-Key";
  limits.trusted_proxies = Trusted({"10.0.0.0/8"});
  http::RequestHead request;
  request.headers = {{"X-Forwarded-For", "203.0.113.5"}, {"X-API-Key", "alice"}};
  EXPECT_EQ(ClientKeyOf(request, "10.0.0.1", Ip("10.0.0.1"), limits), "alice");
  request.headers = {{"X-Forwarded-For", "203.0.113.5"}};
  EXPECT_EQ(ClientKeyOf(request, "10.0.0.1", Ip("10.0.0.1"), limits), "10.0.0.1");
  limits.client_header.clear();
  EXPECT_EQ(ClientKeyOf(request, "10.0.0.1", Ip("10.0.0.1"), limits), "203.0.113.5");
  limits.trusted_proxies.clear();
  EXPECT_EQ(ClientKeyOf(request, "10.0.0.1", Ip("10.0.0.1"), limits), "10.0.0.1");
}

}  // namespace
}  // namespace nines::lb
