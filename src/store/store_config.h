// store.toml (DESIGN.md "Store"): this member's id, data directory and
// addresses, the member list (same on every member) and tunables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"

namespace nines::store {

struct StoreMember {
  std::string id;
  uint64_t raft_id = 0;  // StableRaftId(id): the same on every member, whatever the list order
  Endpoint peer;
  Endpoint client;
  std::optional<Endpoint> http;  // lets followers point HTTP clients to the leader
};

struct StoreConfig {
  std::string file;
  std::string id;
  std::string data_dir;
  Endpoint client;
  Endpoint http;
  Endpoint peer;
  std::vector<StoreMember> members;
  int tick_ms = 10;
  int heartbeat_ms = 100;
  int election_ms = 500;
  int request_timeout_ms = 2000;
  // Expiry: how far a leader's stamped time may run ahead of (or behind) log
  // time plus its own steady clock (see docs/store.md "Expiry and time").
  int max_clock_skew_ms = 500;
  uint64_t snapshot_entries = 10000;
  // Size at which the WAL rolls to a new segment; snapshots purge only whole
  // segments. A member caps it at a sixteenth of its disk (at least 1 MiB),
  // so a small disk still rolls and purges (docs/store.md "When the disk
  // fills"). Tests set it smaller than store.toml allows.
  uint64_t wal_segment_bytes = 64ull << 20;
  // The slow-disk guard (docs/store.md "When the disk is slow"): after
  // slow_fsync_count consecutive WAL fsyncs of at least slow_fsync_ms a
  // leader hands leadership to another voter, and the member neither takes
  // a transfer nor campaigns first until slow_fsync_cooldown_ms after its
  // last slow fsync. slow_fsync_ms = 0 turns the guard off.
  int slow_fsync_ms = 100;
  int slow_fsync_count = 3;
  int slow_fsync_cooldown_ms = 10000;
  // The one password of the store (requirepass, or read from requirepass_file):
  // RESP needs AUTH, HTTP needs `Authorization: Bearer PASSWORD` (docs/store.md "Security").
  std::string requirepass;
  std::string requirepass_file;
  // The cluster secret (read from cluster_secret_file, the same on every
  // member): peers prove they know it when they connect (docs/store.md "Security").
  std::string cluster_secret;
  std::string cluster_secret_file;
  // Leaves GET /status and GET /metrics open when a password is set (monitoring).
  bool metrics_without_auth = false;
  uint64_t max_request_bytes = 64u << 20;
  // Limits (docs/store.md "Limits"): maxmemory bytes of data (keys and
  // values, KvState::memory_bytes), 0 = none, policy noeviction only; and
  // the most elements one hash, list, set or sorted set may hold.
  uint64_t maxmemory = 0;
  std::string maxmemory_policy = "noeviction";
  uint64_t max_hash_fields = 16u << 20;
  uint64_t max_list_elements = 16u << 20;
  uint64_t max_set_members = 16u << 20;
  uint64_t max_zset_members = 16u << 20;
  // A subscribed client's unsent output (Redis's client-output-buffer-limit
  // pubsub 32mb 8mb 60): over the hard limit, or over the soft limit for
  // more than soft_seconds, the client is closed. 0 turns a limit off.
  uint64_t pubsub_output_hard_bytes = 32u << 20;
  uint64_t pubsub_output_soft_bytes = 8u << 20;
  int pubsub_output_soft_seconds = 60;
  // fsync is turned off only by unsafe_no_fsync = true (as etcd's
  // --unsafe-no-fsync); `fsync = false` alone is a config error.
  bool fsync = true;
  bool unsafe_no_fsync = false;
  // Joins a running group (added with POST /v1/members): starts with no
  // configuration and waits for the leader instead of bootstrapping from [[member]].
  bool join = false;

  const StoreMember* Self() const;
  const StoreMember* ByRaftId(uint64_t raft_id) const;
};

// The Raft node id of a member: a hash of its id (53 bits, never 0), so ids
// stay stable when members are added or removed and the list order is free.
uint64_t StableRaftId(std::string_view id);

std::optional<StoreConfig> ReadStoreConfig(const std::string& file, ConfigErrors* errors);

}  // namespace nines::store
