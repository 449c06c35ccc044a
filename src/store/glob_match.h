// Redis's glob matcher (util.c stringmatchlen), ported as it is: '*', '?',
// '[abc]', '[^a-z]', '\x'; PSUBSCRIBE and PUBSUB CHANNELS match with it, so
// a pattern matches here exactly the channels it matches in Redis (an empty
// channel is matched by no pattern, as there; bytes compare as signed chars
// in ranges, as there). Bounded: patterns nested beyond 1000 stars match
// nothing, and a star that already failed on a suffix is not retried on
// longer ones (Redis's skipLongerMatches), so a match costs O(n*m).
#pragma once

#include <string_view>

namespace nines::store {

bool StringMatchLen(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace nines::store
