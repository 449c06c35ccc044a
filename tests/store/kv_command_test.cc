// Encoding of state machine commands: round trips, restamping, and strict
// decoding that rejects every truncation and malformed field.
#include "store/kv_command.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace nines::store {
namespace {

KvCommand MakeSet() {
  KvCommand c;
  c.op = KvOp::kSet;
  c.now_ms = 1'700'000'000'123;
  c.flags = kFlagNx | kFlagGet;
  c.expire_kind = ExpireKind::kRelativeMs;
  c.integer = 5000;
  c.args = {"key", std::string_view("v\0al", 4)};
  return c;
}

TEST(KvCommand, RoundTrip) {
  std::string encoded;
  EncodeKvCommand(MakeSet(), &encoded);
  KvCommand d;
  ASSERT_TRUE(DecodeKvCommand(encoded, &d).ok());
  EXPECT_EQ(d.op, KvOp::kSet);
  EXPECT_EQ(d.now_ms, 1'700'000'000'123);
  EXPECT_EQ(d.flags, kFlagNx | kFlagGet);
  EXPECT_EQ(d.expire_kind, ExpireKind::kRelativeMs);
  EXPECT_EQ(d.integer, 5000);
  ASSERT_EQ(d.args.size(), 2u);
  EXPECT_EQ(d.args[0], "key");
  EXPECT_EQ(d.args[1], std::string_view("v\0al", 4));
}

TEST(KvCommand, RoundTripEveryOp) {
  std::vector<KvCommand> commands;
  auto add = [&commands](KvOp op, std::vector<std::string_view> args, int64_t integer = 0,
                         uint64_t number = 0) {
    KvCommand c;
    c.op = op;
    c.args = std::move(args);
    c.integer = integer;
    c.number = number;
    if (op == KvOp::kExpire) c.expire_kind = ExpireKind::kAbsoluteMs;
    commands.push_back(c);
  };
  add(KvOp::kDel, {"a", "b", "c"});
  add(KvOp::kIncrBy, {"n"}, -9);
  add(KvOp::kAppend, {"k", "more"}, 0, 1 << 20);
  add(KvOp::kMSet, {"a", "1", "b", "2"});
  add(KvOp::kExpire, {"k"}, 123456);
  add(KvOp::kPersist, {"k"});
  add(KvOp::kGetDel, {"k"});
  add(KvOp::kFlushAll, {});
  add(KvOp::kCasSet, {"k", "v"}, 0, 42);
  add(KvOp::kCasDel, {"k"}, 0, 42);
  add(KvOp::kPurgeExpired, {}, 0, 100);
  for (const KvCommand& c : commands) {
    std::string encoded;
    EncodeKvCommand(c, &encoded);
    KvCommand d;
    Status status = DecodeKvCommand(encoded, &d);
    ASSERT_TRUE(status.ok()) << KvOpName(c.op) << ": " << status.ToString();
    EXPECT_EQ(d.op, c.op);
    EXPECT_EQ(d.integer, c.integer);
    EXPECT_EQ(d.number, c.number);
    EXPECT_EQ(d.args, c.args);
  }
}

TEST(KvCommand, StampTimeRewritesNowOnly) {
  std::string encoded;
  EncodeKvCommand(MakeSet(), &encoded);
  ASSERT_TRUE(StampTime(&encoded, 42));
  KvCommand d;
  ASSERT_TRUE(DecodeKvCommand(encoded, &d).ok());
  EXPECT_EQ(d.now_ms, 42);
  EXPECT_EQ(d.integer, 5000);
  std::string tiny = "x";
  EXPECT_FALSE(StampTime(&tiny, 1));
}

TEST(KvCommand, EveryTruncationIsRejected) {
  std::string encoded;
  EncodeKvCommand(MakeSet(), &encoded);
  KvCommand d;
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeKvCommand(encoded.substr(0, n), &d).ok()) << "length " << n;
  }
  EXPECT_FALSE(DecodeKvCommand(encoded + "x", &d).ok());
}

TEST(KvCommand, MalformedFieldsAreRejected) {
  std::string good;
  EncodeKvCommand(MakeSet(), &good);
  KvCommand d;
  auto with = [&good](size_t offset, char byte) {
    std::string bad = good;
    bad[offset] = byte;
    return bad;
  };
  EXPECT_NE(DecodeKvCommand(with(0, 2), &d).message().find("version"), std::string::npos);
  EXPECT_NE(DecodeKvCommand(with(1, 99), &d).message().find("unknown op"), std::string::npos);
  EXPECT_NE(DecodeKvCommand(with(10, static_cast<char>(0x80)), &d).message().find("flags"),
            std::string::npos);
  EXPECT_NE(DecodeKvCommand(with(11, 7), &d).message().find("expiry kind"), std::string::npos);

  // Ops with the wrong number of arguments, flags or expiry they do not take.
  KvCommand c;
  c.op = KvOp::kMSet;
  c.args = {"a", "1", "b"};
  std::string encoded;
  EncodeKvCommand(c, &encoded);
  EXPECT_FALSE(DecodeKvCommand(encoded, &d).ok());
  c.op = KvOp::kGetDel;
  c.args = {"a"};
  c.flags = kFlagNx;
  encoded.clear();
  EncodeKvCommand(c, &encoded);
  EXPECT_FALSE(DecodeKvCommand(encoded, &d).ok());
  c.flags = 0;
  c.expire_kind = ExpireKind::kRelativeMs;
  encoded.clear();
  EncodeKvCommand(c, &encoded);
  EXPECT_FALSE(DecodeKvCommand(encoded, &d).ok());
  c.op = KvOp::kExpire;
  c.expire_kind = ExpireKind::kNone;
  encoded.clear();
  EncodeKvCommand(c, &encoded);
  EXPECT_FALSE(DecodeKvCommand(encoded, &d).ok());
  c.op = KvOp::kDel;
  c.args = {};
  encoded.clear();
  EncodeKvCommand(c, &encoded);
  EXPECT_FALSE(DecodeKvCommand(encoded, &d).ok());
}

TEST(KvCommand, RandomBytesNeverCrashTheDecoder) {
  std::mt19937 rng(5);
  std::string good;
  EncodeKvCommand(MakeSet(), &good);
  KvCommand d;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    Status status = DecodeKvCommand(bytes, &d);
    if (status.ok()) {
      for (std::string_view arg : d.args) {
        ASSERT_GE(arg.data(), bytes.data());
        ASSERT_LE(arg.data() + arg.size(), bytes.data() + bytes.size());
      }
    }
  }
}

}  // namespace
}  // namespace nines::store
