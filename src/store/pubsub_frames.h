// The RESP2 arrays of Pub/Sub, byte for byte as Redis 7 sends them to a
// RESP2 client: the replies of (P)SUBSCRIBE / (P)UNSUBSCRIBE
// ["subscribe", channel, count] and the pushes ["message", channel,
// payload] and ["pmessage", pattern, channel, payload].
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nines::store {

// kind: "subscribe", "unsubscribe", "psubscribe" or "punsubscribe"; name
// null: the reply of an UNSUBSCRIBE without arguments from a client with no
// subscriptions (a null bulk in the channel's place).
void AppendSubscriptionReply(std::string_view kind, const std::string_view* name, size_t count,
                             std::string* out);
std::string MessageFrame(std::string_view channel, std::string_view message);
std::string PMessageFrame(std::string_view pattern, std::string_view channel,
                          std::string_view message);

}  // namespace nines::store
