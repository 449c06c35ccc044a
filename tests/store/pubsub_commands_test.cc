// The Pub/Sub commands through PrepareCommand and ExecutePubSub: reply
// shapes, the subscribed-mode restriction and its exact error, PING while
// subscribed, refusal inside MULTI, and PUBLISH's local count.
#include "store/pubsub_commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nines::store {
namespace {

struct Client : PubSubSubscriber {
  void Push(std::string_view frame) override { pushes.emplace_back(frame); }
  std::vector<std::string> pushes;
  ClientSession session;
};

class PubSubCommandsTest : public ::testing::Test {
 protected:
  // Runs one command for client as a connection does: the reply.
  std::string Run(Client& client, std::vector<std::string> words) {
    std::vector<std::string_view> args(words.begin(), words.end());
    CommandContext context;
    context.config = &config_;
    context.info = &info_;
    CommandPlan plan;
    std::string out;
    PrepareCommand(args, client.session, context, &plan, &out);
    if (plan.kind != PlanKind::kPubSub) return out;
    PubSubCall call;
    call.args = args;
    call.spec = plan.spec;
    call.registry = &registry_;
    call.client = &client;
    call.publish = [this](std::string_view channel, std::string_view message) {
      sent_to_peers_.emplace_back(channel);
      return registry_.Publish(channel, message);
    };
    call.out = &out;
    ExecutePubSub(call);
    client.session.pubsub_subscriptions = registry_.SubscriptionCount(&client);
    return out;
  }

  CommandConfig config_;
  ServerInfo info_;
  PubSubRegistry registry_;
  std::vector<std::string> sent_to_peers_;
};

TEST_F(PubSubCommandsTest, SubscribeRepliesOncePerChannelWithTheRunningCount) {
  Client c;
  EXPECT_EQ(Run(c, {"SUBSCRIBE", "a", "b", "a"}),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
            "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n");
  EXPECT_EQ(Run(c, {"PSUBSCRIBE", "x*"}), "*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:3\r\n");
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE", "nope"}), "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnope\r\n:3\r\n");
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE"}),
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n"
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n");
  EXPECT_EQ(Run(c, {"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nx*\r\n:0\r\n");
  EXPECT_EQ(Run(c, {"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(c.session.pubsub_subscriptions, 0u);
}

TEST_F(PubSubCommandsTest, SubscribedClientRunsOnlyPubSubPingAndQuit) {
  Client c;
  Run(c, {"SUBSCRIBE", "a"});
  EXPECT_EQ(Run(c, {"GET", "k"}),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(Run(c, {"CLIENT", "ID"}).substr(0, 30), "-ERR Can't execute 'client|id'");
  EXPECT_EQ(Run(c, {"PING"}), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(Run(c, {"PING", "hi"}), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
  EXPECT_EQ(Run(c, {"PUBLISH", "a", "m"}).substr(0, 30), "-ERR Can't execute 'publish': ");
  // Unknown commands and wrong arity come first, as in Redis.
  EXPECT_EQ(Run(c, {"NOSUCH"}).substr(0, 20), "-ERR unknown command");
  EXPECT_EQ(Run(c, {"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  Run(c, {"UNSUBSCRIBE"});
  EXPECT_EQ(Run(c, {"PING"}), "+PONG\r\n");
}

TEST_F(PubSubCommandsTest, PublishCountsLocalReceiversAndGoesToPeers) {
  Client sub, pub;
  Run(sub, {"SUBSCRIBE", "news"});
  Run(sub, {"PSUBSCRIBE", "n*"});
  EXPECT_EQ(Run(pub, {"PUBLISH", "news", "hello"}), ":2\r\n");
  EXPECT_EQ(Run(pub, {"PUBLISH", "other", "x"}), ":0\r\n");
  EXPECT_EQ(sent_to_peers_, (std::vector<std::string>{"news", "other"}));
  ASSERT_EQ(sub.pushes.size(), 2u);
  EXPECT_EQ(sub.pushes[0], "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
}

TEST_F(PubSubCommandsTest, PubSubIntrospection) {
  Client a, b;
  Run(a, {"SUBSCRIBE", "x1", "y1"});
  Run(b, {"PSUBSCRIBE", "p*", "q*"});
  EXPECT_EQ(Run(b, {"PUBLISH", "x", "y"}).substr(0, 19), "-ERR Can't execute ");
  Client c;
  EXPECT_EQ(Run(c, {"PUBSUB", "CHANNELS"}), "*2\r\n$2\r\nx1\r\n$2\r\ny1\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "CHANNELS", "x*"}), "*1\r\n$2\r\nx1\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "channels", "a", "b"}),
            "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB "
            "HELP.\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "NUMSUB", "x1", "zz"}), "*4\r\n$2\r\nx1\r\n:1\r\n$2\r\nzz\r\n:0\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "NUMSUB"}), "*0\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "NUMPAT"}), ":2\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "NUMPAT", "x"}),
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB"}), "-ERR wrong number of arguments for 'pubsub' command\r\n");
  EXPECT_EQ(Run(c, {"PUBSUB", "FOO"}), "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
}

TEST_F(PubSubCommandsTest, RefusedInsideMulti) {
  Client c;
  EXPECT_EQ(Run(c, {"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"PUBLISH", "a", "b"}), "-ERR Command not allowed inside a transaction\r\n");
  EXPECT_EQ(Run(c, {"SUBSCRIBE", "a"}), "-ERR Command not allowed inside a transaction\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  EXPECT_EQ(c.session.pubsub_subscriptions, 0u);
}

}  // namespace
}  // namespace nines::store
