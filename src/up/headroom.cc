// The dashboard's headroom: the posted capacity figures and the N+1 warning
// (see headroom.h).
#include "up/headroom.h"

#include <fstream>
#include <sstream>

namespace nines::up {

nlohmann::json HeadroomJson(const std::optional<drill::CapacityFigures>& figures,
                            double current_rps) {
  if (!figures) return {{"measured", false}, {"current_rps", current_rps}};
  nlohmann::json j = drill::CapacityToJson(*figures);
  drill::NPlusOne n = drill::WorstRegionLoss(*figures);
  j["measured"] = true;
  j["current_rps"] = current_rps;
  j["n_plus_1_known"] = n.known;
  j["overload_if_lost"] = n.known && !drill::SurvivorsCarry(n, current_rps);
  return j;
}

Headroom::Headroom(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::ifstream in(path_);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  drill::CapacityFigures figures;
  Status s = drill::CapacityFromJson(nlohmann::json::parse(text.str(), nullptr, false), &figures);
  if (s.ok()) figures_ = std::move(figures);  // a malformed file is as if none was measured
}

Status Headroom::Set(const drill::CapacityFigures& figures) {
  std::lock_guard lock(mu_);
  figures_ = figures;
  if (path_.empty()) return Status::Ok();
  std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << drill::CapacityToJson(figures).dump(2) << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return Status::IoError("cannot rename " + tmp);
  return Status::Ok();
}

std::optional<drill::CapacityFigures> Headroom::Get() const {
  std::lock_guard lock(mu_);
  return figures_;
}

}  // namespace nines::up
