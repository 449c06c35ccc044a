// Pub/Sub commands; see pubsub_commands.h. Replies as Redis 7.0's pubsub.c.
#include "store/pubsub_commands.h"

#include <fmt/format.h>

#include "store/command_groups.h"
#include "store/pubsub_frames.h"
#include "store/resp_writer.h"

namespace nines::store {
namespace {

using resp::ReplyWriter;

void PlanPubSub(CommandCall& call) {
  call.plan.kind = PlanKind::kPubSub;
}

constexpr uint32_t kSubscribeFlags = kCmdPubSubContext | kCmdNoMulti;

constexpr CommandSpec kPubSubSubcommands[] = {
    {"pubsub|channels", -2, 0, PlanPubSub, nullptr, {}},
    {"pubsub|help", 2, 0, PlanPubSub, nullptr, {}},
    {"pubsub|numpat", 2, 0, PlanPubSub, nullptr, {}},
    {"pubsub|numsub", -2, 0, PlanPubSub, nullptr, {}},
};

constexpr CommandSpec kCommands[] = {
    {"psubscribe", -2, kSubscribeFlags, PlanPubSub, nullptr, {}},
    {"publish", 3, kCmdNoMulti | kCmdFast, PlanPubSub, nullptr, {}},
    {"pubsub", -2, 0, nullptr, nullptr, kPubSubSubcommands},
    {"punsubscribe", -1, kSubscribeFlags, PlanPubSub, nullptr, {}},
    {"subscribe", -2, kSubscribeFlags, PlanPubSub, nullptr, {}},
    {"unsubscribe", -1, kSubscribeFlags, PlanPubSub, nullptr, {}},
};

// (P)UNSUBSCRIBE: the names given, or every one the client has; a reply per
// name even when it was not subscribed, and one with a null name when there
// was nothing to leave (Redis's pubsubUnsubscribeAll*).
void Unsubscribe(const PubSubCall& call, bool patterns) {
  PubSubRegistry& r = *call.registry;
  const std::string_view kind = patterns ? "punsubscribe" : "unsubscribe";
  auto leave = [&](std::string_view name) {
    if (patterns) {
      r.PUnsubscribe(call.client, name);
    } else {
      r.Unsubscribe(call.client, name);
    }
    AppendSubscriptionReply(kind, &name, r.SubscriptionCount(call.client), call.out);
  };
  if (call.args.size() > 1) {
    for (size_t i = 1; i < call.args.size(); ++i) leave(call.args[i]);
    return;
  }
  const std::vector<std::string> names =
      patterns ? r.PatternsOf(call.client) : r.ChannelsOf(call.client);
  for (const std::string& name : names) leave(name);
  if (names.empty()) {
    AppendSubscriptionReply(kind, nullptr, r.SubscriptionCount(call.client), call.out);
  }
}

void PubSubHelp(std::string* out) {
  // PUBSUB HELP as Redis 7.0 prints it (less SHARDCHANNELS / SHARDNUMSUB).
  static constexpr std::string_view kLines[] = {
      "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CHANNELS [<pattern>]",
      "    Return the currently active channels matching a <pattern> (default: '*').",
      "NUMPAT",
      "    Return number of subscriptions to patterns.",
      "NUMSUB [<channel> ...]",
      "    Return the number of subscribers for the specified channels, excluding",
      "    pattern subscriptions(default: no channels).",
      "HELP",
      "    Prints this help.",
  };
  ReplyWriter w(out);
  w.ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) w.SimpleString(line);
}

}  // namespace

std::span<const CommandSpec> PubSubCommands() {
  return kCommands;
}

void ExecutePubSub(const PubSubCall& call) {
  PubSubRegistry& r = *call.registry;
  ReplyWriter w(call.out);
  const std::string_view name = call.spec->name;
  if (name == "subscribe" || name == "psubscribe") {
    const bool patterns = name == "psubscribe";
    for (size_t i = 1; i < call.args.size(); ++i) {
      if (patterns) {
        r.PSubscribe(call.client, call.args[i]);
      } else {
        r.Subscribe(call.client, call.args[i]);
      }
      AppendSubscriptionReply(name, &call.args[i], r.SubscriptionCount(call.client), call.out);
    }
  } else if (name == "unsubscribe" || name == "punsubscribe") {
    Unsubscribe(call, name == "punsubscribe");
  } else if (name == "publish") {
    w.Integer(static_cast<int64_t>(call.publish(call.args[1], call.args[2])));
  } else if (name == "pubsub|channels") {
    if (call.args.size() > 3) {
      // Redis's addReplySubcommandSyntaxError, with the subcommand as typed.
      return w.Error(fmt::format(
          "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
          call.args[1].substr(0, 128)));
    }
    const std::vector<std::string> channels =
        r.Channels(call.args.size() == 3 ? &call.args[2] : nullptr);
    w.ArrayHeader(channels.size());
    for (const std::string& channel : channels) w.Bulk(channel);
  } else if (name == "pubsub|numsub") {
    w.ArrayHeader((call.args.size() - 2) * 2);
    for (size_t i = 2; i < call.args.size(); ++i) {
      w.Bulk(call.args[i]);
      w.Integer(static_cast<int64_t>(r.NumSub(call.args[i])));
    }
  } else if (name == "pubsub|numpat") {
    w.Integer(static_cast<int64_t>(r.NumPat()));
  } else if (name == "pubsub|help") {
    PubSubHelp(call.out);
  }
}

}  // namespace nines::store
