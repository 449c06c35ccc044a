// Who is subscribed to what on this member (Redis's server.pubsub_channels
// and pubsub_patterns, with each client's own lists): SUBSCRIBE/PSUBSCRIBE
// add, UNSUBSCRIBE/PUNSUBSCRIBE and a closing connection remove, PUBLISH
// hands the message to every subscriber of the channel and then to every
// subscriber of a matching pattern (a client with both gets it twice, as in
// Redis). Pure: no sockets; a subscriber is anything that takes a push.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nines::store {

// A client that receives published messages.
class PubSubSubscriber {
 public:
  virtual ~PubSubSubscriber() = default;
  // frame: one complete RESP2 push ("message" or "pmessage" array). The
  // subscriber may unsubscribe itself from the registry inside the call (a
  // client over its output limit is closed).
  virtual void Push(std::string_view frame) = 0;
};

class PubSubRegistry {
 public:
  // Each returns false when nothing changed (already subscribed / not
  // subscribed).
  bool Subscribe(PubSubSubscriber* client, std::string_view channel);
  bool Unsubscribe(PubSubSubscriber* client, std::string_view channel);
  bool PSubscribe(PubSubSubscriber* client, std::string_view pattern);
  bool PUnsubscribe(PubSubSubscriber* client, std::string_view pattern);
  // Drops every subscription of client (its connection closed).
  void RemoveClient(PubSubSubscriber* client);

  // The channels client is subscribed to, in name order (Redis: hash order),
  // and its patterns, in subscription order (as Redis).
  std::vector<std::string> ChannelsOf(PubSubSubscriber* client) const;
  std::vector<std::string> PatternsOf(PubSubSubscriber* client) const;
  // Channels plus patterns of client: the count SUBSCRIBE replies carry.
  size_t SubscriptionCount(PubSubSubscriber* client) const;

  // Delivers message to this member's subscribers; the number of pushes
  // made (PUBLISH's reply).
  size_t Publish(std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS [pattern]: active channels (one subscriber or more)
  // matching pattern (every one when empty is given as nullptr).
  std::vector<std::string> Channels(const std::string_view* pattern) const;
  size_t NumSub(std::string_view channel) const;      // PUBSUB NUMSUB
  size_t NumPat() const { return patterns_.size(); }  // PUBSUB NUMPAT: distinct patterns
  size_t NumChannels() const { return channels_.size(); }

 private:
  struct ClientSubscriptions {
    std::set<std::string, std::less<>> channels;
    // In subscription order, as Redis's per-client list (PUNSUBSCRIBE
    // without arguments replies in that order); searched linearly, as there.
    std::vector<std::string> patterns;
    bool HasPattern(std::string_view pattern) const;
  };
  using Subscribers = std::vector<PubSubSubscriber*>;  // in subscription order
  static bool AddTo(std::map<std::string, Subscribers, std::less<>>* index, std::string_view name,
                    PubSubSubscriber* client);
  static void RemoveFrom(std::map<std::string, Subscribers, std::less<>>* index,
                         std::string_view name, PubSubSubscriber* client);
  void ForgetIfEmpty(PubSubSubscriber* client);

  std::map<std::string, Subscribers, std::less<>> channels_;
  std::map<std::string, Subscribers, std::less<>> patterns_;
  std::map<PubSubSubscriber*, ClientSubscriptions> clients_;
};

}  // namespace nines::store
