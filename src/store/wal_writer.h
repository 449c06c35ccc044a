// Appends records to one WAL segment file. Group commit: encode many records
// into a WalBatch, write it with one Append (one write(2)), then Sync once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/file.h"

namespace nines::store {

// Records encoded back to back, ready to be written with a single write.
class WalBatch {
 public:
  void Add(uint64_t index, std::string_view payload);
  void Clear();
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  size_t ByteSize() const { return encoded_.size(); }
  uint64_t max_index() const { return max_index_; }
  std::string_view encoded() const { return encoded_; }
  // The largest payload added, to check it against the record limit.
  size_t max_payload() const { return max_payload_; }
  // Where record i ends in encoded(), and its index tag (to split a batch
  // between records).
  size_t RecordEnd(size_t i) const { return ends_[i]; }
  uint64_t RecordIndex(size_t i) const { return indexes_[i]; }

 private:
  std::string encoded_;
  std::vector<size_t> ends_;
  std::vector<uint64_t> indexes_;
  size_t count_ = 0;
  uint64_t max_index_ = 0;
  size_t max_payload_ = 0;
};

class WalWriter {
 public:
  // file is positioned after the segment's existing contents (header included).
  explicit WalWriter(std::unique_ptr<File> file);

  Status AddRecord(uint64_t index, std::string_view payload);
  Status AddBatch(const WalBatch& batch);
  // Appends already encoded records (a run of a WalBatch).
  Status AddEncoded(std::string_view records);
  Status Sync() { return file_->Sync(); }
  Status Close() { return file_->Close(); }
  uint64_t size() const { return file_->Size(); }

 private:
  std::unique_ptr<File> file_;
  std::string scratch_;
};

}  // namespace nines::store
