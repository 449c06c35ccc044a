// The command tables of each group of commands beyond the base table in
// commands.cc: each group lives in its own file with its handlers
// (prepare, read, apply) and hands its specs to the command table here.
#pragma once

#include <span>

#include "store/commands.h"

namespace nines::store {

std::span<const CommandSpec> HashCommands();         // hash_commands.cc
std::span<const CommandSpec> SetCommands();          // set_commands.cc
std::span<const CommandSpec> KeyspaceCommands();     // keyspace_commands.cc
std::span<const CommandSpec> ListCommands();         // list_commands.cc
std::span<const CommandSpec> ZsetCommands();         // zset_commands.cc
std::span<const CommandSpec> TransactionCommands();  // transaction_commands.cc
std::span<const CommandSpec> BlockingCommands();     // blocking_commands.cc
std::span<const CommandSpec> PubSubCommands();       // pubsub_commands.cc

// Helpers the groups share with commands.cc.
// A read's live entry of type, or nullptr if absent; on another type writes
// the WRONGTYPE error and sets *done.
const KvEntry* FindTypedForRead(const ReadCall& call, const KvState& state, std::string_view key,
                                ValueType type, bool* done);

}  // namespace nines::store
