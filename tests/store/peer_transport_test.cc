// The peer transport between two members in one process: a snapshot larger
// than the frame limit arrives whole, in bounded chunks, and a damaged or cut
// chunk stream is refused without handing anything to Raft; Pub/Sub
// messages reach the peer once each, and one sent while the peer is not
// connected is dropped, not delivered late.
#include "store/peer_transport.h"

#include <gtest/gtest.h>
#include <asio/write.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "raft/codec.h"
#include "store/crc32c.h"
#include "store/peer_frame.h"
#include "store/snapshot_file.h"
#include "test_util.h"

namespace nines::store {
namespace {

constexpr uint64_t kChunk = 64 << 10;
constexpr uint64_t kFrameLimit = 256 << 10;

PeerTransportOptions SmallFrames(const std::string& dir) {
  PeerTransportOptions o;
  o.max_frame_bytes = kFrameLimit;
  o.snapshot_chunk_bytes = kChunk;
  o.fs = PosixFileSystem();
  o.snapshot_dir = dir;
  return o;
}

raft::Message BigSnapshot(size_t bytes) {
  raft::Message m;
  m.type = raft::MessageType::kSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.snapshot.meta.index = 1234;
  m.snapshot.meta.term = 6;
  m.snapshot.meta.membership.voters = {1, 2, 3};
  std::mt19937_64 rng(42);
  m.snapshot.data.resize(bytes);
  for (char& c : m.snapshot.data) c = static_cast<char>(rng());
  return m;
}

size_t PartFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().extension() == ".part";
  }
  return n;
}

// Runs io until done() or a 60 s deadline.
template <typename Done>
bool RunUntil(asio::io_context& io, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
    if (io.stopped()) io.restart();
  }
  return done();
}

TEST(PeerTransportTest, SnapshotLargerThanTheFrameLimitArrivesInBoundedChunks) {
  testing::TempDir dir;
  asio::io_context io;
  std::optional<raft::Message> got;
  PeerTransport receiver(
      io, Endpoint{"127.0.211.2", 0}, [&](raft::Message m) { got = std::move(m); },
      SmallFrames(dir.path()));
  receiver.Start();
  PeerTransport sender(
      io, Endpoint{"127.0.211.1", 0}, [](raft::Message) {}, SmallFrames(dir.path()));
  sender.AddPeer(2, Endpoint{"127.0.211.2", receiver.listen_port()});
  sender.Start();
  raft::Message m = BigSnapshot(10 << 20);  // 40 x the frame limit
  sender.Send(m);
  // Raft resends a snapshot it has no answer for (every election timeout);
  // here far more often. A retry must not restart the stream. (A resend after
  // the last chunk is queued starts a second, legitimate stream, whose part
  // file would still be open when the first arrives: not resent then.)
  ASSERT_TRUE(RunUntil(io,
                       [&] {
                         if (!got && sender.stats().snapshots_sent == 0) sender.Send(m);
                         return got.has_value();
                       }))
      << "the snapshot never arrived; decode errors " << receiver.stats().decode_errors;
  EXPECT_EQ(got->type, raft::MessageType::kSnapshot);
  EXPECT_EQ(got->term, 7u);
  EXPECT_EQ(got->snapshot.meta, m.snapshot.meta);
  EXPECT_TRUE(got->snapshot.data == m.snapshot.data) << "snapshot data differs";
  // Memory: no buffer of the transport grew near the snapshot size.
  EXPECT_LE(sender.stats().max_buffer_bytes, 2 * kChunk);
  EXPECT_LE(receiver.stats().max_buffer_bytes, 3 * kChunk);
  EXPECT_EQ(PartFiles(dir.path()), 0u);
  EXPECT_EQ(sender.stats().snapshots_sent, 1u);
  EXPECT_EQ(receiver.stats().snapshots_received, 1u);
  sender.Stop();
  receiver.Stop();
}

// A snapshot message without data (StoreNode's: its storage keeps the meta
// only) is streamed from its file in the sender's snapshot directory, read
// a chunk at a time, and arrives whole; the sender holds no copy of it, and
// removing the file's name while it streams does not cut the stream.
TEST(PeerTransportTest, SnapshotWithoutDataIsStreamedFromItsFile) {
  testing::TempDir send_dir;
  testing::TempDir receive_dir;
  asio::io_context io;
  std::optional<raft::Message> got;
  PeerTransport receiver(
      io, Endpoint{"127.0.211.2", 0}, [&](raft::Message m) { got = std::move(m); },
      SmallFrames(receive_dir.path()));
  receiver.Start();
  PeerTransport sender(
      io, Endpoint{"127.0.211.1", 0}, [](raft::Message) {}, SmallFrames(send_dir.path()));
  sender.AddPeer(2, Endpoint{"127.0.211.2", receiver.listen_port()});
  sender.Start();
  const raft::Message full = BigSnapshot(4 << 20);
  const SnapshotMeta meta{full.snapshot.meta.index, full.snapshot.meta.term};
  ASSERT_TRUE(WriteSnapshot(PosixFileSystem(), send_dir.path(), meta, full.snapshot.data).ok());
  raft::Message m = full;
  m.snapshot.data.clear();
  sender.Send(m);
  EXPECT_EQ(sender.SnapshotBytesHeld(), 0u);
  std::filesystem::remove(std::filesystem::path(send_dir.path()) / SnapshotFileName(meta));
  ASSERT_TRUE(RunUntil(io, [&] { return got.has_value(); }))
      << "the snapshot never arrived; errors " << sender.stats().snapshot_errors << " "
      << receiver.stats().snapshot_errors;
  EXPECT_EQ(got->snapshot.meta, full.snapshot.meta);
  EXPECT_TRUE(got->snapshot.data == full.snapshot.data) << "snapshot data differs";
  EXPECT_LE(sender.stats().max_buffer_bytes, 2 * kChunk);
  EXPECT_EQ(sender.stats().snapshots_sent, 1u);
  // A message whose file is missing is not sent (Raft sends it again).
  raft::Message missing = m;
  missing.snapshot.meta.index = 9999;
  sender.Send(missing);
  EXPECT_EQ(sender.stats().snapshot_errors, 1u);
  sender.Stop();
  receiver.Stop();
}

