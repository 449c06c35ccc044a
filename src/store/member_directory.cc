// The member directory and the snapshot content wrapper; see member_directory.h.
#include "store/member_directory.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "base/coding.h"
#include "raft/codec.h"

namespace nines::store {

const StoreMember* MemberDirectory::ByRaftId(uint64_t raft_id) const {
  for (const StoreMember& m : members) {
    if (m.raft_id == raft_id && raft_id != 0) return &m;
  }
  return nullptr;
}

const StoreMember* MemberDirectory::ById(std::string_view id) const {
  for (const StoreMember& m : members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

bool MemberDirectory::WasRemoved(std::string_view id) const {
  return std::find(removed.begin(), removed.end(), id) != removed.end();
}

void MemberDirectory::Upsert(StoreMember member) {
  for (StoreMember& m : members) {
    if (m.id == member.id) {
      m = std::move(member);
      return;
    }
  }
  members.push_back(std::move(member));
  std::sort(members.begin(), members.end(),
            [](const StoreMember& a, const StoreMember& b) { return a.id < b.id; });
}

std::string EncodeDirectory(const MemberDirectory& d) {
  nlohmann::json members = nlohmann::json::array();
  for (const StoreMember& m : d.members) {
    nlohmann::json j{{"id", m.id},
                     {"raft_id", m.raft_id},
                     {"peer", m.peer.ToString()},
                     {"client", m.client.ToString()}};
    if (m.http) j["http"] = m.http->ToString();
    members.push_back(std::move(j));
  }
  return nlohmann::json{{"members", members}, {"removed", d.removed}}.dump();
}

Status DecodeDirectory(std::string_view in, MemberDirectory* out) {
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  MemberDirectory d;
  auto fail = [](const std::string& why) {
    return Status::Corruption("bad member directory: " + why);
  };
  if (!j.is_object() || !j.contains("members") || !j["members"].is_array()) {
    return fail("not an object with members");
  }
  for (const nlohmann::json& jm : j["members"]) {
    StoreMember m;
    if (!jm.is_object() || !jm.contains("id") || !jm["id"].is_string() || !jm.contains("raft_id") ||
        !jm["raft_id"].is_number_unsigned() || !jm.contains("peer") || !jm["peer"].is_string() ||
        !jm.contains("client") || !jm["client"].is_string()) {
      return fail("member without id, raft_id, peer or client");
    }
    m.id = jm["id"];
    m.raft_id = jm["raft_id"];
    if (!ParseEndpoint(jm["peer"].get<std::string>(), &m.peer).ok() ||
        !ParseEndpoint(jm["client"].get<std::string>(), &m.client).ok()) {
      return fail("bad address of member " + m.id);
    }
    if (jm.contains("http")) {
      Endpoint e;
      if (!jm["http"].is_string() || !ParseEndpoint(jm["http"].get<std::string>(), &e).ok()) {
        return fail("bad http address of member " + m.id);
      }
      m.http = e;
    }
    d.Upsert(std::move(m));
  }
  if (j.contains("removed")) {
    if (!j["removed"].is_array()) return fail("removed is not an array");
    for (const nlohmann::json& r : j["removed"]) {
      if (!r.is_string()) return fail("removed id is not a string");
      d.removed.push_back(r);
    }
  }
  *out = std::move(d);
  return Status::Ok();
}

namespace {
constexpr std::string_view kMagic = "NSM1";
}

std::string EncodeSnapshotContent(const raft::Membership& membership,
                                  const MemberDirectory& directory, std::string_view kv) {
  std::string m = raft::EncodeMembership(membership);
  std::string d = EncodeDirectory(directory);
  std::string out(kMagic);
  PutFixed32(&out, static_cast<uint32_t>(m.size()));
  out += m;
  PutFixed32(&out, static_cast<uint32_t>(d.size()));
  out += d;
  out += kv;
  return out;
}

Status DecodeSnapshotContent(std::string_view in, bool* wrapped, raft::Membership* membership,
                             MemberDirectory* directory, std::string_view* kv) {
  if (in.substr(0, kMagic.size()) != kMagic) {
    *wrapped = false;
    *kv = in;
    return Status::Ok();
  }
  *wrapped = true;
  size_t at = kMagic.size();
  auto take = [&](std::string_view* part) {
    if (in.size() - at < 4) return false;
    uint32_t n = DecodeFixed32(in.data() + at);
    at += 4;
    if (in.size() - at < n) return false;
    *part = in.substr(at, n);
    at += n;
    return true;
  };
  std::string_view m, d;
  if (!take(&m) || !take(&d)) return Status::Corruption("snapshot content truncated");
  if (Status s = raft::DecodeMembership(m, membership); !s.ok()) return s;
  if (Status s = DecodeDirectory(d, directory); !s.ok()) return s;
  *kv = in.substr(at);
  return Status::Ok();
}

}  // namespace nines::store
