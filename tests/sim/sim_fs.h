// A simulated FileSystem for whole store members (nines_sim_store): files
// live in memory; a crash keeps what was fsynced and, of each file's unsynced
// tail, a prefix torn at any byte (possibly garbled or zero-filled); names
// created, renamed or removed since the directory's last fsync revert. Armed
// faults fail writes (after a partial write) with ENOSPC or EIO, fail fsyncs
// with EIO, or cut the power in the middle of a disk operation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "prng.h"
#include "store/file.h"

namespace nines::sim {

// Thrown by a disk operation when an armed power cut fires: the member dies
// in the middle of what it was doing (the simulator catches it).
struct PowerCut {};

class SimFs : public store::FileSystem {
 public:
  SimFs() = default;

  // --- faults ---
  // The write that crosses `bytes` more appended bytes writes only part and
  // fails with err (ENOSPC or EIO); so does every later write until ClearFaults.
  void FailWritesAfter(uint64_t bytes, int err);
  // The next `count` fsyncs (file or directory) fail with EIO.
  void FailSyncs(int count);
  // After `ops` more mutating operations, the next one throws PowerCut (a
  // write may have landed in part first).
  void CutPowerAfter(uint64_t ops);
  // The same, counted from the next creation of a file whose path contains
  // path_part (a new WAL segment, a snapshot): aims the cut at the windows
  // where files are born.
  void CutPowerAfterNextCreate(uint64_t ops, std::string path_part = "");
  // Called at every file fsync (not directories) before it completes: the
  // simulator lets time pass there for a slow disk. Kept by ClearFaults.
  void SetSyncHook(std::function<void()> hook) { sync_hook_ = std::move(hook); }
  // Disarms every pending fault.
  void ClearFaults();
  bool faults_armed() const {
    return writes_limited_ || failing_syncs_ > 0 || power_armed_ || power_on_create_;
  }

  // Power loss: forgets what was not durable (see the file comment), using
  // prng to choose where each unsynced tail tears. Open Files die with it.
  void Crash(Prng& prng);

  uint64_t unsynced_bytes() const;
  uint64_t ops() const { return ops_; }

  // --- store::FileSystem ---
  Status Create(const std::string& path, std::unique_ptr<store::File>* file) override;
  Status OpenAppend(const std::string& path, std::unique_ptr<store::File>* file) override;
  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override;
  Status List(const std::string& dir, std::vector<std::string>* names) override;
  Status Remove(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status Space(const std::string& path, store::DiskSpace* space) override;

 private:
  struct Inode {
    std::string data;
    uint64_t synced = 0;  // data[0, synced) is durable
  };
  class SimFile;
  friend class SimFile;

  // Counts one mutating operation; throws PowerCut when the armed cut fires.
  void MaybeCutPower();
  Status FileAppend(Inode* inode, uint64_t generation, const std::string& path,
                    std::string_view data);
  Status FileSync(Inode* inode, uint64_t generation, const std::string& path);

  std::map<std::string, std::shared_ptr<Inode>> names_;    // as the running member sees them
  std::map<std::string, std::shared_ptr<Inode>> durable_;  // as they are after a crash
  std::set<std::string> dirs_;
  uint64_t generation_ = 0;  // bumped by Crash: older Files fail
  uint64_t ops_ = 0;
  bool writes_limited_ = false;
  uint64_t write_budget_ = 0;
  int write_error_ = 0;
  int failing_syncs_ = 0;
  bool power_armed_ = false;
  uint64_t power_ops_ = 0;
  bool power_on_create_ = false;
  uint64_t power_create_ops_ = 0;
  std::string power_create_part_;
  std::function<void()> sync_hook_;
};

}  // namespace nines::sim
