// The member directory and the snapshot content wrapper: round trips, older
// snapshots without the wrapper, damaged input, and stable Raft ids.
#include "store/member_directory.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nines::store {
namespace {

StoreMember Member(const std::string& id, uint16_t port) {
  StoreMember m;
  m.id = id;
  m.raft_id = StableRaftId(id);
  m.peer = Endpoint{"127.0.0.1", port};
  m.client = Endpoint{"127.0.0.1", static_cast<uint16_t>(port + 1)};
  if (port % 2 == 0) m.http = Endpoint{"127.0.0.1", static_cast<uint16_t>(port + 2)};
  return m;
}

TEST(MemberDirectory, StableRaftIdsAreFixedNonZeroAndDistinct) {
  EXPECT_EQ(StableRaftId("s1"), StableRaftId("s1"));
  EXPECT_NE(StableRaftId("s1"), StableRaftId("s2"));
  EXPECT_NE(StableRaftId(""), 0u);
  EXPECT_LT(StableRaftId("us-east"), 1ull << 53);
}

TEST(MemberDirectory, EncodeDecodeRoundTrip) {
  MemberDirectory d;
  d.Upsert(Member("s2", 7000));
  d.Upsert(Member("s1", 7101));
  d.removed.push_back("s0");
  ASSERT_EQ(d.members[0].id, "s1");  // kept sorted
  MemberDirectory back;
  Status s = DecodeDirectory(EncodeDirectory(d), &back);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(back.members.size(), 2u);
  EXPECT_EQ(back.ById("s2")->peer, d.ById("s2")->peer);
  EXPECT_TRUE(back.ById("s2")->http.has_value());
  EXPECT_FALSE(back.ById("s1")->http.has_value());
  EXPECT_EQ(back.ByRaftId(StableRaftId("s1"))->id, "s1");
  EXPECT_TRUE(back.WasRemoved("s0"));
  s = DecodeDirectory("{\"members\":[{\"id\":\"x\"}]}", &back);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("member"), std::string::npos);
  EXPECT_TRUE(DecodeDirectory("not json", &back).IsCorruption());
}

TEST(MemberDirectory, SnapshotContentCarriesConfigurationAndDirectory) {
  MemberDirectory d;
  d.Upsert(Member("s1", 7000));
  raft::Membership m{{StableRaftId("s1")}, {StableRaftId("s4")}};
  std::sort(m.voters.begin(), m.voters.end());
  std::string content = EncodeSnapshotContent(m, d, "NVK1kvbytes");
  bool wrapped = false;
  raft::Membership m2;
  MemberDirectory d2;
  std::string_view kv;
  Status s = DecodeSnapshotContent(content, &wrapped, &m2, &d2, &kv);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(m2, m);
  EXPECT_EQ(d2.members.size(), 1u);
  EXPECT_EQ(kv, "NVK1kvbytes");
  // An older snapshot: only KvState bytes.
  ASSERT_TRUE(DecodeSnapshotContent("NVK1old", &wrapped, &m2, &d2, &kv).ok());
  EXPECT_FALSE(wrapped);
  EXPECT_EQ(kv, "NVK1old");
  // Truncated wrapper.
  EXPECT_TRUE(DecodeSnapshotContent(content.substr(0, 10), &wrapped, &m2, &d2, &kv).IsCorruption());
}

}  // namespace
}  // namespace nines::store
