// Local reads of every key (a typed group: its state line) on every member,
// compared until they agree.
#include "convergence.h"

#include <fmt/format.h>

#include <optional>

#include "store/store_cluster.h"
#include "support/wait.h"
#include "typed_group.h"

namespace nines::chaos {
namespace {

// Member m's own values of keys, or nullopt if it did not answer them all.
std::optional<std::vector<std::string>> LocalValues(const MemberInfo& m,
                                                    const std::vector<std::string>& keys) {
  test::RespClient c;
  if (!c.Connect(m.host, m.client, 1000) || c.Call({"READONLY"}, 1000) != "+OK\r\n") {
    return std::nullopt;
  }
  std::vector<std::string> values;
  values.reserve(keys.size());
  for (const std::string& key : keys) {
    if (IsTypedKey(key)) {
      std::vector<std::string> replies;
      for (const auto& cmd : TypedGroupReads(key)) replies.push_back(c.Call(cmd, 1000));
      std::string line;
      if (!TypedGroupLine(replies, &line)) return std::nullopt;
      values.push_back(line);
      continue;
    }
    std::string raw = c.Call({"GET", key}, 1000);
    if (raw.empty() || raw[0] != '$') return std::nullopt;
    size_t eol = raw.find("\r\n");
    values.push_back(raw.rfind("$-1", 0) == 0 ? "" : raw.substr(eol + 2, raw.size() - eol - 4));
  }
  return values;
}

}  // namespace

std::vector<std::string> CheckConvergence(const Cluster& cluster,
                                          const std::vector<std::string>& keys, int timeout_ms) {
  std::vector<std::string> differences;
  test::WaitUntil(
      [&] {
        differences.clear();
        std::vector<std::optional<std::vector<std::string>>> all;
        for (size_t i = 0; i < cluster.size(); ++i)
          all.push_back(LocalValues(cluster.member(i), keys));
        for (size_t k = 0; k < keys.size(); ++k) {
          bool same = true;
          std::string line = fmt::format("key {}: replicas differ:", keys[k]);
          for (size_t i = 0; i < all.size(); ++i) {
            std::string v = all[i] ? (*all[i])[k] : "?";
            same = same && all[i] && all[0] && v == (*all[0])[k];
            line += fmt::format(" {} '{}'", cluster.member(i).id, v);
          }
          if (!same) differences.push_back(line);
        }
        return differences.empty();
      },
      timeout_ms, 500);
  return differences;
}

}  // namespace nines::chaos
