// The replicated state machine of the simulation: a string key-value map with
// put and compare-and-set commands, plus the configuration it has applied
// (needed to take snapshots).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "raft/types.h"

namespace nines::sim {

struct KvCommand {
  enum class Kind : uint8_t { kPut, kCas } kind = Kind::kPut;
  uint64_t client = 0;
  uint64_t request = 0;
  std::string key;
  std::string expected;  // kCas
  std::string value;
};

std::string EncodeCommand(const KvCommand& c);
std::optional<KvCommand> DecodeCommand(const std::string& data);

struct KvStateMachine {
  std::map<std::string, std::string> data;
  raft::Membership membership;
  raft::Index applied = 0;

  // Applies a committed entry; for commands returns whether it took effect
  // (always for put; for CAS whether the comparison matched).
  bool Apply(const raft::Entry& e, std::optional<KvCommand>* command);
  std::string Get(const std::string& key) const;
  std::string Serialize() const;
  void Restore(const raft::Snapshot& snapshot);
};

}  // namespace nines::sim
