// Segmented WAL: recovery with torn-tail truncation, rolling, sticky errors
// and compaction. See wal.h for the rules and docs/store.md for the format.
#include "store/wal.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/check.h"
#include "base/log.h"
#include "store/wal_format.h"
#include "store/wal_reader.h"

namespace nines::store {
namespace {

// The largest segment a store.toml may have asked for (wal_segment_bytes):
// segments written before the setting was lowered stay readable.
constexpr uint64_t kLargestSegmentSetting = 1ull << 30;

uint64_t MaxSegmentFileBytes(const WalOptions& options) {
  return std::max(options.segment_bytes, kLargestSegmentSetting) + options.max_record_bytes +
         wal::kRecordHeaderSize + (16ull << 20);
}

}  // namespace

Wal::Wal(FileSystem* fs, std::string dir, WalOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(std::move(options)) {}

Wal::~Wal() {
  if (writer_ != nullptr) (void)writer_->Close();
}

Status Wal::Open(FileSystem* fs, const std::string& dir, WalOptions options,
                 const RecordCallback& on_record, std::unique_ptr<Wal>* wal,
                 WalRecoveryReport* report) {
  NINES_CHECK(options.segment_bytes > wal::kSegmentHeaderSize,
              "a WAL segment holds more than its header");
  *report = WalRecoveryReport{};
  std::unique_ptr<Wal> log(new Wal(fs, dir, std::move(options)));
  Status status = fs->CreateDirs(dir);
  if (!status.ok()) return status;
  status = log->Recover(on_record, report);
  if (!status.ok()) return status;
  *wal = std::move(log);
  return Status::Ok();
}

Status Wal::Recover(const RecordCallback& on_record, WalRecoveryReport* report) {
  std::vector<std::string> names;
  Status status = fs_->List(dir_, &names);
  if (!status.ok()) return status;
  std::vector<uint64_t> numbers;
  for (const std::string& name : names) {
    if (auto number = wal::ParseSegmentFileName(name)) numbers.push_back(*number);
  }
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 1; i < numbers.size(); ++i) {
    if (numbers[i] != numbers[i - 1] + 1) {
      return Status::Corruption(fmt::format("{}: missing WAL segment {} (found {} then {})", dir_,
                                            wal::SegmentFileName(numbers[i - 1] + 1),
                                            wal::SegmentFileName(numbers[i - 1]),
                                            wal::SegmentFileName(numbers[i])));
    }
  }

  // Write keeps a segment within segment_bytes, except that one batch of up to
  // segment_bytes or one record goes into a fresh segment after the preamble.
  const uint64_t max_segment_file = MaxSegmentFileBytes(options_);
  std::string contents;
  bool drop_last_segment = false;
  for (size_t i = 0; i < numbers.size(); ++i) {
    const bool last = i + 1 == numbers.size();
    const std::string name = wal::SegmentFileName(numbers[i]);
    const std::string path = JoinPath(dir_, name);
    status = fs_->ReadAll(path, max_segment_file, &contents);
    if (!status.ok()) return status;

    const bool all_zero = contents.find_first_not_of('\0') == std::string::npos;
    if (last && (contents.size() < wal::kSegmentHeaderSize || all_zero)) {
      // Crashed while creating the segment (StartSegment syncs the header
      // before anything else goes in): nothing in it was ever synced. A file
      // grown before its bytes landed reads as zeros, header included.
      report->dropped_bytes = contents.size();
      report->torn_file = path;
      report->torn_offset = 0;
      report->torn_reason =
          all_zero ? "zero-filled segment (never synced)" : "incomplete segment header";
      drop_last_segment = true;
      break;
    }
    uint64_t header_number = 0;
    if (Status bad = wal::DecodeSegmentHeader(contents, &header_number); !bad.ok()) {
      return Status::Corruption(fmt::format("{} at offset 0: {}", path, bad.message()));
    }
    if (header_number != numbers[i]) {
      return Status::Corruption(
          fmt::format("{} at offset 0: header says segment {}", path, header_number));
    }

    WalSegmentInfo info;
    info.number = numbers[i];
    WalReader reader(contents, options_.max_record_bytes);
    WalRecord record;
    WalReader::Result result;
    uint64_t segment_records = 0;
    while ((result = reader.Next(&record)) == WalReader::Result::kRecord) {
      ++segment_records;
      info.max_index = std::max(info.max_index, record.index);
      ++report->records;
      report->record_file = path;
      report->record_offset = record.offset;
      status = on_record(record.index, record.payload);
      if (!status.ok()) return status;
    }
    if (result == WalReader::Result::kBad) {
      if (!last || reader.HasValidRecordAfter(reader.bad_offset())) {
        return Status::Corruption(
            fmt::format("{} at offset {}: {}", path, reader.bad_offset(), reader.bad_reason()));
      }
      report->dropped_bytes = contents.size() - reader.bad_offset();
      report->torn_file = path;
      report->torn_offset = reader.bad_offset();
      report->torn_reason = reader.bad_reason();
      status = fs_->Truncate(path, reader.bad_offset());
      if (!status.ok()) return status;
    }
    if (last && segment_records == 0 && numbers.size() > 1) {
      // Only a header (what is left of a crash before its preamble was
      // durable): start it again, preamble included, so the segments before
      // it are never the only ones that hold the preamble's records.
      if (report->torn_file.empty()) {
        report->torn_file = path;
        report->torn_offset = wal::kSegmentHeaderSize;
        report->torn_reason = "no record after the segment header";
      }
      drop_last_segment = true;
      break;
    }
    info.bytes = reader.valid_end();
    segments_.push_back(info);
  }
  report->segments = segments_.size();
  if (report->dropped_bytes > 0 || drop_last_segment) {
    LogWarn("store", "WAL torn tail: dropped {} bytes at {} offset {} ({})", report->dropped_bytes,
            report->torn_file, report->torn_offset, report->torn_reason);
  }

  if (drop_last_segment) {
    // Rewrite the half-created segment from scratch under the same number.
    return StartSegment(numbers.back());
  }
  if (segments_.empty()) return StartSegment(1);
  std::unique_ptr<File> file;
  status = fs_->OpenAppend(JoinPath(dir_, wal::SegmentFileName(segments_.back().number)), &file);
  if (!status.ok()) return status;
  NINES_CHECK(file->Size() == segments_.back().bytes,
              "the reopened WAL segment ends after its last valid record");
  // What recovery read may be only in the page cache (a process crash between
  // a write and its fsync): the member is about to act on it (its vote, the
  // entries it acknowledges again), so it is made durable first, name included.
  status = file->Sync();
  if (status.ok()) status = fs_->SyncDir(dir_);
  if (!status.ok()) return status;
  writer_ = std::make_unique<WalWriter>(std::move(file));
  return Status::Ok();
}

Status Wal::StartSegment(uint64_t number) {
  const std::string path = JoinPath(dir_, wal::SegmentFileName(number));
  std::unique_ptr<File> file;
  Status status = fs_->Create(path, &file);
  if (!status.ok()) return status;
  std::string header;
  wal::EncodeSegmentHeader(number, &header);
  status = file->Append(header);
  if (status.ok()) status = file->Sync();
  if (status.ok()) status = fs_->SyncDir(dir_);
  if (!status.ok()) return status;
  writer_ = std::make_unique<WalWriter>(std::move(file));
  segments_.push_back(WalSegmentInfo{number, 0, wal::kSegmentHeaderSize});
  if (options_.segment_preamble) {
    WalBatch preamble;
    options_.segment_preamble(&preamble);
    if (!preamble.empty()) {
      status = WriteEncoded(preamble);
      // Durable before anything is written after it: a crash must never
      // leave this segment without it once it holds other records.
      if (status.ok()) status = writer_->Sync();
      return status;
    }
  }
  return Status::Ok();
}

Status Wal::RollIfNeeded(uint64_t incoming_bytes) {
  const WalSegmentInfo& active = segments_.back();
  if (active.bytes <= wal::kSegmentHeaderSize) return Status::Ok();  // empty: never roll
  if (active.bytes + incoming_bytes <= options_.segment_bytes) return Status::Ok();
  // The old segment must be durable before a newer one exists: recovery
  // treats only the last segment's tail as possibly torn.
  Status status = writer_->Sync();
  if (status.ok()) status = writer_->Close();
  if (!status.ok()) return status;
  writer_.reset();
  return StartSegment(active.number + 1);
}

Status Wal::WriteEncoded(const WalBatch& batch) {
  return WriteEncoded(batch.encoded(), batch.max_index());
}

Status Wal::WriteEncoded(std::string_view records, uint64_t max_index) {
  Status status = writer_->AddEncoded(records);
  if (!status.ok()) return status;
  WalSegmentInfo& active = segments_.back();
  active.bytes += records.size();
  active.max_index = std::max(active.max_index, max_index);
  NINES_CHECK(active.bytes == writer_->size(), "the WAL's segment size matches the bytes written");
  return Status::Ok();
}

Status Wal::Fail(Status status) {
  NINES_CHECK(!status.ok(), "Fail is given an error");
  if (failure_.ok()) {
    LogError("store", "WAL in {} failed, refusing further writes: {}", dir_, status.ToString());
    failure_ = status;
  }
  return status;
}

Status Wal::Write(const WalBatch& batch) {
  if (!failure_.ok()) return failure_;
  if (batch.empty()) return Status::Ok();
  if (batch.max_payload() > options_.max_record_bytes) {
    return Status::InvalidArgument(fmt::format("WAL record of {} bytes exceeds the limit of {}",
                                               batch.max_payload(), options_.max_record_bytes));
  }
  if (writer_ == nullptr) return Status::IoError("WAL is closed");
  if (batch.count() > 1 && batch.ByteSize() > options_.segment_bytes) {
    Status status = WriteSplit(batch);
    if (!status.ok()) return Fail(status);
    return Status::Ok();
  }
  Status status = RollIfNeeded(batch.ByteSize());
  if (!status.ok()) return Fail(status);
  status = WriteEncoded(batch);
  if (!status.ok()) return Fail(status);
  return Status::Ok();
}

Status Wal::WriteSplit(const WalBatch& batch) {
  // Greedy: as many whole records as fit in the active segment, then roll;
  // a record larger than a whole segment goes alone into a fresh one.
  size_t next = 0;
  bool fresh = false;
  while (next < batch.count()) {
    const size_t begin = next == 0 ? 0 : batch.RecordEnd(next - 1);
    const WalSegmentInfo& active = segments_.back();
    const uint64_t room = options_.segment_bytes - std::min(options_.segment_bytes, active.bytes);
    size_t end = next;
    uint64_t max_index = 0;
    while (end < batch.count() && batch.RecordEnd(end) - begin <= room) {
      max_index = std::max(max_index, batch.RecordIndex(end));
      ++end;
    }
    if (end == next) {
      if (!fresh && active.bytes > wal::kSegmentHeaderSize) {
        Status status = writer_->Sync();
        if (status.ok()) status = writer_->Close();
        if (!status.ok()) return status;
        writer_.reset();
        status = StartSegment(active.number + 1);
        if (!status.ok()) return status;
        fresh = true;
        continue;
      }
      max_index = batch.RecordIndex(end);
      ++end;
    }
    const size_t stop = batch.RecordEnd(end - 1);
    Status status = WriteEncoded(batch.encoded().substr(begin, stop - begin), max_index);
    if (!status.ok()) return status;
    next = end;
    fresh = false;
  }
  return Status::Ok();
}

Status Wal::Append(uint64_t index, std::string_view payload) {
  single_.Clear();
  single_.Add(index, payload);
  return Write(single_);
}

Status Wal::Sync() {
  if (!failure_.ok()) return failure_;
  if (writer_ == nullptr) return Status::IoError("WAL is closed");
  Status status = writer_->Sync();
  if (!status.ok()) return Fail(status);
  return Status::Ok();
}

Status Wal::Compact(uint64_t covered_index, size_t* removed_segments) {
  size_t removed = 0;
  Status status;
  while (segments_.size() > 1 && segments_.front().max_index <= covered_index) {
    // One removal made durable at a time, oldest first: a crash can then
    // only leave a shorter prefix removed, never a gap in the numbers.
    status = fs_->Remove(JoinPath(dir_, wal::SegmentFileName(segments_.front().number)));
    if (status.ok()) status = fs_->SyncDir(dir_);
    if (!status.ok()) break;
    segments_.erase(segments_.begin());
    ++removed;
  }
  if (removed_segments != nullptr) *removed_segments = removed;
  return status;
}

Status Wal::Close() {
  if (writer_ == nullptr) return Status::Ok();
  Status status = writer_->Close();
  writer_.reset();
  return status;
}

}  // namespace nines::store
