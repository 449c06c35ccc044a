// Pub/Sub across a three-member group of real processes: a subscriber on one
// member gets a message PUBLISHed on another exactly once (sent member to
// member, not through the log), with patterns too; PUBLISH counts the
// receivers of its own member; a subscriber that does not read is closed at
// its output limit, and /metrics counts it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

constexpr int kNet = 201;

std::string Message(const std::string& channel, const std::string& payload) {
  return "*3\r\n$7\r\nmessage\r\n" + Bulk(channel) + Bulk(payload);
}

// Inserts top-level keys into member i's config (before its [[member]] tables).
void AddConfig(StoreGroup& g, int i, const std::string& lines) {
  std::ifstream in(g.member(i).config);
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  config.insert(config.find("[[member]]"), lines);
  WriteFile(g.member(i).config, config);
}

// A counter of member i's /metrics, or -1.
int64_t Metric(StoreGroup& g, int i, const std::string& name) {
  http::ClientResponse r = http::Get(g.member(i).host, g.member(i).http, "/metrics",
                                     http::ClientOptions().Timeout(1000));
  if (!r.ok || r.status != 200) return -1;
  size_t at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(r.body.substr(at + name.size() + 2));
}

// Publishes on `warm` through pub until sub (subscribed to it) receives one:
// the publishing member's peer connection to the subscriber's is up.
bool WarmUp(RespClient& pub, RespClient& sub, const std::string& expect) {
  return WaitUntil(
      [&] {
        pub.Call({"PUBLISH", "warm", "w"});
        return sub.ReadReply(100, false) == expect;
      },
      10000, 0);
}

