// The drill run: bring the blueprint up (or use a running one), wait until
// it is ready, run the load and the fault schedule, read every acknowledged
// order back, write the report, and say whether the SLO held.
#pragma once

#include <string>

namespace nines::drill {

struct DrillOptions {
  std::string blueprint;  // "" = built-in
  double duration_s = 60;
  double rate = 50;
  std::string faults = "app,lb,leader,freeze,partition,region,spike";
  double slo_percent = 99.9;
  std::string report_dir = "drill-report";
  std::string up_url;  // "" = start `nines up` as a child
  // The API's admin token for the fault actions: a file (default: the
  // child's RUN/conf/admin.token; with --up, NINES_ADMIN_TOKEN or this file).
  std::string admin_token_file;
  std::string zone;  // "" = what /api/state says, else shop.test.
  int users_per_region = 20;
  int startup_timeout_s = 120;
  // Clients look the name up again after a failed connection instead of
  // keeping the answer for its TTL (LoadOptions::reresolve_on_failure).
  bool reresolve_on_failure = false;
  // The crowd fault: this multiple of the probed capacity, or this rate.
  double crowd_multiple = 20;
  double crowd_rate = 0;
  // --capacity: no faults; find the highest rate sustained at the latency
  // objective, whole and per region, and the N+1 verdict (drill/capacity.h).
  bool capacity = false;
  double latency_objective_ms = 250;
  double capacity_step_s = 3;
  bool rate_given = false;  // --rate was on the command line: the load N+1 is judged at
};

// Returns the exit status: 0 passed, 1 SLO missed / write lost / runtime failure.
int RunDrill(const DrillOptions& options);

}  // namespace nines::drill
