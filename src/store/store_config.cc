// Reads and validates store.toml; errors are FILE:LINE:COL lines.
#include "store/store_config.h"

#include <set>

#include "base/log.h"
#include "base/secret.h"

namespace nines::store {

const StoreMember* StoreConfig::Self() const {
  for (const StoreMember& m : members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

const StoreMember* StoreConfig::ByRaftId(uint64_t raft_id) const {
  for (const StoreMember& m : members) {
    if (m.raft_id == raft_id) return &m;
  }
  return nullptr;
}

uint64_t StableRaftId(std::string_view id) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  h &= (1ull << 53) - 1;  // exact in JSON numbers
  return h == 0 ? 1 : h;
}

std::optional<StoreConfig> ReadStoreConfig(const std::string& file, ConfigErrors* errors) {
  std::optional<ConfigValue> root_value = LoadConfigFile(file, errors);
  if (!root_value) return std::nullopt;
  StoreConfig c;
  c.file = file;
  TableReader root(&*root_value, file, "", errors);
  if (auto id = root.RequiredString("id")) c.id = *id;
  if (auto dir = root.RequiredString("data_dir")) c.data_dir = *dir;
  if (auto e = root.EndpointValue("client", true)) c.client = *e;
  if (auto e = root.EndpointValue("http", true)) c.http = *e;
  if (auto e = root.EndpointValue("peer", true)) c.peer = *e;
  c.tick_ms = static_cast<int>(root.Integer("tick_ms", c.tick_ms, 1, 1000));
  c.heartbeat_ms = static_cast<int>(root.Integer("heartbeat_ms", c.heartbeat_ms, 1, 60000));
  c.election_ms = static_cast<int>(root.Integer("election_ms", c.election_ms, 2, 600000));
  c.request_timeout_ms =
      static_cast<int>(root.Integer("request_timeout_ms", c.request_timeout_ms, 1, 3600000));
  c.max_clock_skew_ms =
      static_cast<int>(root.Integer("max_clock_skew_ms", c.max_clock_skew_ms, 0, 3600000));
  c.snapshot_entries = static_cast<uint64_t>(
      root.Integer("snapshot_entries", static_cast<int64_t>(c.snapshot_entries), 1, 1ll << 40));
  c.wal_segment_bytes = static_cast<uint64_t>(root.Integer(
      "wal_segment_bytes", static_cast<int64_t>(c.wal_segment_bytes), 1ll << 20, 1ll << 30));
  c.slow_fsync_ms = static_cast<int>(root.Integer("slow_fsync_ms", c.slow_fsync_ms, 0, 3600000));
  c.slow_fsync_count =
      static_cast<int>(root.Integer("slow_fsync_count", c.slow_fsync_count, 1, 1000));
  c.slow_fsync_cooldown_ms = static_cast<int>(
      root.Integer("slow_fsync_cooldown_ms", c.slow_fsync_cooldown_ms, 0, 3600000));
  c.requirepass = root.String("requirepass", "");
  c.requirepass_file = root.String("requirepass_file", "");
  if (!c.requirepass_file.empty()) {
    if (root.Has("requirepass")) {
      root.ErrorAt("requirepass_file", "set 'requirepass' or 'requirepass_file', not both");
    }
    std::string secret, warning;
    if (Status s = ReadSecretFile(c.requirepass_file, file, &secret, &warning); s.ok()) {
      c.requirepass = secret;
      if (!warning.empty()) LogWarn("store", "{}: requirepass_file: {}", file, warning);
    } else {
      root.ErrorAt("requirepass_file", "requirepass_file: " + s.message());
    }
  }
  c.cluster_secret_file = root.String("cluster_secret_file", "");
  if (!c.cluster_secret_file.empty()) {
    std::string secret, warning;
    if (Status s = ReadSecretFile(c.cluster_secret_file, file, &secret, &warning); s.ok()) {
      c.cluster_secret = secret;
      if (!warning.empty()) LogWarn("store", "{}: cluster_secret_file: {}", file, warning);
    } else {
      root.ErrorAt("cluster_secret_file", "cluster_secret_file: " + s.message());
    }
  }
  c.metrics_without_auth = root.Bool("metrics_without_auth", false);
  c.max_request_bytes = static_cast<uint64_t>(root.Integer(
      "max_request_bytes", static_cast<int64_t>(c.max_request_bytes), 1024, 1ll << 30));
  c.maxmemory = static_cast<uint64_t>(root.Integer("maxmemory", 0, 0, 1ll << 50));
  c.maxmemory_policy = root.String("maxmemory_policy", c.maxmemory_policy);
  if (c.maxmemory_policy != "noeviction") {
    root.ErrorAt("maxmemory_policy", "'maxmemory_policy' must be \"noeviction\" (the only policy)");
  }
  for (auto [key, value] : {std::pair{"max_hash_fields", &c.max_hash_fields},
                            std::pair{"max_list_elements", &c.max_list_elements},
                            std::pair{"max_set_members", &c.max_set_members},
                            std::pair{"max_zset_members", &c.max_zset_members}}) {
    *value =
        static_cast<uint64_t>(root.Integer(key, static_cast<int64_t>(*value), 1, int64_t{1} << 32));
  }
  c.pubsub_output_hard_bytes = static_cast<uint64_t>(root.Integer(
      "pubsub_output_hard_bytes", static_cast<int64_t>(c.pubsub_output_hard_bytes), 0, 1ll << 40));
  c.pubsub_output_soft_bytes = static_cast<uint64_t>(root.Integer(
      "pubsub_output_soft_bytes", static_cast<int64_t>(c.pubsub_output_soft_bytes), 0, 1ll << 40));
  c.pubsub_output_soft_seconds = static_cast<int>(
      root.Integer("pubsub_output_soft_seconds", c.pubsub_output_soft_seconds, 0, 1 << 30));
  c.fsync = root.Bool("fsync", true);
  c.unsafe_no_fsync = root.Bool("unsafe_no_fsync", false);
  if (!c.fsync && !c.unsafe_no_fsync) {
    root.ErrorAt("fsync",
                 "'fsync = false' voids the durability of votes and acknowledged writes (after a "
                 "crash a member can vote twice in a term or forget acknowledged data); set "
                 "'unsafe_no_fsync = true' to accept that (benchmarks and tests only)");
  }
  if (c.unsafe_no_fsync) c.fsync = false;
  c.join = root.Bool("join", false);
  if (c.heartbeat_ms < c.tick_ms) root.ErrorAt("heartbeat_ms", "'heartbeat_ms' must be >= tick_ms");
  if (c.election_ms < 2 * c.heartbeat_ms) {
    root.ErrorAt("election_ms", "'election_ms' must be at least twice heartbeat_ms");
  }
  std::set<std::string> ids;
  for (TableReader& m : root.TableArray("member")) {
    StoreMember member;
    if (auto id = m.RequiredString("id")) member.id = *id;
    if (auto e = m.EndpointValue("peer", true)) member.peer = *e;
    if (auto e = m.EndpointValue("client", true)) member.client = *e;
    if (m.Has("http")) member.http = m.EndpointValue("http", true);
    if (!member.id.empty() && !ids.insert(member.id).second) {
      m.ErrorAt("id", "duplicate member id '" + member.id + "'");
    }
    member.raft_id = StableRaftId(member.id);
    for (const StoreMember& other : c.members) {
      if (other.raft_id == member.raft_id && other.id != member.id) {
        m.ErrorAt("id", "member ids '" + other.id + "' and '" + member.id +
                            "' hash to the same Raft id; rename one");
      }
    }
    m.Finish();
    c.members.push_back(std::move(member));
  }
  if (c.members.empty()) {
    root.Error("at least one [[member]] is required (the same list on every member)");
  } else if (!c.id.empty() && c.Self() == nullptr) {
    root.ErrorAt("id", "id '" + c.id + "' is not in the [[member]] list");
  } else if (const StoreMember* self = c.Self(); self && !(self->peer == c.peer)) {
    root.ErrorAt("peer", "'peer' differs from this member's [[member]] peer address");
  }
  root.Finish();
  if (!errors->empty()) return std::nullopt;
  return c;
}

}  // namespace nines::store