TEST(StorePubSub, MessagePublishedOnOneMemberReachesSubscribersOnOthersExactlyOnce) {
  StoreGroup g("pubsub", kNet);
  g.StartAll();
  ASSERT_GE(g.WaitLeader(g.All()), 0) << "no leader elected";
  RespClient sub, psub, pub_b, pub_c, pub_a;
  ASSERT_TRUE(sub.Connect(g.host(), g.member(0).client));
  ASSERT_TRUE(psub.Connect(g.host(), g.member(2).client));
  ASSERT_TRUE(pub_a.Connect(g.host(), g.member(0).client));
  ASSERT_TRUE(pub_b.Connect(g.host(), g.member(1).client));
  ASSERT_TRUE(pub_c.Connect(g.host(), g.member(2).client));

  ASSERT_EQ(sub.Call({"SUBSCRIBE", "news", "warm"}),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  ASSERT_EQ(sub.ReadReply(), "*3\r\n$9\r\nsubscribe\r\n$4\r\nwarm\r\n:2\r\n");
  ASSERT_EQ(psub.Call({"PSUBSCRIBE", "ne*"}), "*3\r\n$10\r\npsubscribe\r\n$3\r\nne*\r\n:1\r\n");
  ASSERT_EQ(psub.Call({"PSUBSCRIBE", "wa*"}), "*3\r\n$10\r\npsubscribe\r\n$3\r\nwa*\r\n:2\r\n");
  const std::string warm = Message("warm", "w");
  const std::string pwarm = "*4\r\n$8\r\npmessage\r\n$3\r\nwa*\r\n$4\r\nwarm\r\n$1\r\nw\r\n";
  ASSERT_TRUE(WarmUp(pub_b, sub, warm)) << "member B's messages never reached member A";
  ASSERT_TRUE(WarmUp(pub_c, sub, warm)) << "member C's messages never reached member A";
  ASSERT_TRUE(WarmUp(pub_b, psub, pwarm)) << "member B's messages never reached member C";

  // The count is the publishing member's own receivers (as Redis Cluster).
  EXPECT_EQ(pub_b.Call({"PUBLISH", "news", "m1"}), ":0\r\n");
  EXPECT_EQ(pub_b.Call({"PUBLISH", "news", "m2"}), ":0\r\n");
  EXPECT_EQ(pub_c.Call({"PUBLISH", "news", "m3"}), ":1\r\n");  // psub is on C
  EXPECT_EQ(pub_a.Call({"PUBLISH", "news", "m4"}), ":1\r\n");  // sub is on A
  // Markers behind them on each path: a duplicate would come before them.
  pub_b.Call({"PUBLISH", "news", "end-b"});
  pub_c.Call({"PUBLISH", "news", "end-c"});

  std::map<std::string, int> seen;
  std::vector<std::string> order;
  const bool got_all = WaitUntil(
      [&] {
        std::string frame = sub.ReadReply(200, false);
        if (frame.empty() || frame == warm) {
          return seen.count(Message("news", "end-b")) && seen.count(Message("news", "end-c"));
        }
        ++seen[frame];
        order.push_back(frame);
        return seen.count(Message("news", "end-b")) && seen.count(Message("news", "end-c"));
      },
      10000, 0);
  ASSERT_TRUE(got_all) << "markers did not arrive; got " << order.size() << " messages";
  for (const char* m : {"m1", "m2", "m3", "m4", "end-b", "end-c"}) {
    EXPECT_EQ(seen[Message("news", m)], 1) << m << " not received exactly once";
  }
  EXPECT_EQ(seen.size(), 6u) << "unexpected frames";
  auto pos = [&](const char* m) {
    return std::find(order.begin(), order.end(), Message("news", m)) - order.begin();
  };
  EXPECT_LT(pos("m1"), pos("m2")) << "one member's messages arrive in order";

  // The pattern subscriber on C got B's message once, as a pmessage.
  const std::string pm1 = "*4\r\n$8\r\npmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n$2\r\nm1\r\n";
  bool got_pm1 = false;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::string frame = psub.ReadReply(200, false);
        if (frame == pm1) {
          EXPECT_FALSE(got_pm1) << "pmessage m1 twice";
          got_pm1 = true;
        }
        return frame.empty() && got_pm1;
      },
      10000, 0));

  // PUBSUB answers for the member asked.
  EXPECT_EQ(pub_a.Call({"PUBSUB", "NUMSUB", "news"}), "*2\r\n$4\r\nnews\r\n:1\r\n");
  EXPECT_EQ(pub_b.Call({"PUBSUB", "NUMSUB", "news"}), "*2\r\n$4\r\nnews\r\n:0\r\n");
  EXPECT_EQ(pub_c.Call({"PUBSUB", "NUMPAT"}), ":2\r\n");  // ne* and wa*
  EXPECT_GE(Metric(g, 1, "nines_store_pubsub_peer_sent_total"), 2);
  EXPECT_GE(Metric(g, 0, "nines_store_pubsub_peer_received_total"), 2);
}

TEST(StorePubSub, SubscriberThatDoesNotReadIsClosedAtTheOutputLimit) {
  StoreGroup g("pubsub_limit", kNet + 1);
  AddConfig(g, 0, "pubsub_output_hard_bytes = 1048576\n");
  g.StartAll();
  ASSERT_GE(g.WaitLeader(g.All()), 0) << "no leader elected";
  RespClient slow, pub;
  ASSERT_TRUE(slow.Connect(g.host(), g.member(0).client));
  ASSERT_TRUE(pub.Connect(g.host(), g.member(0).client));
  ASSERT_EQ(slow.Call({"SUBSCRIBE", "big"}), "*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n");
  EXPECT_EQ(Metric(g, 0, "nines_store_pubsub_output_limit_closes_total"), 0);
  // slow never reads again: the kernel's buffers fill, then its output.
  const std::string payload(256 << 10, 'x');
  int published = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        ++published;
        return pub.Call({"PUBLISH", "big", payload}) == ":0\r\n";  // no subscriber left
      },
      30000, 0))
      << "the subscriber was still there after " << published << " messages";
  EXPECT_EQ(Metric(g, 0, "nines_store_pubsub_output_limit_closes_total"), 1);
  EXPECT_EQ(pub.Call({"PUBSUB", "NUMSUB", "big"}), "*2\r\n$3\r\nbig\r\n:0\r\n");
  EXPECT_EQ(pub.Call({"PING"}), "+PONG\r\n");  // the publisher is untouched
}

}  // namespace
}  // namespace nines::test
