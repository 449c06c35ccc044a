// WalBatch encoding and the one-segment writer.
#include "store/wal_writer.h"

#include <algorithm>

#include "base/check.h"
#include "store/wal_format.h"

namespace nines::store {

void WalBatch::Add(uint64_t index, std::string_view payload) {
  wal::EncodeRecord(index, payload, &encoded_);
  ends_.push_back(encoded_.size());
  indexes_.push_back(index);
  ++count_;
  max_index_ = std::max(max_index_, index);
  max_payload_ = std::max(max_payload_, payload.size());
}

void WalBatch::Clear() {
  encoded_.clear();
  ends_.clear();
  indexes_.clear();
  count_ = 0;
  max_index_ = 0;
  max_payload_ = 0;
}

WalWriter::WalWriter(std::unique_ptr<File> file) : file_(std::move(file)) {
  NINES_CHECK(file_ != nullptr, "a WAL writer needs an open segment file");
}

Status WalWriter::AddRecord(uint64_t index, std::string_view payload) {
  scratch_.clear();
  wal::EncodeRecord(index, payload, &scratch_);
  return file_->Append(scratch_);
}

Status WalWriter::AddBatch(const WalBatch& batch) {
  return file_->Append(batch.encoded());
}

Status WalWriter::AddEncoded(std::string_view records) {
  return file_->Append(records);
}

}  // namespace nines::store
