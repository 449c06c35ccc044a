// The nemesis loop: quiet, fault, hold, heal, again.
#include "nemesis.h"

#include <fmt/format.h>

#include <thread>
#include <vector>

#include "seed.h"
#include "support/wait.h"

namespace nines::chaos {

Nemesis::Nemesis(Cluster& cluster, Partition& partition, uint64_t seed,
                 std::function<void(const std::string&)> log)
    : cluster_(cluster), partition_(partition), seed_(seed), log_(std::move(log)) {}

Nemesis::~Nemesis() {
  Stop();
}

void Nemesis::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Nemesis::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, int> Nemesis::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

bool Nemesis::SleepMs(int64_t ms) {
  return !test::WaitUntil([this] { return stop_.load(); }, static_cast<int>(ms));
}

void Nemesis::Heal() {
  partition_.Heal();
  for (size_t i = 0; i < cluster_.size(); ++i) {
    cluster_.Resume(i);
    cluster_.SetClockOffset(i, 0);
  }
  cluster_.FreeDisk();
  int exited = cluster_.RestartStopped();
  exits_ += exited;
  if (exited > 0)
    log_(fmt::format("heal: {} member(s) had exited on their own; restarted", exited));
}

void Nemesis::Run() {
  sim::Prng prng = SeededPrng(seed_, 0);
  std::vector<std::string> kinds = {"kill", "pause", "clock"};
  if (partition_.unavailable().empty()) {
    kinds.push_back("partition");
    kinds.push_back("one-way");
  }
  if (!cluster_.has_clock()) kinds.erase(kinds.begin() + 2);
  if (cluster_.has_small_disk()) kinds.push_back("disk-full");
  // Rounds of every kind once, in a seeded order: a short run sees them all.
  std::vector<std::string> round;
  while (SleepMs(prng.Range(500, 2000))) {
    if (round.empty()) {
      round = kinds;
      for (size_t i = round.size() - 1; i > 0; --i) std::swap(round[i], round[prng.Below(i + 1)]);
    }
    const std::string kind = round.back();
    round.pop_back();
    int leader = cluster_.Leader();
    // Only a leader stamps its clock into the log: clock jumps go to it more.
    double to_leader = kind == "clock" ? 0.8 : 0.6;
    size_t target = leader >= 0 && prng.Chance(to_leader) ? static_cast<size_t>(leader)
                                                          : prng.Below(cluster_.size());
    const MemberInfo& t = cluster_.member(target);
    std::string what;
    if (kind == "kill") {
      cluster_.Kill(target);
      what = fmt::format("kill -9 {}", t.id);
    } else if (kind == "pause") {
      cluster_.Pause(target);
      what = fmt::format("SIGSTOP {}", t.id);
    } else if (kind == "partition") {
      for (size_t i = 0; i < cluster_.size(); ++i) {
        if (i != target) partition_.DropBothWays(t.host, cluster_.member(i).host);
      }
      what = fmt::format("cut {} off from the others", t.id);
    } else if (kind == "one-way") {
      bool outgoing = prng.Chance(0.5);
      for (size_t i = 0; i < cluster_.size(); ++i) {
        if (i == target) continue;
        const std::string& other = cluster_.member(i).host;
        if (outgoing) {
          partition_.DropOneWay(t.host, other);
        } else {
          partition_.DropOneWay(other, t.host);
        }
      }
      what = fmt::format("drop packets {} {}", outgoing ? "from" : "to", t.id);
    } else if (kind == "clock") {
      int64_t seconds = prng.Range(30, 7200) * (prng.Chance(0.5) ? 1 : -1);
      cluster_.SetClockOffset(target, seconds);
      what = fmt::format("clock of {} {:+} s", t.id, seconds);
    } else {
      cluster_.FillDisk();
      what = fmt::format("fill the disk of {}", cluster_.member(cluster_.small_disk_member()).id);
    }
    {
      std::lock_guard lock(mu_);
      ++counts_[kind];
    }
    log_(fmt::format("{}{}", what, leader == static_cast<int>(target) ? " (leader)" : ""));
    SleepMs(prng.Range(1000, 4000));
    Heal();
    log_("heal");
  }
  Heal();
}

}  // namespace nines::chaos
