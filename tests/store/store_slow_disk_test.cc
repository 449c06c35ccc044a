// The slow-disk guard with real `nines store` processes (docs/store.md "When
// the disk is slow"): three members on 127.0.231.1, each started with its own
// NINES_FSYNC_DELAY_FILE; the leader's fsyncs are made 200 ms slow while
// writers keep going through the followers. Leadership must move to another
// member within a deadline, not come back while the disk stays slow, and no
// acknowledged write may be lost. Fixed addresses: run in a network namespace.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

void WriteDelay(const std::string& path, int ms) {
  WriteFile(path + ".tmp", std::to_string(ms) + "\n");
  std::filesystem::rename(path + ".tmp", path);
}

std::string Metrics(StoreGroup& g, int i) {
  http::ClientResponse r = http::Get(g.member(i).host, g.member(i).http, "/metrics",
                                     http::ClientOptions().Timeout(1000));
  return r.ok ? r.body : "";
}

TEST(StoreSlowDisk, ASlowLeaderHandsLeadershipToAnotherMemberAndLosesNoWrite) {
  StoreGroup g("slow_disk", 231);
  std::vector<std::string> delay_files;
  for (int i : g.All()) {
    delay_files.push_back(g.member(i).config + ".fsync-delay-ms");
    WriteDelay(delay_files.back(), 0);
    g.member(i).env = {"NINES_FSYNC_DELAY_FILE=" + delay_files.back()};
  }
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";

  // Writers on the followers (forwarded to whoever leads).
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<std::string, std::string> acked;
  std::vector<std::thread> writers;
  struct JoinWriters {  // also when an ASSERT returns early
    std::atomic<bool>* stop;
    std::vector<std::thread>* writers;
    ~JoinWriters() {
      *stop = true;
      for (std::thread& t : *writers) {
        if (t.joinable()) t.join();
      }
    }
  } join_writers{&stop, &writers};
  for (int w : g.All()) {
    if (w == leader) continue;
    writers.emplace_back([&, w] {
      RespClient c;
      for (int n = 0; !stop; ++n) {
        if (!ConnectUnlessStopped(g, w, c, stop)) continue;
        std::string key = "w" + std::to_string(w) + "n" + std::to_string(n);
        if (c.Call({"SET", key, key}) == "+OK\r\n") {
          std::lock_guard<std::mutex> lock(mu);
          acked[key] = key;
        }
      }
    });
  }
  auto acked_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return acked_count() > 50; }, 10000)) << "no writes before";

  // The leader's disk turns slow: every fsync waits 200 ms (over the default
  // slow_fsync_ms of 100 ms); three in a row flag it.
  const int64_t slowed_at = SteadyMs();
  WriteDelay(delay_files[leader], 200);
  int next = -1;
  const bool moved = WaitUntil(
      [&] {
        next = g.Leader(g.All());
        return next >= 0 && next != leader;
      },
      8000);
  const int64_t moved_ms = SteadyMs() - slowed_at;
  EXPECT_TRUE(moved) << "s" << leader + 1 << " kept leadership for 8 s with a slow disk";
  std::printf("leadership moved off the slow disk in %lld ms\n", static_cast<long long>(moved_ms));

  // The old leader says why, in /status and /metrics.
  // (Its loop waits 200 ms in each fsync: a status request may time out.)
  std::optional<nlohmann::json> status;
  ASSERT_TRUE(WaitUntil([&] { return (status = g.Status(leader)).has_value(); }, 5000));
  const nlohmann::json& slow = (*status)["slow_disk"];
  EXPECT_TRUE(slow["slow"].get<bool>()) << status->dump();
  EXPECT_GE(slow["transfers"].get<uint64_t>(), 1u) << status->dump();
  EXPECT_GE(slow["last_fsync_ms"].get<int64_t>(), 200) << status->dump();
  std::string metrics;
  WaitUntil([&] { return !(metrics = Metrics(g, leader)).empty(); }, 5000);
  EXPECT_NE(metrics.find("nines_store_slow_disk 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("nines_store_wal_fsync_duration_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_EQ(metrics.find("nines_store_slow_disk_transfers_total 0\n"), std::string::npos);

  // While its disk stays slow it does not lead again (writes go on; a
  // member whose disk is slow takes no transfer and campaigns last).
  const size_t at_move = acked_count();
  bool led_again = false;
  WaitUntil(
      [&] {
        auto s = g.Status(leader);
        if (s && (*s)["role"] == "leader") led_again = true;
        return led_again || acked_count() >= at_move + 100;
      },
      10000);
  EXPECT_FALSE(led_again) << "the slow member took leadership back";
  EXPECT_GE(acked_count(), at_move + 100) << "writes stalled after the hand-off";

  stop = true;
  for (std::thread& t : writers) t.join();
  WriteDelay(delay_files[leader], 0);
  // Every acknowledged write on every member, the slow one included.
  for (int i : g.All()) {
    for (const auto& write : acked) {
      const auto& key = write.first;
      const auto& value = write.second;
      bool ok = WaitUntil([&] { return LocalGet(g, i, key) == Bulk(value); }, 10000, 50);
      ASSERT_TRUE(ok) << "acknowledged " << key << " missing on member s" << i + 1;
    }
  }
  std::printf("%zu acknowledged writes verified on every member\n", acked.size());
}

}  // namespace
}  // namespace nines::test
