// Atomic snapshot write, verified load, listing and retention.
#include "store/snapshot_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "base/check.h"
#include "base/coding.h"
#include "store/crc32c.h"

namespace nines::store {
namespace {

constexpr char kMagic[8] = {'N', 'I', 'N', 'E', 'S', 'N', 'A', 'P'};
constexpr uint32_t kVersion = 1;
constexpr std::string_view kTmpSuffix = ".tmp";

std::optional<SnapshotMeta> ParseSnapshotFileName(std::string_view name) {
  // snap-XXXXXXXXXXXXXXXX-XXXXXXXXXXXXXXXX.snap
  if (name.size() != 5 + 16 + 1 + 16 + 5) return std::nullopt;
  if (name.substr(0, 5) != "snap-" || name[21] != '-' || name.substr(38) != ".snap") {
    return std::nullopt;
  }
  auto index = ParseFixedHex(name.substr(5, 16), 16);
  auto term = ParseFixedHex(name.substr(22, 16), 16);
  if (!index || !term) return std::nullopt;
  return SnapshotMeta{*index, *term};
}

}  // namespace

std::string SnapshotFileName(const SnapshotMeta& meta) {
  return fmt::format("snap-{:016x}-{:016x}.snap", meta.index, meta.term);
}

Status WriteSnapshot(FileSystem* fs, const std::string& dir, const SnapshotMeta& meta,
                     std::string_view content) {
  Status status = fs->CreateDirs(dir);
  if (!status.ok()) return status;
  std::string header;
  header.append(kMagic, sizeof(kMagic));
  PutFixed32(&header, kVersion);
  PutFixed64(&header, meta.index);
  PutFixed64(&header, meta.term);
  PutFixed64(&header, content.size());
  PutFixed32(&header, crc32c::Mask(crc32c::Value(content)));
  PutFixed32(&header, crc32c::Mask(crc32c::Value(header)));
  NINES_CHECK(header.size() == kSnapshotHeaderSize, "the snapshot header has its fixed size");

  const std::string final_path = JoinPath(dir, SnapshotFileName(meta));
  const std::string tmp_path = final_path + std::string(kTmpSuffix);
  std::unique_ptr<File> file;
  status = fs->Create(tmp_path, &file);
  if (!status.ok()) return status;
  status = file->Append(header);
  if (status.ok()) status = file->Append(content);
  if (status.ok()) status = file->Sync();
  Status close_status = file->Close();
  if (status.ok()) status = close_status;
  if (status.ok()) status = fs->Rename(tmp_path, final_path);
  if (status.ok()) status = fs->SyncDir(dir);
  if (!status.ok()) {
    (void)fs->Remove(tmp_path);  // best effort; a leftover is cleaned by RemoveOldSnapshots
    return status;
  }
  return Status::Ok();
}

Status LoadSnapshot(FileSystem* fs, const std::string& path, uint64_t max_bytes, SnapshotMeta* meta,
                    std::string* content) {
  std::string bytes;
  Status status = fs->ReadAll(path, max_bytes + kSnapshotHeaderSize, &bytes);
  if (!status.ok()) return status;
  auto bad = [&path](std::string_view why) {
    return Status::Corruption(fmt::format("snapshot {}: {}", path, why));
  };
  if (bytes.size() < kSnapshotHeaderSize) return bad("file shorter than the header");
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return bad("bad magic");
  const char* h = bytes.data();
  if (crc32c::Unmask(DecodeFixed32(h + 40)) != crc32c::Value(h, 40)) {
    return bad("header checksum mismatch");
  }
  if (DecodeFixed32(h + 8) != kVersion) {
    return bad(fmt::format("unsupported version {}", DecodeFixed32(h + 8)));
  }
  SnapshotMeta header_meta{DecodeFixed64(h + 12), DecodeFixed64(h + 20)};
  const uint64_t length = DecodeFixed64(h + 28);
  if (length != bytes.size() - kSnapshotHeaderSize) {
    return bad(fmt::format("content is {} bytes, header says {}",
                           bytes.size() - kSnapshotHeaderSize, length));
  }
  std::string_view body(bytes.data() + kSnapshotHeaderSize, length);
  if (crc32c::Unmask(DecodeFixed32(h + 36)) != crc32c::Value(body)) {
    return bad("content checksum mismatch");
  }
  const std::string name = path.substr(path.rfind('/') + 1);
  auto name_meta = ParseSnapshotFileName(name);
  if (name_meta && (name_meta->index != header_meta.index || name_meta->term != header_meta.term)) {
    return bad(fmt::format("file name does not match header (index {}, term {})", header_meta.index,
                           header_meta.term));
  }
  *meta = header_meta;
  content->assign(body);
  return Status::Ok();
}

Status SnapshotStreamSource::ReadContent(uint64_t offset, size_t n, std::string* out) const {
  if (offset > content_bytes || n > content_bytes - offset) {
    return Status::InvalidArgument("read past the snapshot's content");
  }
  return file->ReadAt(kSnapshotHeaderSize + offset, n, out);
}

Status OpenSnapshotStream(FileSystem* fs, const std::string& path, SnapshotStreamSource* source) {
  std::unique_ptr<ReadableFile> file;
  Status status = fs->OpenRead(path, &file);
  if (!status.ok()) return status;
  auto bad = [&path](std::string_view why) {
    return Status::Corruption(fmt::format("snapshot {}: {}", path, why));
  };
  if (file->Size() < kSnapshotHeaderSize) return bad("file shorter than the header");
  std::string header;
  status = file->ReadAt(0, kSnapshotHeaderSize, &header);
  if (!status.ok()) return status;
  const char* h = header.data();
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) return bad("bad magic");
  if (crc32c::Unmask(DecodeFixed32(h + 40)) != crc32c::Value(h, 40)) {
    return bad("header checksum mismatch");
  }
  if (DecodeFixed32(h + 8) != kVersion) {
    return bad(fmt::format("unsupported version {}", DecodeFixed32(h + 8)));
  }
  const uint64_t length = DecodeFixed64(h + 28);
  if (length != file->Size() - kSnapshotHeaderSize) {
    return bad(fmt::format("content is {} bytes, header says {}",
                           file->Size() - kSnapshotHeaderSize, length));
  }
  source->meta = SnapshotMeta{DecodeFixed64(h + 12), DecodeFixed64(h + 20)};
  source->content_bytes = length;
  source->content_crc = crc32c::Unmask(DecodeFixed32(h + 36));
  source->file = std::move(file);
  return Status::Ok();
}

