// KV state machine and its command format ("P|client|req|key|value",
// "C|client|req|key|expected|value").
#include "kv.h"

#include <sstream>
#include <vector>

#include "raft/codec.h"

namespace nines::sim {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

std::string EncodeCommand(const KvCommand& c) {
  std::string out = c.kind == KvCommand::Kind::kPut ? "P|" : "C|";
  out += std::to_string(c.client) + "|" + std::to_string(c.request) + "|" + c.key + "|";
  if (c.kind == KvCommand::Kind::kCas) out += c.expected + "|";
  return out + c.value;
}

std::optional<KvCommand> DecodeCommand(const std::string& data) {
  auto parts = Split(data, '|');
  KvCommand c;
  if (parts.size() == 5 && parts[0] == "P") {
    c.kind = KvCommand::Kind::kPut;
    c.value = parts[4];
  } else if (parts.size() == 6 && parts[0] == "C") {
    c.kind = KvCommand::Kind::kCas;
    c.expected = parts[4];
    c.value = parts[5];
  } else {
    return std::nullopt;
  }
  c.client = std::stoull(parts[1]);
  c.request = std::stoull(parts[2]);
  c.key = parts[3];
  return c;
}

bool KvStateMachine::Apply(const raft::Entry& e, std::optional<KvCommand>* command) {
  applied = e.index;
  command->reset();
  if (e.type == raft::EntryType::kConfig) {
    raft::Membership m;
    if (raft::DecodeMembership(e.data, &m).ok()) membership = m;
    return true;
  }
  if (raft::IsLeaderNoOp(e)) return true;
  *command = DecodeCommand(e.data);
  if (!*command) return true;  // liveness probes and other opaque entries
  const KvCommand& c = **command;
  if (c.kind == KvCommand::Kind::kPut) {
    data[c.key] = c.value;
    return true;
  }
  if (Get(c.key) != c.expected) return false;
  data[c.key] = c.value;
  return true;
}

std::string KvStateMachine::Get(const std::string& key) const {
  auto it = data.find(key);
  return it == data.end() ? std::string() : it->second;
}

std::string KvStateMachine::Serialize() const {
  std::string out;
  for (const auto& [k, v] : data) out += k + "=" + v + "\n";
  return out;
}

void KvStateMachine::Restore(const raft::Snapshot& snapshot) {
  data.clear();
  std::istringstream in(snapshot.data);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) data[line.substr(0, eq)] = line.substr(eq + 1);
  }
  membership = snapshot.meta.membership;
  applied = snapshot.meta.index;
}

}  // namespace nines::sim
