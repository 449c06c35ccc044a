// The state poller's probes and the bookkeeping of lb counters.
#include "up/state_poller.h"

#include <chrono>
#include <sstream>

#include <nlohmann/json.hpp>

#include "http/client.h"

namespace nines::up {
namespace {

LbCounters Sum(const LbCounters& a, const LbCounters& b) {
  return {a.requests + b.requests, a.errors + b.errors, a.rate_limited + b.rate_limited};
}

LbCounters Difference(const LbCounters& a, const LbCounters& b) {
  return {a.requests - b.requests, a.errors - b.errors, a.rate_limited - b.rate_limited};
}

}  // namespace

LbCounters ParseLbMetrics(const std::string& text) {
  LbCounters c;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    double value = std::strtod(line.c_str() + space + 1, nullptr);
    std::string series = line.substr(0, space);
    std::string name = series.substr(0, series.find('{'));
    bool is_5xx = series.find("code=\"5xx\"") != std::string::npos;
    if (name == "nines_lb_requests_total") {
      c.requests += value;
    } else if (name == "nines_lb_rate_limited_total") {
      c.rate_limited += value;
    } else if ((name == "nines_lb_local_responses_total" ||
                name == "nines_lb_server_responses_total") &&
               is_5xx) {
      c.errors += value;
    }
  }
  return c;
}

StatePoller::StatePoller(Supervisor* supervisor, const Clock& clock)
    : supervisor_(supervisor), clock_(clock) {}

StatePoller::~StatePoller() {
  Stop();
}

void StatePoller::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void StatePoller::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

ObservedState StatePoller::Snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

void StatePoller::Loop() {
  while (!stop_) {
    int64_t start = clock_.NowMillis();
    PollOnce();
    int64_t left = kIntervalMs - (clock_.NowMillis() - start);
    while (left > 0 && !stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(left < 50 ? left : 50));
      left -= 50;
    }
  }
}

void StatePoller::PollOnce() {
  std::vector<NodeStatus> statuses = supervisor_->Snapshot();
  const std::vector<NodeSpec>& specs = supervisor_->nodes();
  ObservedState next;
  bool reset = reset_requested_.exchange(false);
  struct StoreReading {
    size_t member;
    std::string leader_id;
  };
  std::vector<StoreReading> readings;
  for (size_t i = 0; i < specs.size(); ++i) {
    const NodeSpec& spec = specs[i];
    const NodeStatus& st = statuses[i];
    bool alive = st.pid > 0 && st.state != NodeState::kFrozen;
    bool probe_ready = false;
    if (spec.kind == NodeKind::kStore) {
      StoreMemberState m;
      m.node = spec.name;
      if (alive) {
        http::ClientResponse r = http::Get(spec.admin.host, spec.admin.port, "/status",
                                           http::ClientOptions().Timeout(kProbeTimeoutMs));
        if (r.ok && r.status == 200) {
          nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
          if (j.is_object()) {
            probe_ready = true;
            m.role = j.value("role", "unknown");
            m.term = j.value("term", int64_t{0});
            m.commit = j.value("commit", int64_t{0});
            m.applied = j.value("applied", int64_t{0});
            std::string leader;
            if (j.contains("leader") && j["leader"].is_string()) leader = j["leader"];
            readings.push_back({next.store.members.size(), leader});
          }
        }
      }
      next.store.members.push_back(m);
    } else if (spec.kind == NodeKind::kLb) {
      LbStats stats;
      stats.node = spec.name;
      LbTrack& track = lb_tracks_[spec.name];
      if (alive) {
        http::ClientResponse r = http::Get(spec.admin.host, spec.admin.port, "/metrics",
                                           http::ClientOptions().Timeout(kProbeTimeoutMs));
        if (r.ok && r.status == 200) {
          probe_ready = true;
          stats.reachable = true;
          LbCounters now = ParseLbMetrics(r.body);
          if (now.requests < track.last.requests) {  // a new lb process: counters restarted
            track.base = Sum(track.base, track.last);
          }
          track.last = now;
        }
      }
      if (reset) track.offset = Sum(track.base, track.last);
      LbCounters total = Difference(Sum(track.base, track.last), track.offset);
      int64_t now_ms = clock_.NowMillis();
      if (track.last_ms > 0 && now_ms > track.last_ms) {
        double rps = (total.requests - track.last_requests_total) * 1000.0 /
                     static_cast<double>(now_ms - track.last_ms);
        track.rps = rps < 0 ? 0 : rps;
      }
      track.last_ms = now_ms;
      track.last_requests_total = total.requests;
      stats.requests = total.requests;
      stats.errors = total.errors;
      stats.rate_limited = total.rate_limited;
      stats.rps = track.rps;
      double served = total.requests - total.rate_limited;
      stats.availability = served > 0 ? 1.0 - total.errors / served : 1.0;
      if (stats.availability < 0) stats.availability = 0;
      next.lbs.push_back(stats);
    } else if (alive && st.state == NodeState::kStarting) {
      probe_ready = http::TcpConnects(spec.admin.host, spec.admin.port, kProbeTimeoutMs);
    }
    if (alive && st.state == NodeState::kStarting && probe_ready) {
      supervisor_->SetReady(spec.name, st.pid, true);
    }
  }
  // The leader: a member that says it leads, in the highest term.
  int64_t best_term = -1;
  for (StoreMemberState& m : next.store.members) {
    if (m.role == "leader" && m.term > best_term) {
      best_term = m.term;
      next.store.leader_node = m.node;
    }
    if (m.term > next.store.term) next.store.term = m.term;
  }
  if (!next.store.leader_node.empty()) {
    int64_t leader_commit = 0;
    for (const StoreMemberState& m : next.store.members) {
      if (m.node == next.store.leader_node) leader_commit = m.commit;
    }
    for (const StoreReading& r : readings) {
      StoreMemberState& m = next.store.members[r.member];
      m.lag = leader_commit > m.applied ? leader_commit - m.applied : 0;
    }
  }
  std::lock_guard lock(mu_);
  state_ = std::move(next);
}

}  // namespace nines::up
