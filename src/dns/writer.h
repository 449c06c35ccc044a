// Building a DNS message (RFC 1035 4.1) into a bounded buffer, with name
// compression (4.1.4). Sections are filled in order; a record that would
// exceed the size limit is not written and the call returns false, so the
// caller can set TC and fall back to a smaller message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dns/query.h"

namespace nines::dns {

enum class Section { kAnswer = 0, kAuthority = 1, kAdditional = 2 };

struct SoaFields {
  std::string_view mname;  // wire names
  std::string_view rname;
  uint32_t serial = 1;
  uint32_t refresh = 3600;
  uint32_t retry = 600;
  uint32_t expire = 86400;
  uint32_t minimum = 10;
};

class MessageWriter {
 public:
  // Writes into `out`, never beyond `max_size` bytes; `out` holds the message
  // only after Finish().
  MessageWriter(std::vector<uint8_t>* out, size_t max_size);

  void SetHeader(uint16_t id, uint16_t flags);
  void SetFlags(uint16_t flags);
  uint16_t flags() const { return flags_; }
  bool AddQuestion(std::string_view name, uint16_t qtype, uint16_t qclass);

  bool AddAddress(Section section, std::string_view name, uint32_t ttl,
                  std::span<const uint8_t> address);  // 4 bytes: A, 16 bytes: AAAA
  bool AddNameRecord(Section section, std::string_view name, uint16_t type, uint32_t ttl,
                     std::string_view target);  // NS, CNAME
  bool AddSoa(Section section, std::string_view name, uint32_t ttl, const SoaFields& soa);
  bool AddRaw(Section section, std::string_view name, uint16_t type, uint32_t ttl,
              std::span<const uint8_t> rdata);
  // The OPT pseudo-record; `subnet` (may be null) is echoed as an option.
  bool AddOpt(uint16_t udp_size, int extended_rcode, bool dnssec_ok, const ClientSubnet* subnet);

  // Drops every record after the question (for TC=1 answers).
  void DropRecords();
  // Fills in the counts; the message is then out[0, size()).
  void Finish();
  size_t size() const { return pos_; }
  // Lowers (or restores, up to the constructor's) the size limit, e.g. to
  // keep room for the OPT record.
  void set_max_size(size_t max_size);

 private:
  bool BeginRecord(Section section, std::string_view name, uint16_t type, uint16_t rrclass,
                   uint32_t ttl);
  bool EndRecord(size_t rdlength_at);
  bool WriteName(std::string_view name);
  bool Put8(uint8_t v);
  bool Put16(uint16_t v);
  bool Put32(uint32_t v);
  bool PutBytes(const void* data, size_t n);
  bool NameAtEquals(size_t offset, std::string_view suffix) const;
  void Rollback();

  std::vector<uint8_t>* out_;
  size_t max_size_;
  size_t pos_ = 0;  // bytes written so far
  uint16_t flags_ = 0;
  std::array<uint16_t, 4> counts_{};  // qd, an, ns, ar
  int current_section_ = -1;
  size_t record_start_ = 0;
  size_t question_end_ = 0;
  // Offsets of names (and their suffixes) written literally: compression targets.
  static constexpr size_t kMaxTargets = 32;
  std::array<uint16_t, kMaxTargets> targets_{};
  size_t target_count_ = 0;
  size_t targets_at_record_start_ = 0;
  size_t targets_at_question_end_ = 0;
};

}  // namespace nines::dns
