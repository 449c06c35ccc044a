// The Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
// PUBLISH and PUBSUB CHANNELS / NUMSUB / NUMPAT / HELP. PrepareCommand
// checks their name, arity and auth and plans them as kPubSub; the
// connection then runs them here against its member's registry. Nothing of
// Pub/Sub goes through the Raft log: PUBLISH reaches the other members over
// the peer connections (the caller's `publish`).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "store/commands.h"
#include "store/pubsub_registry.h"

namespace nines::store {

struct PubSubCall {
  std::span<const std::string_view> args;
  const CommandSpec* spec = nullptr;  // plan.spec: the (sub)command
  PubSubRegistry* registry = nullptr;
  PubSubSubscriber* client = nullptr;  // the connection running the command
  // PUBLISH: delivers to this member's subscribers and sends to the other
  // members; returns the local receivers (PUBLISH's reply).
  std::function<size_t(std::string_view channel, std::string_view message)> publish;
  std::string* out = nullptr;
};

// Runs a kPubSub plan; the replies (one per channel for the subscription
// commands) are appended to call.out.
void ExecutePubSub(const PubSubCall& call);

}  // namespace nines::store