Status ListSnapshots(FileSystem* fs, const std::string& dir, std::vector<SnapshotFileInfo>* out) {
  out->clear();
  std::vector<std::string> names;
  Status status = fs->List(dir, &names);
  if (!status.ok()) return status;
  for (const std::string& name : names) {
    if (auto meta = ParseSnapshotFileName(name)) {
      out->push_back(SnapshotFileInfo{*meta, JoinPath(dir, name)});
    }
  }
  std::sort(out->begin(), out->end(), [](const SnapshotFileInfo& a, const SnapshotFileInfo& b) {
    return a.meta.index != b.meta.index ? a.meta.index < b.meta.index : a.meta.term < b.meta.term;
  });
  return Status::Ok();
}

Status LoadLatestSnapshot(FileSystem* fs, const std::string& dir, uint64_t max_bytes,
                          SnapshotMeta* meta, std::string* content, bool* found) {
  *found = false;
  std::vector<SnapshotFileInfo> snapshots;
  Status status = ListSnapshots(fs, dir, &snapshots);
  if (status.IsNotFound()) return Status::Ok();  // no directory yet: no snapshot
  if (!status.ok()) return status;
  if (snapshots.empty()) return Status::Ok();
  status = LoadSnapshot(fs, snapshots.back().path, max_bytes, meta, content);
  if (!status.ok()) return status;
  *found = true;
  return Status::Ok();
}

Status RemoveOldSnapshots(FileSystem* fs, const std::string& dir, const SnapshotMeta& newest,
                          size_t keep) {
  NINES_CHECK(keep >= 1, "at least one snapshot is kept");
  std::vector<std::string> names;
  Status status = fs->List(dir, &names);
  if (!status.ok()) return status;
  bool removed = false;
  for (const std::string& name : names) {
    if (name.size() > kTmpSuffix.size() && name.ends_with(kTmpSuffix) &&
        name.starts_with("snap-")) {
      status = fs->Remove(JoinPath(dir, name));
      if (!status.ok()) return status;
      removed = true;
    }
  }
  std::vector<SnapshotFileInfo> snapshots;
  status = ListSnapshots(fs, dir, &snapshots);
  if (!status.ok()) return status;
  // Unmarked leftovers must not take the place of the marked snapshot.
  std::vector<SnapshotFileInfo> kept;
  for (const SnapshotFileInfo& info : snapshots) {
    if (info.meta.index > newest.index ||
        (info.meta.index == newest.index && info.meta.term != newest.term)) {
      status = fs->Remove(info.path);
      if (!status.ok()) return status;
      removed = true;
    } else {
      kept.push_back(info);
    }
  }
  snapshots = std::move(kept);
  for (size_t i = 0; i + keep < snapshots.size(); ++i) {
    status = fs->Remove(snapshots[i].path);
    if (!status.ok()) return status;
    removed = true;
  }
  if (removed) return fs->SyncDir(dir);
  return Status::Ok();
}

}  // namespace nines::store
