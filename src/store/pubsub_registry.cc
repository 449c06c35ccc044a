// Subscriptions of this member's clients; see pubsub_registry.h.
#include "store/pubsub_registry.h"

#include <algorithm>

#include "store/glob_match.h"
#include "store/pubsub_frames.h"

namespace nines::store {

bool PubSubRegistry::AddTo(std::map<std::string, Subscribers, std::less<>>* index,
                           std::string_view name, PubSubSubscriber* client) {
  auto it = index->find(name);
  if (it == index->end()) it = index->emplace(std::string(name), Subscribers{}).first;
  it->second.push_back(client);
  return true;
}

void PubSubRegistry::RemoveFrom(std::map<std::string, Subscribers, std::less<>>* index,
                                std::string_view name, PubSubSubscriber* client) {
  auto it = index->find(name);
  if (it == index->end()) return;
  std::erase(it->second, client);
  if (it->second.empty()) index->erase(it);  // no empty entries: CHANNELS and NUMPAT count them
}

void PubSubRegistry::ForgetIfEmpty(PubSubSubscriber* client) {
  auto it = clients_.find(client);
  if (it != clients_.end() && it->second.channels.empty() && it->second.patterns.empty()) {
    clients_.erase(it);
  }
}

bool PubSubRegistry::Subscribe(PubSubSubscriber* client, std::string_view channel) {
  if (!clients_[client].channels.emplace(channel).second) return false;
  return AddTo(&channels_, channel, client);
}

bool PubSubRegistry::Unsubscribe(PubSubSubscriber* client, std::string_view channel) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return false;
  auto sub = it->second.channels.find(channel);
  if (sub == it->second.channels.end()) return false;
  it->second.channels.erase(sub);
  RemoveFrom(&channels_, channel, client);
  ForgetIfEmpty(client);
  return true;
}

bool PubSubRegistry::ClientSubscriptions::HasPattern(std::string_view pattern) const {
  return std::find(patterns.begin(), patterns.end(), pattern) != patterns.end();
}

bool PubSubRegistry::PSubscribe(PubSubSubscriber* client, std::string_view pattern) {
  ClientSubscriptions& subs = clients_[client];
  if (subs.HasPattern(pattern)) return false;
  subs.patterns.emplace_back(pattern);
  return AddTo(&patterns_, pattern, client);
}

bool PubSubRegistry::PUnsubscribe(PubSubSubscriber* client, std::string_view pattern) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return false;
  auto& patterns = it->second.patterns;
  auto sub = std::find(patterns.begin(), patterns.end(), pattern);
  if (sub == patterns.end()) return false;
  patterns.erase(sub);
  RemoveFrom(&patterns_, pattern, client);
  ForgetIfEmpty(client);
  return true;
}

void PubSubRegistry::RemoveClient(PubSubSubscriber* client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  for (const std::string& channel : it->second.channels) RemoveFrom(&channels_, channel, client);
  for (const std::string& pattern : it->second.patterns) RemoveFrom(&patterns_, pattern, client);
  clients_.erase(it);
}

std::vector<std::string> PubSubRegistry::ChannelsOf(PubSubSubscriber* client) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) return {};
  return {it->second.channels.begin(), it->second.channels.end()};
}

std::vector<std::string> PubSubRegistry::PatternsOf(PubSubSubscriber* client) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) return {};
  return {it->second.patterns.begin(), it->second.patterns.end()};
}

size_t PubSubRegistry::SubscriptionCount(PubSubSubscriber* client) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) return 0;
  return it->second.channels.size() + it->second.patterns.size();
}

size_t PubSubRegistry::Publish(std::string_view channel, std::string_view message) {
  // A push may close its client, which removes it from the registry: the
  // lists are copied first, and a client that left meanwhile is skipped.
  auto still_subscribed = [this](PubSubSubscriber* client, std::string_view name, bool pattern) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return false;
    if (pattern) return it->second.HasPattern(name);
    return it->second.channels.find(name) != it->second.channels.end();
  };
  size_t receivers = 0;
  if (auto it = channels_.find(channel); it != channels_.end()) {
    const std::string frame = MessageFrame(channel, message);
    const Subscribers subscribers = it->second;
    for (PubSubSubscriber* client : subscribers) {
      if (!still_subscribed(client, channel, false)) continue;
      client->Push(frame);
      ++receivers;
    }
  }
  if (patterns_.empty()) return receivers;
  std::vector<std::pair<std::string, Subscribers>> matching;
  for (const auto& [pattern, subscribers] : patterns_) {
    if (StringMatchLen(pattern, channel)) matching.emplace_back(pattern, subscribers);
  }
  for (const auto& [pattern, subscribers] : matching) {
    const std::string frame = PMessageFrame(pattern, channel, message);
    for (PubSubSubscriber* client : subscribers) {
      if (!still_subscribed(client, pattern, true)) continue;
      client->Push(frame);
      ++receivers;
    }
  }
  return receivers;
}

std::vector<std::string> PubSubRegistry::Channels(const std::string_view* pattern) const {
  std::vector<std::string> out;
  for (const auto& [channel, subscribers] : channels_) {
    if (pattern == nullptr || StringMatchLen(*pattern, channel)) out.push_back(channel);
  }
  return out;
}

size_t PubSubRegistry::NumSub(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.size();
}

}  // namespace nines::store
