// The simulated file system of nines_sim_store; see sim_fs.h.
#include "sim_fs.h"

#include <cerrno>
#include <cstring>

namespace nines::sim {
namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string Trim(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

}  // namespace

class SimFs::SimFile : public store::File {
 public:
  SimFile(SimFs* fs, std::shared_ptr<Inode> inode, std::string path)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)), generation_(fs->generation_) {}
  Status Append(std::string_view data) override {
    return fs_->FileAppend(inode_.get(), generation_, path_, data);
  }
  Status Sync() override { return fs_->FileSync(inode_.get(), generation_, path_); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return inode_->data.size(); }

 private:
  SimFs* fs_;
  std::shared_ptr<Inode> inode_;
  std::string path_;
  uint64_t generation_;
};

void SimFs::FailWritesAfter(uint64_t bytes, int err) {
  writes_limited_ = true;
  write_budget_ = bytes;
  write_error_ = err;
}

void SimFs::FailSyncs(int count) {
  failing_syncs_ = count;
}

void SimFs::CutPowerAfter(uint64_t ops) {
  power_armed_ = true;
  power_ops_ = ops;
}

void SimFs::CutPowerAfterNextCreate(uint64_t ops, std::string path_part) {
  power_on_create_ = true;
  power_create_ops_ = ops;
  power_create_part_ = std::move(path_part);
}

void SimFs::ClearFaults() {
  writes_limited_ = false;
  failing_syncs_ = 0;
  power_armed_ = false;
  power_on_create_ = false;
}

void SimFs::MaybeCutPower() {
  ++ops_;
  if (!power_armed_) return;
  if (power_ops_ > 0) {
    --power_ops_;
    return;
  }
  power_armed_ = false;
  throw PowerCut{};
}

uint64_t SimFs::unsynced_bytes() const {
  uint64_t total = 0;
  for (const auto& [path, inode] : names_) total += inode->data.size() - inode->synced;
  return total;
}

void SimFs::Crash(Prng& prng) {
  ++generation_;
  ClearFaults();
  names_ = durable_;
  std::set<Inode*> seen;
  for (auto& [path, inode] : names_) {
    if (!seen.insert(inode.get()).second) continue;
    Inode& f = *inode;
    if (f.data.size() <= f.synced) continue;
    // The unsynced tail survives up to any byte; what survives may be the
    // data, zeros (size reached the disk, data did not) or garbage.
    uint64_t keep = f.synced + prng.Below(f.data.size() - f.synced + 1);
    f.data.resize(keep);
    uint64_t mode = prng.Below(4);
    uint64_t from = f.synced + prng.Below(keep - f.synced + 1);
    for (uint64_t i = from; i < keep && mode >= 2; ++i) {
      f.data[i] = mode == 2 ? '\0' : static_cast<char>(prng.Next());
    }
    f.synced = keep;
  }
}

Status SimFs::FileAppend(Inode* inode, uint64_t generation, const std::string& path,
                         std::string_view data) {
  if (generation != generation_) return Status::IoError("write " + path + ": stale file");
  MaybeCutPower();
  bool fail = false;
  if (writes_limited_ && data.size() > write_budget_) {
    data = data.substr(0, write_budget_);
    fail = true;
  }
  if (writes_limited_) write_budget_ -= data.size();
  inode->data.append(data);
  if (fail) {
    std::string message = "write " + path + ": " + std::strerror(write_error_);
    return write_error_ == ENOSPC ? Status::NoSpace(message) : Status::IoError(message);
  }
  return Status::Ok();
}

Status SimFs::FileSync(Inode* inode, uint64_t generation, const std::string& path) {
  if (generation != generation_) return Status::IoError("fsync " + path + ": stale file");
  MaybeCutPower();
  if (failing_syncs_ > 0) {
    --failing_syncs_;
    return Status::IoError("fdatasync " + path + ": " + std::strerror(EIO));
  }
  if (sync_hook_) sync_hook_();
  inode->synced = inode->data.size();
  return Status::Ok();
}

Status SimFs::Create(const std::string& path, std::unique_ptr<store::File>* file) {
  MaybeCutPower();
  if (power_on_create_ && path.find(power_create_part_) != std::string::npos) {
    power_on_create_ = false;
    CutPowerAfter(power_create_ops_);
  }
  if (dirs_.count(Parent(path)) == 0) return Status::NotFound("create " + path);
  auto inode = std::make_shared<Inode>();
  names_[path] = inode;
  *file = std::make_unique<SimFile>(this, inode, path);
  return Status::Ok();
}

Status SimFs::OpenAppend(const std::string& path, std::unique_ptr<store::File>* file) {
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("open " + path);
  *file = std::make_unique<SimFile>(this, it->second, path);
  return Status::Ok();
}

Status SimFs::ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) {
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("read " + path);
  if (it->second->data.size() > max_bytes) return Status::IoError("read " + path + ": too large");
  *contents = it->second->data;
  return Status::Ok();
}

Status SimFs::List(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  std::string d = Trim(dir);
  if (dirs_.count(d) == 0) return Status::NotFound("list " + dir);
  for (const auto& [path, inode] : names_) {
    if (Parent(path) == d) names->push_back(path.substr(d.size() + 1));
  }
  for (const std::string& sub : dirs_) {
    if (sub != d && Parent(sub) == d) names->push_back(sub.substr(d.size() + 1));
  }
  return Status::Ok();
}

Status SimFs::Remove(const std::string& path) {
  MaybeCutPower();
  if (names_.erase(path) == 0) return Status::NotFound("remove " + path);
  return Status::Ok();
}

Status SimFs::Rename(const std::string& from, const std::string& to) {
  MaybeCutPower();
  auto it = names_.find(from);
  if (it == names_.end()) return Status::NotFound("rename " + from);
  std::shared_ptr<Inode> inode = it->second;
  names_.erase(it);
  names_[to] = std::move(inode);
  return Status::Ok();
}

Status SimFs::Truncate(const std::string& path, uint64_t size) {
  MaybeCutPower();
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("truncate " + path);
  Inode& f = *it->second;
  f.data.resize(size);
  f.synced = size;
  return Status::Ok();
}

Status SimFs::SyncDir(const std::string& dir) {
  MaybeCutPower();
  if (failing_syncs_ > 0) {
    --failing_syncs_;
    return Status::IoError("fsync " + dir + ": " + std::strerror(EIO));
  }
  std::string d = Trim(dir);
  for (auto it = durable_.begin(); it != durable_.end();) {
    it = Parent(it->first) == d ? durable_.erase(it) : std::next(it);
  }
  for (const auto& [path, inode] : names_) {
    if (Parent(path) == d) durable_[path] = inode;
  }
  return Status::Ok();
}

Status SimFs::CreateDirs(const std::string& dir) {
  // Directories are made durable as they are created (as the real one does).
  std::string d = Trim(dir);
  while (!d.empty() && d != "." && d != "/" && dirs_.insert(d).second) {
    size_t slash = d.rfind('/');
    if (slash == std::string::npos) break;
    d = d.substr(0, slash);
  }
  return Status::Ok();
}

Status SimFs::Space(const std::string& path, store::DiskSpace* space) {
  // A large disk: the simulated disk fills only through its armed faults
  // (ENOSPC on a write), never through the member's own disk-space guard.
  (void)path;
  space->total_bytes = 1ull << 40;
  space->free_bytes = 1ull << 40;
  return Status::Ok();
}

}  // namespace nines::sim
