// The capacity a drill measured (`nines drill --capacity` posts it to
// POST /api/capacity), kept for the dashboard, and the pure judgement the
// dashboard shows: the current load against the capacity, and whether
// losing one region would overload the rest.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "drill/capacity.h"

namespace nines::up {

// The "capacity" object of GET /api/state: {"measured": false} without
// figures; else the figures, the current load and "overload_if_lost": true
// when `current_rps` exceeds the survivors' capacity of the worst region's
// loss (drill::WorstRegionLoss).
nlohmann::json HeadroomJson(const std::optional<drill::CapacityFigures>& figures,
                            double current_rps);

// The latest figures, kept in memory and in `path` (RUN/data/capacity.json,
// so a restarted `nines up` on the same run directory shows them; --fresh
// deletes them with data/). Thread-safe.
class Headroom {
 public:
  // Reads `path` if it holds figures; "" keeps them in memory only.
  explicit Headroom(std::string path);
  // Replaces the figures; IoError if `path` could not be written.
  Status Set(const drill::CapacityFigures& figures);
  std::optional<drill::CapacityFigures> Get() const;

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::optional<drill::CapacityFigures> figures_;
};

}  // namespace nines::up
