// PubSubRegistry with fake subscribers: subscription counts, delivery to
// channel and pattern subscribers (twice to a client with both, as Redis),
// PUBSUB CHANNELS / NUMSUB / NUMPAT, removal of a closed client, and a
// subscriber that leaves while a message is being delivered.
#include "store/pubsub_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/pubsub_frames.h"

namespace nines::store {
namespace {

struct FakeSubscriber : PubSubSubscriber {
  void Push(std::string_view frame) override {
    frames.emplace_back(frame);
    if (on_push) on_push();
  }
  std::vector<std::string> frames;
  std::function<void()> on_push;
};

TEST(PubSubRegistry, SubscribeCountsChannelsAndPatternsOnce) {
  PubSubRegistry r;
  FakeSubscriber a;
  EXPECT_TRUE(r.Subscribe(&a, "ch1"));
  EXPECT_FALSE(r.Subscribe(&a, "ch1"));
  EXPECT_TRUE(r.Subscribe(&a, "ch2"));
  EXPECT_TRUE(r.PSubscribe(&a, "ch*"));
  EXPECT_FALSE(r.PSubscribe(&a, "ch*"));
  EXPECT_EQ(r.SubscriptionCount(&a), 3u);
  EXPECT_FALSE(r.Unsubscribe(&a, "nope"));
  EXPECT_TRUE(r.Unsubscribe(&a, "ch1"));
  EXPECT_FALSE(r.PUnsubscribe(&a, "x*"));
  EXPECT_TRUE(r.PUnsubscribe(&a, "ch*"));
  EXPECT_EQ(r.SubscriptionCount(&a), 1u);
  EXPECT_EQ(r.ChannelsOf(&a), std::vector<std::string>{"ch2"});
}

TEST(PubSubRegistry, PublishReachesChannelThenPatternSubscribers) {
  PubSubRegistry r;
  FakeSubscriber a, b, c;
  r.Subscribe(&a, "news");
  r.Subscribe(&b, "news");
  r.PSubscribe(&b, "n*");  // b has both: two pushes, both counted
  r.PSubscribe(&c, "sport.*");
  EXPECT_EQ(r.Publish("news", "hi"), 3u);
  EXPECT_EQ(a.frames, std::vector<std::string>{MessageFrame("news", "hi")});
  ASSERT_EQ(b.frames.size(), 2u);
  EXPECT_EQ(b.frames[0], "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  EXPECT_EQ(b.frames[1], "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  EXPECT_TRUE(c.frames.empty());
  EXPECT_EQ(r.Publish("sport.tennis", "x"), 1u);
  EXPECT_EQ(r.Publish("weather", "x"), 0u);
  EXPECT_EQ(r.Publish("", "x"), 0u);  // no pattern matches an empty channel (Redis)
}

TEST(PubSubRegistry, IntrospectionCountsActiveChannelsAndDistinctPatterns) {
  PubSubRegistry r;
  FakeSubscriber a, b;
  r.Subscribe(&a, "a1");
  r.Subscribe(&b, "a1");
  r.Subscribe(&b, "b1");
  r.PSubscribe(&a, "p*");
  r.PSubscribe(&b, "p*");
  r.PSubscribe(&b, "q*");
  EXPECT_EQ(r.Channels(nullptr), (std::vector<std::string>{"a1", "b1"}));
  std::string_view pattern = "a*";
  EXPECT_EQ(r.Channels(&pattern), std::vector<std::string>{"a1"});
  EXPECT_EQ(r.NumSub("a1"), 2u);
  EXPECT_EQ(r.NumSub("zz"), 0u);
  EXPECT_EQ(r.NumPat(), 2u);  // distinct patterns, as Redis 7.0
  r.Unsubscribe(&a, "a1");
  r.Unsubscribe(&b, "a1");
  EXPECT_EQ(r.Channels(nullptr), std::vector<std::string>{"b1"});  // no empty channels kept
}

TEST(PubSubRegistry, PatternsKeepSubscriptionOrder) {
  PubSubRegistry r;
  FakeSubscriber a;
  r.PSubscribe(&a, "z*");
  r.PSubscribe(&a, "a*");
  r.PSubscribe(&a, "m*");
  EXPECT_EQ(r.PatternsOf(&a), (std::vector<std::string>{"z*", "a*", "m*"}));
}

TEST(PubSubRegistry, RemoveClientDropsEverySubscription) {
  PubSubRegistry r;
  FakeSubscriber a, b;
  r.Subscribe(&a, "ch");
  r.PSubscribe(&a, "c*");
  r.Subscribe(&b, "ch");
  r.RemoveClient(&a);
  EXPECT_EQ(r.SubscriptionCount(&a), 0u);
  EXPECT_EQ(r.NumSub("ch"), 1u);
  EXPECT_EQ(r.NumPat(), 0u);
  EXPECT_EQ(r.Publish("ch", "m"), 1u);
  EXPECT_TRUE(a.frames.empty());
}

TEST(PubSubRegistry, ASubscriberClosedDuringDeliveryGetsNothingMore) {
  PubSubRegistry r;
  FakeSubscriber a, b;
  r.Subscribe(&a, "ch");
  r.PSubscribe(&a, "c*");
  r.Subscribe(&b, "ch");
  a.on_push = [&] { r.RemoveClient(&a); };  // as a client over its output limit
  EXPECT_EQ(r.Publish("ch", "m"), 2u);      // a's message, b's message; not a's pmessage
  EXPECT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(b.frames.size(), 1u);
}

TEST(PubSubFrames, SubscriptionRepliesAsRedis) {
  std::string out;
  std::string_view name = "ch";
  AppendSubscriptionReply("subscribe", &name, 1, &out);
  EXPECT_EQ(out, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
  out.clear();
  AppendSubscriptionReply("unsubscribe", nullptr, 0, &out);
  EXPECT_EQ(out, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
}

}  // namespace
}  // namespace nines::store
