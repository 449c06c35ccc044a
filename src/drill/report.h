// The drill's report: everything measured, as JSON for machines
// (DIR/report.json), as one self-contained HTML page with an SVG timeline
// (DIR/report.html, no external resources), and as the table printed at the
// end of a run. The HTML and the table are rendered from the JSON, so the
// three always agree.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "drill/fault_figures.h"
#include "drill/timeline.h"

namespace nines::drill {

struct WriteCheck {
  uint64_t acknowledged = 0;          // orders the app answered 201/200 for
  uint64_t verified = 0;              // read back from every region's lb
  uint64_t lost = 0;                  // acknowledged, then 404 somewhere
  uint64_t unverifiable = 0;          // read-back kept failing (not counted as lost)
  uint64_t mismatched = 0;            // read back with another body than acknowledged
  uint64_t without_id = 0;            // 2xx to a POST without an id (in unverifiable too)
  std::vector<std::string> lost_ids;  // the first few
  std::vector<std::string> mismatched_ids;
  std::string problem;  // why nothing could be checked, if so
};

struct DrillReport {
  std::string blueprint;  // file, or "built-in"
  std::string up_url;
  double duration_s = 0;
  double rate = 0;
  double slo_percent = 99.9;
  std::string faults_requested;
  int64_t started_wall_ms = 0;
  std::vector<FaultResult> faults;
  WriteCheck writes;
  std::vector<std::string> notices;
  bool interrupted = false;  // cut short (SIGINT/SIGTERM)
};

// Builds the JSON document (figures computed from `timeline`).
nlohmann::json ReportToJson(const DrillReport& report, const Timeline& timeline);
// Renders the page / the terminal table from that JSON.
std::string RenderHtml(const nlohmann::json& report);
std::string RenderTable(const nlohmann::json& report);
// Writes DIR/report.json and DIR/report.html (creating DIR). Returns "" or an error.
std::string WriteReportFiles(const std::string& dir, const nlohmann::json& report);

}  // namespace nines::drill
