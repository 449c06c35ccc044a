// Pub/Sub replies and pushes; see pubsub_frames.h.
#include "store/pubsub_frames.h"

#include "store/resp_writer.h"

namespace nines::store {

void AppendSubscriptionReply(std::string_view kind, const std::string_view* name, size_t count,
                             std::string* out) {
  resp::ReplyWriter w(out);
  w.ArrayHeader(3);
  w.Bulk(kind);
  if (name != nullptr) {
    w.Bulk(*name);
  } else {
    w.NullBulk();
  }
  w.Integer(static_cast<int64_t>(count));
}

std::string MessageFrame(std::string_view channel, std::string_view message) {
  std::string out;
  out.reserve(32 + channel.size() + message.size());
  resp::ReplyWriter w(&out);
  w.ArrayHeader(3);
  w.Bulk("message");
  w.Bulk(channel);
  w.Bulk(message);
  return out;
}

std::string PMessageFrame(std::string_view pattern, std::string_view channel,
                          std::string_view message) {
  std::string out;
  out.reserve(48 + pattern.size() + channel.size() + message.size());
  resp::ReplyWriter w(&out);
  w.ArrayHeader(4);
  w.Bulk("pmessage");
  w.Bulk(pattern);
  w.Bulk(channel);
  w.Bulk(message);
  return out;
}

}  // namespace nines::store