// A raw peer connection that writes hand-made frames to the receiver.
struct RawPeer {
  RawPeer(asio::io_context& io, const char* host, uint16_t port) : socket(io) {
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address(host), port));
  }
  // Writes in the background while the test runs io (the receiver reads on it).
  void Write(std::string bytes) {
    pending = std::move(bytes);
    asio::async_write(socket, asio::buffer(pending), [](const asio::error_code&, size_t) {});
  }
  asio::ip::tcp::socket socket;
  std::string pending;
};

std::string StartFrame(const raft::Message& m) {
  std::string frame;
  AppendFrame(FrameKind::kSnapshotStart,
              EncodeSnapshotStart(m, m.snapshot.data.size(), crc32c::Value(m.snapshot.data)),
              &frame);
  return frame;
}

std::string ChunkFrame(const raft::Message& m, uint64_t offset, bool damage) {
  std::string body =
      EncodeSnapshotChunk(offset, std::string_view(m.snapshot.data).substr(offset, kChunk));
  if (damage) body.back() ^= 0x40;
  std::string frame;
  AppendFrame(FrameKind::kSnapshotChunk, body, &frame);
  return frame;
}

TEST(PeerTransportTest, DamagedChunkStreamIsRefusedCleanly) {
  testing::TempDir dir;
  asio::io_context io;
  int delivered = 0;
  PeerTransport receiver(
      io, Endpoint{"127.0.211.3", 0}, [&](raft::Message) { ++delivered; }, SmallFrames(dir.path()));
  receiver.Start();
  raft::Message m = BigSnapshot(4 * kChunk);
  RawPeer peer(io, "127.0.211.3", receiver.listen_port());
  peer.Write(StartFrame(m) + ChunkFrame(m, 0, false) + ChunkFrame(m, kChunk, true));
  ASSERT_TRUE(RunUntil(io, [&] { return receiver.stats().snapshot_errors == 1; }));
  // The receiver closed the connection and removed the staged file.
  char byte;
  asio::error_code ec;
  peer.socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(PartFiles(dir.path()), 0u);
  EXPECT_EQ(delivered, 0);
  receiver.Stop();
}

TEST(PeerTransportTest, TruncatedChunkStreamLeavesNothingBehind) {
  testing::TempDir dir;
  asio::io_context io;
  int delivered = 0;
  PeerTransport receiver(
      io, Endpoint{"127.0.211.5", 0}, [&](raft::Message) { ++delivered; }, SmallFrames(dir.path()));
  receiver.Start();
  raft::Message m = BigSnapshot(4 * kChunk);
  {
    RawPeer peer(io, "127.0.211.5", receiver.listen_port());
    // A start frame, one chunk, and half of the next frame: then the peer dies.
    std::string second = ChunkFrame(m, kChunk, false);
    peer.Write(StartFrame(m) + ChunkFrame(m, 0, false) + second.substr(0, second.size() / 2));
    ASSERT_TRUE(RunUntil(io, [&] { return PartFiles(dir.path()) == 1; }));
  }
  ASSERT_TRUE(RunUntil(io, [&] { return PartFiles(dir.path()) == 0; }));
  EXPECT_EQ(delivered, 0);
  // A frame over the limit is refused as well (and never allocated).
  {
    RawPeer peer(io, "127.0.211.5", receiver.listen_port());
    std::string huge;
    AppendFrame(FrameKind::kMessage, std::string(kFrameLimit, 'x'), &huge);
    peer.Write(huge.substr(0, 64));
    ASSERT_TRUE(RunUntil(io, [&] { return receiver.stats().decode_errors == 1; }));
  }
  EXPECT_LE(receiver.stats().max_buffer_bytes, 3 * kChunk);
  EXPECT_EQ(delivered, 0);
  receiver.Stop();
}

