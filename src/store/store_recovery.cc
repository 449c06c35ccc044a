// Recovery of a StoreNode from its data directory (docs/store.md, "Recovery"):
// snapshot markers, the snapshot to use, WAL replay with truncations, the
// checks that refuse to start, and the bootstrap entry of a new group.
#include <fmt/format.h>

#include <set>

#include "base/coding.h"
#include "base/log.h"
#include "raft/codec.h"
#include "store/snapshot_file.h"
#include "store/store_node.h"
#include "store/store_plant.h"

namespace nines::store {

namespace {

constexpr uint64_t kMaxSnapshotBytes = 8ull << 30;
constexpr size_t kMarkerSize = 17;  // 'S' or 'C', u64 index, u64 term

// The directory holding path ("." for a relative name without a slash).
std::string ParentDir(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string VoterList(const raft::Membership& m) {
  std::string out;
  for (raft::NodeId id : m.voters) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

}  // namespace

// What the first pass over the WAL finds.
struct StoreNode::WalScan {
  std::set<std::pair<uint64_t, uint64_t>> marked;  // (index, term) of snapshot markers
  bool any_entry = false;
  std::optional<raft::Membership> bootstrapped;  // entry 1, when it is a configuration
};

WalOptions StoreNode::RecoveryWalOptions() {
  WalOptions options;
  options.segment_bytes = wal_segment_bytes_;
  // A segment started during recovery (replacing a half-created one) repeats
  // the hard state recovered so far: every record before it is durable.
  options.segment_preamble = [this](WalBatch* preamble) {
    // PLANTED BUG 1 (off unless NINES_STORE_PLANT=1): the in-memory hard state.
    const bool plant = StorePlant() == 1 && raft_ != nullptr;
    preamble->Add(0, "H" + raft::EncodeHardState(plant ? raft_->hard_state() : synced_hard_state_));
  };
  return options;
}

Status StoreNode::ScanWal(WalScan* scan) {
  synced_hard_state_ = raft::HardState{};
  auto on_record = [&](uint64_t index, std::string_view payload) -> Status {
    if (payload.size() == kMarkerSize && (payload[0] == 'S' || payload[0] == 'C')) {
      scan->marked.emplace(DecodeFixed64(payload.data() + 1), DecodeFixed64(payload.data() + 9));
    } else if (!payload.empty() && payload[0] == 'H') {
      raft::HardState hs;
      if (raft::DecodeHardState(payload.substr(1), &hs).ok()) synced_hard_state_ = hs;
    } else if (!payload.empty() && payload[0] == 'E') {
      scan->any_entry = true;
      raft::Entry e;
      raft::Membership m;
      if (index == 1 && raft::DecodeEntry(payload.substr(1), &e).ok()) {
        scan->bootstrapped.reset();
        if (e.type == raft::EntryType::kConfig && raft::DecodeMembership(e.data, &m).ok()) {
          scan->bootstrapped = std::move(m);
        }
      }
    }
    return Status::Ok();
  };
  std::unique_ptr<Wal> wal;
  WalRecoveryReport report;
  Status s = Wal::Open(fs_, wal_dir_, RecoveryWalOptions(), on_record, &wal, &report);
  if (s.ok()) (void)wal->Close();
  return s;
}

Status StoreNode::LoadMarkedSnapshot(const WalScan& scan, SnapshotMeta* meta, std::string* content,
                                     bool* found) {
  *found = false;
  std::vector<SnapshotFileInfo> files;
  Status s = ListSnapshots(fs_, snap_dir_, &files);
  if (!s.ok()) return s;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    if (scan.marked.count({it->meta.index, it->meta.term}) == 0) {
      LogWarn("store",
              "ignoring snapshot {}: its marker is not in the WAL (written just before a crash?)",
              it->path);
      continue;
    }
    // A damaged marked snapshot is an error: an older one could skip entries
    // that compaction already deleted.
    s = LoadSnapshot(fs_, it->path, kMaxSnapshotBytes, meta, content);
    if (!s.ok()) return s;
    *found = true;
    return Status::Ok();
  }
  return Status::Ok();
}

Status StoreNode::ReplayWal(const raft::Snapshot* snapshot, raft::HardState* hs,
                            std::string* hs_where) {
  synced_hard_state_ = raft::HardState{};
  WalRecoveryReport report;
  auto on_record = [&](uint64_t, std::string_view payload) -> Status {
    if (payload.empty()) return Status::Corruption("empty WAL record");
    switch (payload[0]) {
      case 'E': {
        raft::Entry e;
        if (Status s = raft::DecodeEntry(payload.substr(1), &e); !s.ok()) {
          return Status::Corruption("bad WAL entry: " + s.message());
        }
        if (snapshot && e.index <= snapshot->meta.index) {
          // An append at or below the snapshot cut off everything after it:
          // no entry past the snapshot that came before it survives.
          // PLANTED BUG 2 (off unless NINES_STORE_PLANT=2): the truncation is ignored.
          if (storage_.LastIndex() > snapshot->meta.index && StorePlant() != 2) {
            storage_.ApplySnapshot(*snapshot);
          }
          return Status::Ok();
        }
        if (e.index > storage_.LastIndex() + 1) {
          return Status::Corruption("WAL entry " + std::to_string(e.index) +
                                    " leaves a gap after " + std::to_string(storage_.LastIndex()));
        }
        storage_.Append({e});
        return Status::Ok();
      }
      case 'H':
        if (Status s = raft::DecodeHardState(payload.substr(1), hs); !s.ok()) {
          return Status::Corruption("bad WAL hard state: " + s.message());
        }
        synced_hard_state_ = *hs;
        *hs_where = fmt::format("{} at offset {}", report.record_file, report.record_offset);
        return Status::Ok();
      case 'S': {
        if (payload.size() != kMarkerSize) return Status::Corruption("bad WAL snapshot marker");
        uint64_t index = DecodeFixed64(payload.data() + 1);
        // A snapshot installed from the leader replaced the whole log.
        if (snapshot && index <= snapshot->meta.index) {
          storage_.ApplySnapshot(*snapshot);
          return Status::Ok();
        }
        return Status::Corruption(
            fmt::format("{} at offset {}: the WAL installs snapshot {} but {} has no such snapshot",
                        report.record_file, report.record_offset, index, snap_dir_));
      }
      case 'C':  // a snapshot this member took: marks it valid, leaves the log alone
        if (payload.size() != kMarkerSize) return Status::Corruption("bad WAL snapshot marker");
        return Status::Ok();
      default:
        return Status::Corruption("unknown WAL record type");
    }
  };
  Status s = Wal::Open(fs_, wal_dir_, RecoveryWalOptions(), on_record, &wal_, &report);
  if (!s.ok()) return s;
  if (report.dropped_bytes > 0) {
    LogWarn("store", "WAL torn tail truncated: {} at offset {} ({}), {} bytes dropped",
            report.torn_file, report.torn_offset, report.torn_reason, report.dropped_bytes);
  }
  LogInfo("store", "replayed {} WAL records", report.records);
  return Status::Ok();
}

Status StoreNode::WriteBootstrapEntry(raft::HardState* hs) {
  // Every member of the new group writes the same entry, as etcd does.
  raft::Entry e{1, 1, raft::EntryType::kConfig, raft::EncodeMembership(Bootstrap())};
  *hs = raft::HardState{1, raft::kNoNode, 1};
  WalBatch batch;
  batch.Add(e.index, "E" + raft::EncodeEntry(e));
  batch.Add(0, "H" + raft::EncodeHardState(*hs));
  Status s = wal_->Write(batch);
  if (s.ok()) s = wal_->Sync();
  if (!s.ok()) return s;
  storage_.Append({e});
  LogInfo("store", "new group: bootstrap configuration of {} voters written as entry 1",
          Bootstrap().voters.size());
  return Status::Ok();
}

Status StoreNode::Recover() {
  if (!config_.fsync) {
    LogWarn("store",
            "UNSAFE: unsafe_no_fsync = true: the WAL is never fsynced; a crash of the machine can "
            "lose acknowledged writes and let this member vote twice in one term");
  }
  Status s = fs_->CreateDirs(wal_dir_);
  if (s.ok()) s = fs_->CreateDirs(snap_dir_);
  // CreateDirs syncs the parents of the directories it creates, not of those
  // it finds: a run that crashed between its mkdir and that fsync left them
  // in place but not durable. Sync them here, once per start.
  if (s.ok()) s = fs_->SyncDir(config_.data_dir);
  if (s.ok()) s = fs_->SyncDir(ParentDir(config_.data_dir));
  if (!s.ok()) return s;
  SizeWalSegments();
  // First pass: only a snapshot whose marker is in the WAL is used (as etcd
  // does): a snapshot file written just before a crash may not match the log.
  WalScan scan;
  s = ScanWal(&scan);
  if (!s.ok()) return s;
  SnapshotMeta meta;
  std::string content;
  bool found = false;
  s = LoadMarkedSnapshot(scan, &meta, &content, &found);
  if (!s.ok()) return s;
  // The voters come from the log (entry 1 is the bootstrap configuration)
  // and snapshots, never again from [[member]] once the member has state.
  if (scan.bootstrapped && !config_.join && scan.bootstrapped->voters != Bootstrap().voters) {
    return Status::InvalidArgument(fmt::format(
        "{}: the [[member]] list (voters {}) differs from the one this member was bootstrapped "
        "with (voters {}); [[member]] only bootstraps a new group: restore the original list and "
        "change members with POST /v1/members and DELETE /v1/members/ID",
        config_.file.empty() ? "store.toml" : config_.file, VoterList(Bootstrap()),
        VoterList(*scan.bootstrapped)));
  }
  const bool legacy =
      !found && !scan.bootstrapped && (scan.any_entry || synced_hard_state_ != raft::HardState{});
  if (legacy && !config_.join) {
    // A data directory written before entry 1 carried the configuration.
    LogWarn("store", "{}: no bootstrap configuration in the log; using the [[member]] list",
            wal_dir_);
    storage_ = raft::MemoryStorage(Bootstrap());
    applied_membership_ = Bootstrap();
  }
  raft::Snapshot snapshot;
  if (found) {
    s = InstallSnapshotContent(content, Bootstrap());
    if (!s.ok()) {
      return Status::Corruption("snapshot index " + std::to_string(meta.index) + ": " +
                                s.message());
    }
    // The content stays in its file (and in the state): storage keeps the meta.
    snapshot.meta = raft::SnapshotMeta{meta.index, meta.term, applied_membership_};
    storage_.ApplySnapshot(snapshot);
    applied_ = meta.index;
    last_snapshot_index_ = meta.index;
    last_snapshot_bytes_ = content.size();  // the disk reserve (store_disk_space.cc)
  }
  raft::HardState hs;
  std::string hs_where;  // file and offset of the hard state record
  s = ReplayWal(found ? &snapshot : nullptr, &hs, &hs_where);
  if (!s.ok()) return s;
  if (!found && !legacy && !config_.join && storage_.LastIndex() == 0 && hs == raft::HardState{}) {
    s = WriteBootstrapEntry(&hs);
    if (!s.ok()) return s;
  }
  if (hs.commit > storage_.LastIndex()) {
    // The entries this commit index covers were lost (a torn tail after a
    // hard state that went ahead of them): applying what is left as
    // committed could apply entries that were never committed.
    return Status::Corruption(
        fmt::format("{}: hard state commit {} is past the last durable log entry {}; "
                    "refusing to start (restore this member from its peers)",
                    hs_where, hs.commit, storage_.LastIndex()));
  }
  if (hs.commit < applied_) hs.commit = applied_;
  storage_.SetHardState(hs);
  synced_hard_state_ = hs;
  LogInfo("store", "recovered: snapshot {} entries {}..{} term {} commit {}", applied_,
          storage_.FirstIndex(), storage_.LastIndex(), hs.term, hs.commit);

  raft::Config rc;
  rc.id = self_->raft_id;
  rc.heartbeat_ticks = std::max(1, config_.heartbeat_ms / config_.tick_ms);
  rc.election_ticks = std::max(2, config_.election_ms / config_.tick_ms);
  rc.seed = env_.seed;
  rc.applied = applied_;
  raft_ = std::make_unique<raft::Raft>(rc, &storage_);
  CheckDiskSpace();
  UpdateInfo();
  return Status::Ok();
}

}  // namespace nines::store
