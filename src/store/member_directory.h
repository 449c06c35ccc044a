// The member directory: who the store's members are (id, stable Raft id,
// addresses). It starts from store.toml's [[member]] list and is replaced by
// directory entries in the Raft log (written before each membership change)
// and by snapshots, so members added or removed at run time survive restarts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "raft/types.h"
#include "store/store_config.h"

namespace nines::store {

struct MemberDirectory {
  std::vector<StoreMember> members;  // sorted by id; removed ones stay (ids are never reused)
  std::vector<std::string> removed;  // ids of removed members

  const StoreMember* ByRaftId(uint64_t raft_id) const;
  const StoreMember* ById(std::string_view id) const;
  bool WasRemoved(std::string_view id) const;
  void Upsert(StoreMember member);
};

// JSON: {"members":[{"id","raft_id","peer","client","http"}],"removed":[...]}.
std::string EncodeDirectory(const MemberDirectory& d);
// Corruption for bad JSON or a member without its fields.
Status DecodeDirectory(std::string_view in, MemberDirectory* out);

// Snapshot content: "NSM1", u32 length + encoded Raft membership, u32 length +
// directory, then the KvState bytes. Content without the magic is an older
// snapshot holding only the KvState (membership and directory then come from
// the bootstrap configuration).
std::string EncodeSnapshotContent(const raft::Membership& membership,
                                  const MemberDirectory& directory, std::string_view kv);
// Corruption for a damaged wrapper; *wrapped false for an older snapshot.
Status DecodeSnapshotContent(std::string_view in, bool* wrapped, raft::Membership* membership,
                             MemberDirectory* directory, std::string_view* kv);

}  // namespace nines::store
