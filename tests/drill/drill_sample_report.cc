// Writes a drill report from a synthetic run (a leader kill with a burst of
// failures, a spike answered with 429) into the directory given, for the
// browser test: the page must render without a live blueprint.
#include <cstdio>

#include "drill/report.h"

using namespace nines::drill;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: drill_sample_report DIR\n");
    return 2;
  }
  Timeline t(30);
  for (int ms = 0; ms < 30000; ms += 20) {
    bool failing = ms >= 9000 && ms < 10400;
    int64_t latency = failing ? 3'000'000 : 2000 + (ms % 700) * 10;
    if (ms >= 10400 && ms < 12000) latency = 400'000;
    t.Record(ms, failing && ms % 60 == 0 ? Outcome::kFailed : Outcome::kOk, latency);
  }
  for (int ms = 20000; ms < 24000; ms += 2) {
    t.Record(ms, ms % 20 == 0 ? Outcome::kSpikeOk : Outcome::kSpikeRateLimited, 500);
  }
  DrillReport r;
  r.blueprint = "built-in (sample)";
  r.duration_s = 30;
  r.rate = 50;
  r.slo_percent = 99;
  r.faults_requested = "app,leader,spike";
  FaultResult app;
  app.kind = FaultKind::kApp;
  app.target = "us-east-app-1";
  app.start_ms = 3000;
  app.end_ms = 6000;
  app.window_end_ms = 9000;
  app.detected_after_ms = 1900;
  app.detected_by = "lb marked the app server down";
  app.detection_measured = true;
  app.undone = true;
  FaultResult leader = app;
  leader.kind = FaultKind::kLeader;
  leader.target = "us-east-store";
  leader.start_ms = 9000;
  leader.end_ms = 14000;
  leader.window_end_ms = 20000;
  leader.detected_after_ms = 1300;
  leader.detected_by = "store elected a new leader";
  FaultResult spike;
  spike.kind = FaultKind::kSpike;
  spike.target = "us-east";
  spike.start_ms = 20000;
  spike.end_ms = 24000;
  spike.window_end_ms = 30000;
  spike.detected_after_ms = 30;
  spike.detected_by = "lb answered the spiking client 429";
  spike.detection_measured = true;
  spike.undone = true;
  r.faults = {app, leader, spike};
  r.writes.acknowledged = 750;
  r.writes.verified = 750;
  std::string err = WriteReportFiles(argv[1], ReportToJson(r, t));
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  return 0;
}
