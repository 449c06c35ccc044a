// A FileSystem for tests that wraps the real one and injects faults, in the
// spirit of LevelDB's fault_injection_test: writes that fail with ENOSPC or
// EIO (possibly after a partial write), failing fsyncs, and a "crash" that
// throws away every byte not made durable by Sync (and files whose creation
// was not made durable by SyncDir).
#pragma once

#include <errno.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "store/file.h"

namespace nines::store::testing {

class FaultyFileSystem : public FileSystem {
 public:
  explicit FaultyFileSystem(FileSystem* base = PosixFileSystem()) : base_(base) {}

  // After `bytes` more bytes are appended (over all files), the write that
  // crosses the budget writes only what fits and fails with `err`; so do all
  // later writes until ClearFaults.
  void FailWritesAfter(uint64_t bytes, int err = ENOSPC) {
    write_budget_ = bytes;
    write_error_ = err;
    writes_limited_ = true;
  }
  // The next `count` file syncs fail with err (data stays unsynced).
  void FailSyncs(int count, int err = EIO) {
    failing_syncs_ = count;
    sync_error_ = err;
  }
  void ClearFaults() {
    writes_limited_ = false;
    failing_syncs_ = 0;
  }

  // Forgets everything that was not durable. keep_unsynced_bytes of each
  // file's unsynced tail survive (a torn write); if garble is set they are
  // overwritten with junk, as after a partially written sector.
  void SimulateCrash(uint64_t keep_unsynced_bytes = 0, bool garble = false) {
    for (auto& [path, state] : files_) {
      if (state.size <= state.synced) continue;
      uint64_t keep = std::min(state.size, state.synced + keep_unsynced_bytes);
      (void)base_->Truncate(path, keep);
      if (garble && keep > state.synced) {
        std::string bytes;
        (void)base_->ReadAll(path, ~0ull, &bytes);
        for (uint64_t i = state.synced; i < keep; ++i) bytes[i] = static_cast<char>(0xa5 ^ i);
        std::unique_ptr<File> file;
        (void)base_->Create(path, &file);
        (void)file->Append(bytes);
        (void)file->Sync();
      }
      state.size = state.synced = keep;
    }
    for (const std::string& path : created_not_dir_synced_) {
      (void)base_->Remove(path);
      files_.erase(path);
    }
    created_not_dir_synced_.clear();
  }

  uint64_t unsynced_bytes() const {
    uint64_t total = 0;
    for (const auto& [path, state] : files_) total += state.size - state.synced;
    return total;
  }
  int syncs() const { return syncs_; }
  // Every directory SyncDir was called for.
  const std::set<std::string>& synced_dirs() const { return synced_dirs_; }

  Status Create(const std::string& path, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    Status status = base_->Create(path, &inner);
    if (!status.ok()) return status;
    files_[path] = FileState{};
    created_not_dir_synced_.insert(path);
    *file = std::make_unique<FaultyFile>(this, path, std::move(inner));
    return status;
  }
  Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    Status status = base_->OpenAppend(path, &inner);
    if (!status.ok()) return status;
    // Opening a file does not make it durable: bytes this file system saw
    // written and not synced stay unsynced (a process crash keeps them in the
    // page cache; only a sync or a power loss settles them).
    auto known = files_.find(path);
    if (known == files_.end()) {
      files_[path] = FileState{inner->Size(), inner->Size()};
    } else {
      known->second.size = inner->Size();
      known->second.synced = std::min(known->second.synced, inner->Size());
    }
    *file = std::make_unique<FaultyFile>(this, path, std::move(inner));
    return status;
  }
  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override {
    return base_->ReadAll(path, max_bytes, contents);
  }
  Status List(const std::string& dir, std::vector<std::string>* names) override {
    return base_->List(dir, names);
  }
  Status Remove(const std::string& path) override {
    files_.erase(path);
    created_not_dir_synced_.erase(path);
    return base_->Remove(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    Status status = base_->Rename(from, to);
    if (status.ok()) {
      auto it = files_.find(from);
      if (it != files_.end()) {
        files_[to] = it->second;
        files_.erase(it);
      }
      if (created_not_dir_synced_.erase(from) > 0) created_not_dir_synced_.insert(to);
    }
    return status;
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    Status status = base_->Truncate(path, size);
    if (status.ok() && files_.count(path) > 0) files_[path] = FileState{size, size};
    return status;
  }
  Status SyncDir(const std::string& dir) override {
    synced_dirs_.insert(dir);
    for (auto it = created_not_dir_synced_.begin(); it != created_not_dir_synced_.end();) {
      if (it->rfind(dir, 0) == 0) {
        it = created_not_dir_synced_.erase(it);
      } else {
        ++it;
      }
    }
    return base_->SyncDir(dir);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status Space(const std::string& path, DiskSpace* space) override {
    return base_->Space(path, space);
  }

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  class FaultyFile : public File {
   public:
    FaultyFile(FaultyFileSystem* fs, std::string path, std::unique_ptr<File> inner)
        : fs_(fs), path_(std::move(path)), inner_(std::move(inner)) {}
    Status Append(std::string_view data) override {
      bool fail = false;
      if (fs_->writes_limited_ && data.size() > fs_->write_budget_) {
        data = data.substr(0, fs_->write_budget_);
        fail = true;
      }
      if (fs_->writes_limited_) fs_->write_budget_ -= data.size();
      Status status = inner_->Append(data);
      fs_->files_[path_].size = inner_->Size();
      if (!status.ok()) return status;
      if (fail) {
        std::string message = "write " + path_ + ": " + std::strerror(fs_->write_error_);
        return fs_->write_error_ == ENOSPC ? Status::NoSpace(message) : Status::IoError(message);
      }
      return status;
    }
    Status Sync() override {
      ++fs_->syncs_;
      if (fs_->failing_syncs_ > 0) {
        --fs_->failing_syncs_;
        return Status::IoError("fdatasync " + path_ + ": " + std::strerror(fs_->sync_error_));
      }
      Status status = inner_->Sync();
      if (status.ok()) fs_->files_[path_].synced = inner_->Size();
      return status;
    }
    Status Close() override { return inner_->Close(); }
    uint64_t Size() const override { return inner_->Size(); }

   private:
    FaultyFileSystem* fs_;
    std::string path_;
    std::unique_ptr<File> inner_;
  };

  FileSystem* base_;
  std::map<std::string, FileState> files_;
  std::set<std::string> created_not_dir_synced_;
  std::set<std::string> synced_dirs_;
  bool writes_limited_ = false;
  uint64_t write_budget_ = 0;
  int write_error_ = ENOSPC;
  int failing_syncs_ = 0;
  int sync_error_ = EIO;
  int syncs_ = 0;
};

}  // namespace nines::store::testing
