// Judging capacity steps, the search over their rates, the N+1 verdict and
// the figures' JSON and text (see capacity.h).
#include "drill/capacity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nines::drill {

double CapacityStep::failed_percent() const {
  return requests == 0 ? 100.0 : 100.0 * static_cast<double>(not_ok) / requests;
}

CapacityStep StepFromTimeline(double rate, uint64_t scheduled, const Timeline& timeline,
                              const CapacityCriteria& criteria) {
  CapacityStep s;
  s.rate = rate;
  Totals t = timeline.totals();
  s.unfinished = scheduled > t.regular() ? scheduled - t.regular() : 0;
  s.requests = t.regular() + s.unfinished;
  s.ok = t.ok;
  s.not_ok = t.failed + t.rate_limited + t.refused_by_client + s.unfinished;
  s.p99_ms = static_cast<double>(timeline.TotalLatency().Percentile(99)) / 1000.0;
  s.sustained = s.requests > 0 && s.p99_ms <= criteria.latency_objective_ms &&
                s.failed_percent() <= criteria.max_failed_percent;
  return s;
}

CapacitySearch::CapacitySearch(double start_rate, double max_rate, double resolution, int max_steps)
    : start_(std::clamp(start_rate, 1.0, max_rate)),
      max_rate_(max_rate),
      resolution_(resolution),
      max_steps_(max_steps) {}

double CapacitySearch::NextRate() const {
  if (steps_.empty()) return start_;
  if (static_cast<int>(steps_.size()) >= max_steps_) return 0;
  if (unsustained_ == 0) {  // ramping up
    if (sustained_ >= max_rate_) return 0;
    return std::min(sustained_ * 2, max_rate_);
  }
  double next = 0;
  if (sustained_ == 0) {  // ramping down
    next = unsustained_ / 2 < 1 ? 0 : unsustained_ / 2;
  } else if (unsustained_ > sustained_ * (1 + resolution_)) {
    next = std::round((sustained_ + unsustained_) / 2);
  }
  if (next == 0 && !confirmed_) return unsustained_;  // once more before it ends
  return next;
}

void CapacitySearch::Record(const CapacityStep& step) {
  steps_.push_back(step);
  if (step.sustained) {
    sustained_ = std::max(sustained_, step.rate);
    // A higher rate held where a lower one did not: the bracket was noise.
    // Look above again.
    if (unsustained_ != 0 && sustained_ >= unsustained_) {
      unsustained_ = 0;
      confirmed_ = false;
    }
  } else if (unsustained_ != 0 && step.rate == unsustained_) {
    confirmed_ = true;
  } else if (unsustained_ == 0 || step.rate < unsustained_) {
    unsustained_ = step.rate;
    confirmed_ = false;
  }
}

NPlusOne WorstRegionLoss(const CapacityFigures& figures) {
  NPlusOne n;
  if (figures.regions.size() < 2) return n;
  double total = 0;
  for (const RegionCapacity& r : figures.regions) total += r.per_s;
  double worst_sum = 0;  // the worst loss's survivors before the cap: breaks ties
  for (const RegionCapacity& r : figures.regions) {
    double sum = total - r.per_s;
    double left = std::min(sum, figures.whole_per_s);
    if (!n.known || left < n.survivors_per_s || (left == n.survivors_per_s && sum < worst_sum)) {
      n.known = true;
      n.worst_region = r.name;
      n.survivors_per_s = left;
      worst_sum = sum;
    }
  }
  return n;
}

nlohmann::json CapacityToJson(const CapacityFigures& f) {
  nlohmann::json regions = nlohmann::json::array();
  for (const RegionCapacity& r : f.regions)
    regions.push_back({{"name", r.name}, {"per_s", r.per_s}});
  NPlusOne n = WorstRegionLoss(f);
  return {{"whole_per_s", f.whole_per_s},
          {"regions", regions},
          {"latency_objective_ms", f.criteria.latency_objective_ms},
          {"max_failed_percent", f.criteria.max_failed_percent},
          {"measured_wall_ms", f.measured_wall_ms},
          {"capped", f.capped},
          {"worst_region", n.worst_region},
          {"survivors_per_s", n.survivors_per_s}};
}

namespace {

bool NonNegative(const nlohmann::json& j, const char* key, double* out) {
  if (!j.contains(key) || !j[key].is_number()) return false;
  *out = j[key].get<double>();
  return std::isfinite(*out) && *out >= 0;
}

}  // namespace

Status CapacityFromJson(const nlohmann::json& j, CapacityFigures* figures) {
  if (!j.is_object()) {
    return Status::InvalidArgument("the capacity must be a JSON object");
  }
  CapacityFigures f;
  if (!NonNegative(j, "whole_per_s", &f.whole_per_s)) {
    return Status::InvalidArgument("whole_per_s must be a number >= 0");
  }
  if (!j.contains("regions") || !j["regions"].is_array() || j["regions"].size() > 64) {
    return Status::InvalidArgument("regions must be an array (at most 64)");
  }
  for (const nlohmann::json& r : j["regions"]) {
    RegionCapacity rc;
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string() ||
        !NonNegative(r, "per_s", &rc.per_s)) {
      return Status::InvalidArgument("each region needs a name (string) and per_s (number >= 0)");
    }
    rc.name = r["name"].get<std::string>();
    f.regions.push_back(rc);
  }
  double v = 0;
  if (NonNegative(j, "latency_objective_ms", &v)) f.criteria.latency_objective_ms = v;
  if (NonNegative(j, "max_failed_percent", &v)) f.criteria.max_failed_percent = v;
  if (j.contains("measured_wall_ms") && j["measured_wall_ms"].is_number_integer()) {
    f.measured_wall_ms = j["measured_wall_ms"].get<int64_t>();
  }
  if (j.contains("capped") && j["capped"].is_boolean()) f.capped = j["capped"].get<bool>();
  *figures = std::move(f);
  return Status::Ok();
}

std::string RenderCapacity(const CapacityFigures& f, std::optional<double> load) {
  std::string out = fmt::format(
      "capacity (p99 <= {:.0f} ms, at most {:g}% of requests not 2xx){}:\n"
      "  whole blueprint  {:8.0f} requests/s\n",
      f.criteria.latency_objective_ms, f.criteria.max_failed_percent,
      f.capped ? " (a lower bound: the search reached its ceiling)" : "", f.whole_per_s);
  for (const RegionCapacity& r : f.regions) {
    out += fmt::format("  {:<16} {:8.0f} requests/s\n", r.name, r.per_s);
  }
  NPlusOne n = WorstRegionLoss(f);
  if (!n.known) return out + "N+1: not known (fewer than two regions measured)\n";
  out += fmt::format(
      "N+1: losing {} leaves the least: {:.0f} requests/s (the other regions' capacities "
      "added, at most the whole's)\n",
      n.worst_region, n.survivors_per_s);
  if (load) {
    out +=
        fmt::format("N+1 verdict at {:.0f} requests/s (--rate): {}\n", *load,
                    SurvivorsCarry(n, *load)
                        ? "PASS: the survivors of any one region's loss carry it"
                        : fmt::format("FAIL: losing {} would overload the rest", n.worst_region));
  } else {
    out += fmt::format(
        "N+1 verdict: holds for loads up to {:.0f} requests/s ({:.0f}% of the whole's capacity); "
        "pass --rate to judge a given load\n",
        n.survivors_per_s, f.whole_per_s > 0 ? 100.0 * n.survivors_per_s / f.whole_per_s : 0.0);
  }
  return out;
}

}  // namespace nines::drill
