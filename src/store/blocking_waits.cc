// Blocked clients of the leader and their FIFO service; see blocking_waits.h.
#include "store/blocking_waits.h"

#include <algorithm>

namespace nines::store {

uint64_t BlockingWaits::Add(std::vector<std::string> keys, ValueType type, int64_t deadline_ms,
                            Wake wake) {
  if (clients_.size() >= kMaxBlockedClients || keys.empty()) return 0;
  const uint64_t id = ++next_id_;
  for (const std::string& key : keys) {
    by_key_[key].insert(id);
    touched_.insert(key);
  }
  clients_.emplace(id, Client{std::move(keys), type, deadline_ms, false, {}, std::move(wake)});
  return id;
}

bool BlockingWaits::Rearm(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return false;
  Client& c = it->second;
  if (c.in_flight) {
    auto f = in_flight_by_key_.find(c.flight_key);
    if (f != in_flight_by_key_.end() && --f->second == 0) in_flight_by_key_.erase(f);
    // More elements may remain than the pops in flight will take.
    touched_.insert(c.flight_key);
  }
  c.in_flight = false;
  c.flight_key.clear();
  return true;
}

void BlockingWaits::Unindex(uint64_t id, const Client& c) {
  for (const std::string& key : c.keys) {
    auto k = by_key_.find(key);
    if (k == by_key_.end()) continue;
    k->second.erase(id);
    if (k->second.empty()) by_key_.erase(k);
  }
  if (c.in_flight) {
    auto f = in_flight_by_key_.find(c.flight_key);
    if (f != in_flight_by_key_.end() && --f->second == 0) in_flight_by_key_.erase(f);
  }
}

void BlockingWaits::Remove(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Unindex(id, it->second);
  clients_.erase(it);
}

void BlockingWaits::KeyTouched(std::string_view key) {
  if (by_key_.empty()) return;
  if (by_key_.find(std::string(key)) != by_key_.end()) touched_.emplace(key);
}

void BlockingWaits::ServeReady(const Available& available) {
  if (touched_.empty()) return;
  std::set<std::string, std::less<>> touched;
  touched.swap(touched_);
  // Wakes are called once the bookkeeping is done: a wake may call back in.
  std::vector<std::pair<Wake, std::string>> wakes;
  for (const std::string& key : touched) {
    auto k = by_key_.find(key);
    if (k == by_key_.end()) continue;
    // Per type, the elements no pop in flight will take (a key has one type,
    // but clients of both kinds may wait on it).
    size_t flying = 0;
    if (auto f = in_flight_by_key_.find(key); f != in_flight_by_key_.end()) flying = f->second;
    for (uint64_t id : k->second) {
      Client& c = clients_.at(id);
      if (c.in_flight) continue;
      const size_t have = available(key, c.type);
      if (have <= flying) continue;
      c.in_flight = true;
      c.flight_key = key;
      ++flying;
      ++in_flight_by_key_[key];
      wakes.emplace_back(c.wake, key);
    }
  }
  for (auto& [wake, key] : wakes) wake(BlockWake::kReady, key);
}

void BlockingWaits::ExpireDue(int64_t now_ms) {
  std::vector<Wake> wakes;
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Client& c = it->second;
    if (c.in_flight || c.deadline_ms == 0 || c.deadline_ms > now_ms) {
      ++it;
      continue;
    }
    wakes.push_back(std::move(it->second.wake));
    Unindex(it->first, c);
    it = clients_.erase(it);
  }
  for (Wake& wake : wakes) wake(BlockWake::kTimeout, {});
}

void BlockingWaits::FailAll() {
  std::vector<Wake> wakes;
  for (auto& [id, c] : clients_) {
    if (!c.in_flight) wakes.push_back(std::move(c.wake));
  }
  clients_.clear();
  by_key_.clear();
  in_flight_by_key_.clear();
  touched_.clear();
  for (Wake& wake : wakes) wake(BlockWake::kLeaderLost, {});
}

}  // namespace nines::store
