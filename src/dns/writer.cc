// Message building with a small table of compression targets (like gdnsd's
// bounded COMPTARGETS): each suffix of a literally written name can be
// pointed to by later names.
#include "dns/writer.h"

#include <cstring>

#include "base/check.h"
#include "base/coding.h"
#include "dns/dns_constants.h"

namespace nines::dns {
namespace {

inline uint8_t Lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

}  // namespace

MessageWriter::MessageWriter(std::vector<uint8_t>* out, size_t max_size)
    : out_(out), max_size_(max_size) {
  NINES_CHECK(max_size >= kHeaderSize && max_size <= kMaxMessageSize,
              "message size limit between a header and 64 KiB");
  // The buffer is sized once to the limit and written through a position;
  // Finish() trims it. (A reused vector keeps its capacity.)
  out_->resize(max_size);
  std::memset(out_->data(), 0, kHeaderSize);
  pos_ = kHeaderSize;
}

void MessageWriter::SetHeader(uint16_t id, uint16_t flags) {
  EncodeBigEndian16(out_->data(), id);
  flags_ = flags;
}

void MessageWriter::SetFlags(uint16_t flags) {
  flags_ = flags;
}

void MessageWriter::set_max_size(size_t max_size) {
  NINES_CHECK(max_size <= out_->size(), "size limit not beyond the buffer sized at construction");
  max_size_ = max_size;
}

bool MessageWriter::Put8(uint8_t v) {
  if (pos_ + 1 > max_size_) return false;
  (*out_)[pos_++] = v;
  return true;
}
bool MessageWriter::Put16(uint16_t v) {
  if (pos_ + 2 > max_size_) return false;
  EncodeBigEndian16(out_->data() + pos_, v);
  pos_ += 2;
  return true;
}
bool MessageWriter::Put32(uint32_t v) {
  if (pos_ + 4 > max_size_) return false;
  EncodeBigEndian32(out_->data() + pos_, v);
  pos_ += 4;
  return true;
}
bool MessageWriter::PutBytes(const void* data, size_t n) {
  if (pos_ + n > max_size_) return false;
  if (n > 0) std::memcpy(out_->data() + pos_, data, n);
  pos_ += n;
  return true;
}

// Compares the (possibly compressed) name we wrote at `offset` with the
// uncompressed `suffix`, ignoring case. Our own output is well-formed.
bool MessageWriter::NameAtEquals(size_t offset, std::string_view suffix) const {
  const std::vector<uint8_t>& buf = *out_;
  size_t s = 0;
  size_t pos = offset;
  for (int guard = 0; guard < 256; ++guard) {
    uint8_t len = buf[pos];
    if ((len & 0xC0) == 0xC0) {
      pos = ((len & 0x3F) << 8) | buf[pos + 1];
      continue;
    }
    if (s >= suffix.size() || static_cast<uint8_t>(suffix[s]) != len) return false;
    if (len == 0) return true;
    for (size_t i = 1; i <= len; ++i) {
      if (Lower(buf[pos + i]) != Lower(static_cast<uint8_t>(suffix[s + i]))) return false;
    }
    pos += 1 + len;
    s += 1 + len;
  }
  return false;
}

bool MessageWriter::WriteName(std::string_view name) {
  // Targets become usable only once the whole name is written, so a name is
  // never compared against its own unfinished labels.
  std::array<uint16_t, 128> pending;
  size_t pending_count = 0;
  auto commit = [&] {
    for (size_t i = 0; i < pending_count && target_count_ < kMaxTargets; ++i) {
      targets_[target_count_++] = pending[i];
    }
  };
  size_t pos = 0;
  while (pos < name.size() && name[pos] != 0) {
    std::string_view suffix = name.substr(pos);
    for (size_t t = 0; t < target_count_; ++t) {
      if (NameAtEquals(targets_[t], suffix)) {
        if (!Put16(static_cast<uint16_t>(0xC000 | targets_[t]))) return false;
        commit();
        return true;
      }
    }
    size_t here = pos_;
    size_t len = static_cast<uint8_t>(name[pos]);
    if (!PutBytes(name.data() + pos, 1 + len)) return false;
    if (here < 0x4000 && pending_count < pending.size()) {
      pending[pending_count++] = static_cast<uint16_t>(here);
    }
    pos += 1 + len;
  }
  if (!Put8(0)) return false;
  commit();
  return true;
}

void MessageWriter::Rollback() {
  pos_ = record_start_;
  target_count_ = targets_at_record_start_;
}

bool MessageWriter::AddQuestion(std::string_view name, uint16_t qtype, uint16_t qclass) {
  NINES_CHECK(current_section_ < 0 && counts_[0] == 0, "one question, before any record");
  record_start_ = pos_;
  targets_at_record_start_ = target_count_;
  if (!WriteName(name) || !Put16(qtype) || !Put16(qclass)) {
    Rollback();
    return false;
  }
  counts_[0] = 1;
  question_end_ = pos_;
  targets_at_question_end_ = target_count_;
  return true;
}

bool MessageWriter::BeginRecord(Section section, std::string_view name, uint16_t type,
                                uint16_t rrclass, uint32_t ttl) {
  int s = static_cast<int>(section);
  NINES_CHECK(s >= current_section_, "sections written in order");
  current_section_ = s;
  if (question_end_ == 0) question_end_ = pos_;
  record_start_ = pos_;
  targets_at_record_start_ = target_count_;
  if (!WriteName(name) || !Put16(type) || !Put16(rrclass) || !Put32(ttl) || !Put16(0)) {
    Rollback();
    return false;
  }
  return true;
}

bool MessageWriter::EndRecord(size_t rdlength_at) {
  size_t rdlength = pos_ - rdlength_at - 2;
  EncodeBigEndian16(out_->data() + rdlength_at, static_cast<uint16_t>(rdlength));
  ++counts_[1 + current_section_];
  return true;
}

bool MessageWriter::AddAddress(Section section, std::string_view name, uint32_t ttl,
                               std::span<const uint8_t> address) {
  NINES_CHECK(address.size() == 4 || address.size() == 16, "an A or AAAA address (4 or 16 bytes)");
  uint16_t type = address.size() == 4 ? kTypeA : kTypeAaaa;
  return AddRaw(section, name, type, ttl, address);
}

bool MessageWriter::AddRaw(Section section, std::string_view name, uint16_t type, uint32_t ttl,
                           std::span<const uint8_t> rdata) {
  if (!BeginRecord(section, name, type, kClassIn, ttl)) return false;
  size_t rdlength_at = pos_ - 2;
  if (!PutBytes(rdata.data(), rdata.size())) {
    Rollback();
    return false;
  }
  return EndRecord(rdlength_at);
}

bool MessageWriter::AddNameRecord(Section section, std::string_view name, uint16_t type,
                                  uint32_t ttl, std::string_view target) {
  if (!BeginRecord(section, name, type, kClassIn, ttl)) return false;
  size_t rdlength_at = pos_ - 2;
  if (!WriteName(target)) {
    Rollback();
    return false;
  }
  return EndRecord(rdlength_at);
}

bool MessageWriter::AddSoa(Section section, std::string_view name, uint32_t ttl,
                           const SoaFields& soa) {
  if (!BeginRecord(section, name, kTypeSoa, kClassIn, ttl)) return false;
  size_t rdlength_at = pos_ - 2;
  if (!WriteName(soa.mname) || !WriteName(soa.rname) || !Put32(soa.serial) || !Put32(soa.refresh) ||
      !Put32(soa.retry) || !Put32(soa.expire) || !Put32(soa.minimum)) {
    Rollback();
    return false;
  }
  return EndRecord(rdlength_at);
}

bool MessageWriter::AddOpt(uint16_t udp_size, int extended_rcode, bool dnssec_ok,
                           const ClientSubnet* subnet) {
  current_section_ = static_cast<int>(Section::kAdditional);
  if (question_end_ == 0) question_end_ = pos_;
  record_start_ = pos_;
  targets_at_record_start_ = target_count_;
  uint32_t ttl =
      (static_cast<uint32_t>((extended_rcode >> 4) & 0xFF) << 24) | (dnssec_ok ? kEdnsDoBit : 0);
  bool ok = Put8(0) && Put16(kTypeOpt) && Put16(udp_size) && Put32(ttl);
  size_t rdlength_at = pos_;
  ok = ok && Put16(0);
  if (ok && subnet) {
    size_t address_bytes = (subnet->source_prefix + 7) / 8;
    ok = Put16(kEdnsOptionClientSubnet) && Put16(static_cast<uint16_t>(4 + address_bytes)) &&
         Put16(subnet->family) && Put8(subnet->source_prefix) && Put8(subnet->scope_prefix) &&
         PutBytes(subnet->address.data(), address_bytes);
  }
  if (!ok) {
    Rollback();
    return false;
  }
  return EndRecord(rdlength_at);
}

void MessageWriter::DropRecords() {
  if (question_end_ == 0) question_end_ = pos_;
  pos_ = question_end_;
  target_count_ = targets_at_question_end_;
  counts_[1] = counts_[2] = counts_[3] = 0;
  current_section_ = -1;
}

void MessageWriter::Finish() {
  out_->resize(pos_);
  std::vector<uint8_t>& b = *out_;
  EncodeBigEndian16(b.data() + 2, flags_);
  for (int i = 0; i < 4; ++i) EncodeBigEndian16(b.data() + 4 + 2 * i, counts_[i]);
}

}  // namespace nines::dns