// Streaming one snapshot to several lagging peers holds its data once, not
// once per peer (plus the copy in the Raft storage): with a large data set
// and a few members to catch up, per-peer copies multiply the memory.
TEST(PeerTransportTest, OneSnapshotStreamedToSeveralPeersIsHeldOnce) {
  testing::TempDir dir;
  asio::io_context io;
  PeerTransport sender(
      io, Endpoint{"127.0.0.1", 0}, [](raft::Message) {}, SmallFrames(dir.path()));
  // Peers that are never reached (nothing listens there): the streams stay queued.
  for (raft::NodeId id : {2, 3, 4}) sender.AddPeer(id, Endpoint{"127.0.0.1", 1});
  raft::Message m = BigSnapshot(1 << 20);
  for (raft::NodeId id : {2, 3, 4}) {
    m.to = id;
    sender.Send(m);
  }
  EXPECT_EQ(sender.SnapshotBytesHeld(), m.snapshot.data.size());
  sender.Stop();
}

// With a cluster secret, a raw TCP client that sends a valid
// AppendEntries frame without proving it knows the secret is dropped, the
// message never reaches Raft, and the refusal is counted. Members that share
// the secret still talk.
TEST(PeerTransportTest, PeerWithoutTheClusterSecretIsRefused) {
  testing::TempDir dir;
  asio::io_context io;
  int delivered = 0;
  PeerTransportOptions options = SmallFrames(dir.path());
  options.secret = "cluster-secret";
  PeerTransport receiver(
      io, Endpoint{"127.0.211.6", 0}, [&](raft::Message) { ++delivered; }, options);
  receiver.Start();
  raft::Message forged;
  forged.type = raft::MessageType::kAppend;
  forged.from = 9;
  forged.to = 2;
  forged.term = 1000;
  std::string frame;
  AppendFrame(FrameKind::kMessage, raft::EncodeMessage(forged), &frame);
  RawPeer peer(io, "127.0.211.6", receiver.listen_port());
  peer.Write(frame);
  ASSERT_TRUE(RunUntil(io, [&] { return receiver.stats().auth_failures == 1; }));
  // The receiver closed the connection (after its challenge) and Raft saw nothing.
  std::string bytes(256, '\0');
  asio::error_code ec;
  while (!ec) peer.socket.read_some(asio::buffer(bytes), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(delivered, 0);
  EXPECT_EQ(receiver.stats().received, 0u);

  // A member with the wrong secret is refused too; one with the right secret is heard.
  PeerTransportOptions wrong = SmallFrames(dir.path());
  wrong.secret = "another-secret";
  PeerTransport impostor(
      io, Endpoint{"127.0.211.7", 0}, [](raft::Message) {}, wrong);
  impostor.AddPeer(2, Endpoint{"127.0.211.6", receiver.listen_port()});
  impostor.Start();
  impostor.Send(forged);
  ASSERT_TRUE(RunUntil(io, [&] { return receiver.stats().auth_failures >= 2; }));
  EXPECT_EQ(delivered, 0);
  PeerTransport member(
      io, Endpoint{"127.0.211.8", 0}, [](raft::Message) {}, options);
  member.AddPeer(2, Endpoint{"127.0.211.6", receiver.listen_port()});
  member.Start();
  member.Send(forged);
  ASSERT_TRUE(RunUntil(io, [&] { return delivered == 1; }));
  member.Stop();
  impostor.Stop();
  receiver.Stop();
}

TEST(PeerTransportTest, PublishReachesThePeerOnceAndIsDroppedWhileNotConnected) {
  asio::io_context io;
  std::vector<std::pair<std::string, std::string>> got;
  bool warm = false;
  PeerTransportOptions receiver_options;
  receiver_options.on_publish = [&](std::string_view channel, std::string_view message) {
    if (channel == "warm") {
      warm = true;
    } else {
      got.emplace_back(channel, message);
    }
  };
  PeerTransport receiver(
      io, Endpoint{"127.0.211.4", 0}, [](raft::Message) {}, receiver_options);
  receiver.Start();
  PeerTransport sender(io, Endpoint{"127.0.211.3", 0}, [](raft::Message) {});
  sender.AddPeer(2, Endpoint{"127.0.211.4", receiver.listen_port()});
  sender.Publish("early", "x");  // not connected yet: dropped
  EXPECT_EQ(sender.stats().publish_dropped, 1u);
  sender.Start();
  // Connected once a publish is counted as sent; then every message goes once.
  ASSERT_TRUE(RunUntil(io, [&] {
    if (sender.stats().publish_sent == 0) sender.Publish("warm", "w");
    return warm;
  }));
  sender.Publish("news", std::string("a\0b", 3));
  sender.Publish("", "");
  ASSERT_TRUE(RunUntil(io, [&] { return got.size() >= 2; }));
  io.run_for(std::chrono::milliseconds(100));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(std::string("news"), std::string("a\0b", 3)));
  EXPECT_EQ(got[1], std::make_pair(std::string(), std::string()));
  std::string_view channel, message;
  Status s = DecodePublish(std::string("\x09\0\0\0abc", 7), &channel, &message);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "publish frame's channel runs past its end");
}

}  // namespace
}  // namespace nines::store
