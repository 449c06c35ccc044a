// A FileSystem for tests that behaves like a small disk: the real files under
// one root, with a capacity. A write that would take the bytes of every file
// under the root past the capacity writes what fits and fails with ENOSPC,
// as a full tmpfs does. Anything else written under the root (a filler file
// the test makes) takes room too.
#pragma once

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/file.h"

namespace nines::store::testing {

class SmallDisk : public FileSystem {
 public:
  SmallDisk(std::string root, uint64_t capacity, FileSystem* base = PosixFileSystem())
      : root_(std::move(root)), capacity_(capacity), base_(base) {}

  void set_capacity(uint64_t capacity) { capacity_ = capacity; }
  uint64_t capacity() const { return capacity_; }

  // Bytes of every regular file under the root.
  uint64_t used_bytes() const {
    uint64_t used = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code size_ec;
      if (it->is_regular_file(size_ec)) {
        uint64_t size = it->file_size(size_ec);
        if (!size_ec) used += size;
      }
    }
    return used;
  }
  uint64_t free_bytes() const { return capacity_ - std::min(capacity_, used_bytes()); }

  Status Create(const std::string& path, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    Status status = base_->Create(path, &inner);
    if (status.ok()) *file = std::make_unique<SmallDiskFile>(this, path, std::move(inner));
    return status;
  }
  Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    Status status = base_->OpenAppend(path, &inner);
    if (status.ok()) *file = std::make_unique<SmallDiskFile>(this, path, std::move(inner));
    return status;
  }
  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override {
    return base_->ReadAll(path, max_bytes, contents);
  }
  Status List(const std::string& dir, std::vector<std::string>* names) override {
    return base_->List(dir, names);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status Space(const std::string& path, DiskSpace* space) override {
    space->total_bytes = capacity_;
    space->free_bytes = free_bytes();
    return Status::Ok();
  }

 private:
  class SmallDiskFile : public File {
   public:
    SmallDiskFile(SmallDisk* disk, std::string path, std::unique_ptr<File> inner)
        : disk_(disk), path_(std::move(path)), inner_(std::move(inner)) {}
    Status Append(std::string_view data) override {
      const uint64_t room = disk_->free_bytes();
      const bool full = data.size() > room;
      Status status = inner_->Append(full ? data.substr(0, room) : data);
      if (!status.ok()) return status;
      if (full) return Status::NoSpace("write " + path_ + ": No space left on device");
      return status;
    }
    Status Sync() override { return inner_->Sync(); }
    Status Close() override { return inner_->Close(); }
    uint64_t Size() const override { return inner_->Size(); }

   private:
    SmallDisk* disk_;
    std::string path_;
    std::unique_ptr<File> inner_;
  };

  std::string root_;
  uint64_t capacity_;
  FileSystem* base_;
};

}  // namespace nines::store::testing
