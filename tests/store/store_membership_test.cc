// Membership changes of `nines store` over HTTP, as real processes: three
// members start, a fourth (join = true) is added with POST /v1/members and
// receives the data, a follower and then the leader are removed with DELETE
// /v1/members/ID while writes go on, and members restart into the current
// configuration (from their log), not the static [[member]] list.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

http::ClientResponse Send(StoreGroup& g, int i, const std::string& method, const std::string& path,
                          const std::string& body = "") {
  std::string raw = method + " " + path +
                    " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body;
  return http::Exchange(g.member(i).host, g.member(i).http, raw, method, 20000);
}

// Member ids with their roles from member i's GET /status.
std::map<std::string, std::string> Roles(StoreGroup& g, int i) {
  std::map<std::string, std::string> roles;
  auto s = g.Status(i);
  if (!s || !(*s)["members"].is_array()) return roles;
  for (const auto& m : (*s)["members"]) {
    if (m.contains("id")) roles[m["id"]] = m["role"];
  }
  return roles;
}

bool WriteKeys(StoreGroup& g, int via, const std::string& prefix, int n) {
  RespClient c;
  if (!c.Connect(g.member(via).host, g.member(via).client)) return false;
  for (int k = 0; k < n; ++k) {
    std::string key = prefix + std::to_string(k);
    if (c.Call({"SET", key, key}) != "+OK\r\n") return false;
  }
  return true;
}

bool HasKeys(StoreGroup& g, int i, const std::string& prefix, int n) {
  for (int k = 0; k < n; ++k) {
    std::string key = prefix + std::to_string(k);
    if (LocalGet(g, i, key) != Bulk(key)) return false;
  }
  return true;
}

TEST(StoreMembership, AddMemberThenRemoveFollowerAndLeaderWhileWriting) {
  StoreGroup g("members", 156, 4, 300, false, /*joiners=*/1);
  for (int i = 0; i < 3; ++i) g.Start(i);
  int leader = g.WaitLeader({0, 1, 2});
  ASSERT_GE(leader, 0) << "no leader elected";
  ASSERT_TRUE(WriteKeys(g, leader, "a", 50));

  // Add s4: it starts empty (join = true), becomes a learner, then a voter.
  g.Start(3);
  const Member& s4 = g.member(3);
  std::string body = "{\"id\":\"s4\",\"peer\":\"" + g.Addr(s4.peer) + "\",\"client\":\"" +
                     g.Addr(s4.client) + "\",\"http\":\"" + g.Addr(s4.http) + "\"}";
  http::ClientResponse add = Send(g, leader, "POST", "/v1/members", body);
  ASSERT_EQ(add.status, 200) << add.body;
  EXPECT_NE(add.body.find("\"s4\""), std::string::npos) << add.body;
  EXPECT_EQ(Roles(g, leader)["s4"], "voter");
  EXPECT_EQ(Send(g, leader, "POST", "/v1/members", body).status, 409) << "added twice";
  EXPECT_EQ(Send(g, leader, "POST", "/v1/members", "{\"id\":\"s5\"}").status, 400);
  ASSERT_TRUE(WriteKeys(g, leader, "b", 50));
  EXPECT_TRUE(WaitUntil([&] { return HasKeys(g, 3, "a", 50) && HasKeys(g, 3, "b", 50); }, 10000))
      << "the new member did not receive the data";
  EXPECT_TRUE(WaitUntil([&] { return Roles(g, 3).size() == 4; }, 5000))
      << "the new member does not list four members";

  // Remove a follower (not s4); writes go on among the others.
  int follower = (leader + 1) % 3;
  std::string follower_id = g.member(follower).id;
  http::ClientResponse del = Send(g, leader, "DELETE", "/v1/members/" + follower_id);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(Roles(g, leader).count(follower_id), 0u);
  g.member(follower).process.Stop(SIGTERM, 5000);
  ASSERT_TRUE(WriteKeys(g, leader, "c", 50));
  EXPECT_EQ(
      Send(g, leader, "POST", "/v1/members",
           "{\"id\":\"" + follower_id + "\",\"peer\":\"127.0.0.1:1\",\"client\":\"127.0.0.1:2\"}")
          .status,
      409)
      << "a removed id was accepted again";

  // Remove the leader: it hands leadership over and redirects to the new leader.
  std::string leader_id = g.member(leader).id;
  http::ClientResponse moved = Send(g, leader, "DELETE", "/v1/members/" + leader_id);
  ASSERT_EQ(moved.status, 307) << moved.body;
  std::string location = moved.Header("Location");
  std::vector<int> rest;
  for (int i : {0, 1, 2, 3}) {
    if (i != leader && i != follower) rest.push_back(i);
  }
  int next = g.WaitLeader(rest);
  ASSERT_GE(next, 0);
  EXPECT_NE(location.find(g.Addr(g.member(next).http)), std::string::npos) << location;
  http::ClientResponse removed = Send(g, next, "DELETE", "/v1/members/" + leader_id);
  ASSERT_EQ(removed.status, 200) << removed.body;
  g.member(leader).process.Stop(SIGTERM, 5000);
  ASSERT_TRUE(WriteKeys(g, next, "d", 50));
  std::map<std::string, std::string> roles = Roles(g, next);
  EXPECT_EQ(roles.size(), 2u);
  for (int i : rest) EXPECT_EQ(roles.count(g.member(i).id), 1u) << g.member(i).id;

  // Both remaining members restart into the two-member configuration (their
  // static lists say otherwise) and keep serving.
  for (int i : rest) {
    g.member(i).process.Stop(SIGTERM, 5000);
    g.Start(i);
  }
  int after = g.WaitLeader(rest);
  ASSERT_GE(after, 0) << "no leader after restarting into the current configuration";
  for (int i : rest) {
    EXPECT_TRUE(WaitUntil([&] { return Roles(g, i).size() == 2; }, 5000)) << g.member(i).id;
  }
  ASSERT_TRUE(WriteKeys(g, after, "e", 20));
  for (int i : rest) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          return HasKeys(g, i, "a", 50) && HasKeys(g, i, "c", 50) && HasKeys(g, i, "d", 50) &&
                 HasKeys(g, i, "e", 20);
        },
        10000))
        << g.member(i).id;
  }
}

}  // namespace
}  // namespace nines::test
