// BodyFingerprint: the same JSON object in any spelling agrees; another does not.
#include "drill/acknowledged_write.h"

#include <gtest/gtest.h>

namespace nines::drill {
namespace {

TEST(AcknowledgedWrite, FingerprintIgnoresSpellingButNotContent) {
  uint64_t a = BodyFingerprint(R"({"id":"x1","order":{"qty":1,"item":"drill"}})");
  EXPECT_EQ(a, BodyFingerprint(R"({ "order": {"item": "drill", "qty": 1}, "id": "x1" })"));
  EXPECT_NE(a, BodyFingerprint(R"({"id":"x1","order":{"qty":2,"item":"drill"}})"));
  EXPECT_NE(a, BodyFingerprint(R"({"id":"x2","order":{"qty":1,"item":"drill"}})"));
  // Not JSON: the bytes themselves.
  EXPECT_EQ(BodyFingerprint("plain"), BodyFingerprint("plain"));
  EXPECT_NE(BodyFingerprint("plain"), BodyFingerprint("plain2"));
  EXPECT_NE(BodyFingerprint(""), BodyFingerprint("{}"));
}

}  // namespace
}  // namespace nines::drill
