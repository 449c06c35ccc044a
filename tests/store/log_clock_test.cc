// Expiry follows the time carried in the log, with bounded skew: members with
// wrong wall clocks apply one log through KvState while a LogClock stamps the
// leader's commands and gives reads their time. Clocks are driven by hand.
#include "store/log_clock.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/kv_state.h"

namespace nines::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // true Unix ms at the start
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kSkew = 500;  // max_clock_skew_ms
constexpr int64_t kTick = 100;  // the leader's expiry tick (kPurgeExpired)

// One member: its own wall clock (offset from the truth), its own steady
// clock, its copy of the state and its LogClock.
struct Member {
  explicit Member(int64_t wall_offset_ms, int64_t steady_start)
      : wall_offset(wall_offset_ms),
        steady(steady_start),
        clock([this] { return truth + wall_offset; }, [this] { return steady; }, kSkew) {}
  int64_t truth = kT0;
  int64_t wall_offset;
  int64_t steady;
  KvState state;
  LogClock clock;
};

class LogClockTest : public ::testing::Test {
 protected:
  Member& Add(int64_t wall_offset_ms, int64_t steady_start) {
    members_.push_back(std::make_unique<Member>(wall_offset_ms, steady_start));
    return *members_.back();
  }
  // Real time passes for everyone.
  void Advance(int64_t ms) {
    for (auto& m : members_) {
      m->truth += ms;
      m->steady += ms;
    }
  }
  // The leader stamps and proposes c; every member applies it.
  void Propose(Member& leader, KvCommand c) {
    c.now_ms = leader.clock.Stamp();
    std::string encoded;
    EncodeKvCommand(c, &encoded);
    ++index_;
    for (auto& m : members_) {
      m->state.Apply(index_, encoded);
      m->clock.Observe(m->state.clock_ms());
    }
  }
  void SetPx(Member& leader, std::string_view key, int64_t px) {
    KvCommand c;
    c.op = KvOp::kSet;
    c.args = {key, "v"};
    c.expire_kind = ExpireKind::kRelativeMs;
    c.integer = px;
    Propose(leader, c);
  }
  // The leader leads for ms: an expiry tick every kTick while keys have a TTL.
  void Lead(Member& leader, int64_t ms) {
    for (int64_t t = 0; t < ms; t += kTick) {
      Advance(kTick);
      if (leader.state.keys_with_expiry() == 0) continue;
      KvCommand c;
      c.op = KvOp::kPurgeExpired;
      c.number = 1000;
      Propose(leader, c);
    }
  }
  bool Present(const Member& m, std::string_view key) {
    return m.state.Find(key, m.clock.ReadTime(m.state.clock_ms())) != nullptr;
  }

  std::vector<std::unique_ptr<Member>> members_;
  uint64_t index_ = 0;
};

TEST_F(LogClockTest, FailoverToMemberWithClockBehindKeepsExpiredKeyExpired) {
  Member& a = Add(0, 5'000);
  Member& b = Add(-kHour, 77'000);  // one hour behind
  SetPx(a, "k", 1000);
  // 1.2 s later, before the next expiry tick commits, a client reads on a.
  Advance(1200);
  bool seen_absent = !Present(a, "k");
  // a fails; b (an hour behind) leads and serves reads.
  for (int i = 0; i < 40; ++i) {
    if (!seen_absent) {
      seen_absent = !Present(b, "k");
    } else {
      EXPECT_FALSE(Present(b, "k")) << "an expired key came back on the new leader";
    }
    Lead(b, kTick);
  }
  // And time goes on under b: the key has expired by the log's time.
  EXPECT_FALSE(Present(b, "k"));
  EXPECT_GE(b.state.clock_ms(), kT0 + 1000);
}

TEST_F(LogClockTest, StampsStayMonotonicWhenTheWallClockStepsBack) {
  Member& a = Add(0, 1'000);
  SetPx(a, "k", 60'000);
  Lead(a, 1000);
  int64_t before = a.state.clock_ms();
  a.wall_offset = -10 * 60'000;  // NTP steps the clock back ten minutes
  for (int i = 0; i < 20; ++i) {
    int64_t stamp = a.clock.Stamp();
    EXPECT_GE(stamp, a.state.clock_ms());
    Lead(a, kTick);
  }
  // Log time keeps moving with the steady clock, not frozen by the wall clock.
  EXPECT_GE(a.state.clock_ms(), before + 2000 - kSkew);
}

TEST_F(LogClockTest, MemberWithClockHourAheadDoesNotPushTtls) {
  Member& a = Add(0, 9'000);
  Member& c = Add(kHour, 123'000);  // one hour ahead
  SetPx(a, "x", 1000);
  Lead(a, 300);
  // a is cut off; c leads for two seconds and sets y with a 5 s TTL.
  Lead(c, 1000);
  SetPx(c, "y", 5000);
  Lead(c, 1000);
  // Log time never runs more than the skew bound ahead of real time.
  EXPECT_LE(c.state.clock_ms(), c.truth + kSkew);
  ASSERT_TRUE(Present(c, "y"));
  EXPECT_LE(c.state.PttlMs("y", c.clock.ReadTime(c.state.clock_ms())), 5000);
  // a leads again: y expires about 5 s after it was set, not an hour later.
  Lead(a, 4000 + 2 * kSkew + kTick);
  EXPECT_FALSE(Present(a, "y")) << "log time " << a.state.clock_ms() - kT0 << " ms";
  EXPECT_LE(a.state.clock_ms(), a.truth + kSkew);
}

}  // namespace
}  // namespace nines::store
