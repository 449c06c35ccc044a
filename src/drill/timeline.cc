// Timeline: per-second stats and per-100 ms failure slots.
#include "drill/timeline.h"

#include <algorithm>

namespace nines::drill {

Timeline::Timeline(int seconds) {
  seconds = std::clamp(seconds, 1, kMaxSeconds);
  seconds_.resize(seconds);
  requests_per_slot_.assign(static_cast<size_t>(seconds) * kSlotsPerSecond, 0);
  failures_per_slot_.assign(static_cast<size_t>(seconds) * kSlotsPerSecond, 0);
}

void Timeline::Record(int64_t at_ms, Outcome outcome, int64_t latency_us) {
  int64_t last_ms = static_cast<int64_t>(seconds_.size()) * 1000 - 1;
  at_ms = std::clamp<int64_t>(at_ms, 0, last_ms);
  SecondStats& s = seconds_[at_ms / 1000];
  size_t slot = static_cast<size_t>(at_ms / (1000 / kSlotsPerSecond));
  bool regular = false;
  switch (outcome) {
    case Outcome::kOk:
      ++s.ok;
      regular = true;
      break;
    case Outcome::kFailed:
      ++s.failed;
      regular = true;
      ++failures_per_slot_[slot];
      break;
    case Outcome::kRefusedByClient:
      ++s.refused_by_client;
      ++failures_per_slot_[slot];
      ++requests_per_slot_[slot];  // a failure, but no latency: it was never sent
      return;
    case Outcome::kRateLimited:
      ++s.rate_limited;
      regular = true;
      ++failures_per_slot_[slot];
      break;
    case Outcome::kSpikeOk:
      ++s.spike_ok;
      break;
    case Outcome::kSpikeRateLimited:
      ++s.spike_rate_limited;
      break;
    case Outcome::kSpikeFailed:
      ++s.spike_failed;
      break;
  }
  if (regular) {
    ++requests_per_slot_[slot];
    s.latency.Record(latency_us);
  }
}

Totals Timeline::totals() const {
  Totals t;
  for (const SecondStats& s : seconds_) {
    t.ok += s.ok;
    t.failed += s.failed;
    t.rate_limited += s.rate_limited;
    t.refused_by_client += s.refused_by_client;
    t.spike_ok += s.spike_ok;
    t.spike_rate_limited += s.spike_rate_limited;
    t.spike_failed += s.spike_failed;
  }
  return t;
}

LatencyHistogram Timeline::TotalLatency() const {
  LatencyHistogram all;
  for (const SecondStats& s : seconds_) all.Merge(s.latency);
  return all;
}

namespace {
std::pair<size_t, size_t> SlotRange(int64_t from_ms, int64_t to_ms, size_t slots) {
  constexpr int64_t kSlotMs = 1000 / Timeline::kSlotsPerSecond;
  int64_t from = std::max<int64_t>(from_ms, 0) / kSlotMs;
  // Both ends round down, so adjacent windows share no slot.
  int64_t to = std::max<int64_t>(to_ms, 0) / kSlotMs;
  return {std::min<size_t>(from, slots), std::min<size_t>(to, slots)};
}
}  // namespace

uint64_t Timeline::RequestsBetween(int64_t from_ms, int64_t to_ms) const {
  auto [from, to] = SlotRange(from_ms, to_ms, requests_per_slot_.size());
  uint64_t n = 0;
  for (size_t i = from; i < to; ++i) n += requests_per_slot_[i];
  return n;
}

uint64_t Timeline::FailuresBetween(int64_t from_ms, int64_t to_ms) const {
  auto [from, to] = SlotRange(from_ms, to_ms, failures_per_slot_.size());
  uint64_t n = 0;
  for (size_t i = from; i < to; ++i) n += failures_per_slot_[i];
  return n;
}

int64_t Timeline::LastFailureEndBetween(int64_t from_ms, int64_t to_ms) const {
  auto [from, to] = SlotRange(from_ms, to_ms, failures_per_slot_.size());
  for (size_t i = to; i > from; --i) {
    if (failures_per_slot_[i - 1] > 0) {
      return static_cast<int64_t>(i) * (1000 / kSlotsPerSecond);
    }
  }
  return -1;
}

}  // namespace nines::drill
