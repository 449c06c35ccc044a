// `nines drill`: the command line (CLI11) in front of RunDrill.
#include "drill/drill_command.h"

#include "base/command_line.h"
#include "drill/driver.h"
#include "drill/fault_schedule.h"

namespace nines {

int RunDrillCommand(const std::vector<std::string>& args) {
  CommandLine line(
      "drill",
      "nines drill: drive open-loop load through the blueprint (DNS -> lb -> app -> store)\n"
      "while killing, freezing and cutting off its parts; report availability in nines,\n"
      "per-fault cost and lost writes. Exit status 1 when availability < --slo or a write\n"
      "was lost.");
  CLI::App& app = line.cli();
  drill::DrillOptions o;
  app.add_option("blueprint", o.blueprint, "blueprint.toml (default: the built-in blueprint)");
  app.add_option("--duration", o.duration_s, "seconds of load (default 60)")
      ->check(CLI::Range(5.0, 3600.0));
  app.add_option("--rate", o.rate, "requests per second, open loop (default 50)")
      ->check(CLI::Range(1.0, 20000.0));
  app.add_option(
      "--faults", o.faults,
      "comma-separated: app,lb,leader,freeze,partition,region,spike,crowd,slow,disk-full,"
      "slow-disk,clock or all; "
      "'' for none (default all)");
  app.add_option("--slo", o.slo_percent, "availability objective in percent (default 99.9)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--report", o.report_dir, "directory for report.json and report.html");
  app.add_option("--up", o.up_url,
                 "URL of a running `nines up` API (default: start one under REPORT/run)");
  app.add_option("--admin-token-file", o.admin_token_file,
                 "the API's admin token (default: the started one's RUN/conf/admin.token; with "
                 "--up, $NINES_ADMIN_TOKEN or RUN/conf/admin.token of that nines up)");
  app.add_option(
      "--zone", o.zone,
      "the service name clients resolve (default: the zone /api/state names, else shop.test.)");
  app.add_option("--users", o.users_per_region, "simulated users per region (1..100, default 20)")
      ->check(CLI::Range(1, 100));
  app.add_option("--startup-timeout", o.startup_timeout_s,
                 "seconds to wait for the blueprint to be ready (default 120)");
  app.add_flag("--reresolve-on-failure", o.reresolve_on_failure,
               "after a failed connection, look the name up again before its TTL runs out "
               "(what browsers do); default: keep the answer for its TTL and try its other "
               "addresses, as a stub resolver does");
  app.add_option("--crowd-multiple", o.crowd_multiple,
                 "the crowd fault's rate as a multiple of the capacity probed just before it "
                 "(default 20)")
      ->check(CLI::Range(0.1, 1000.0));
  app.add_option("--crowd-rate", o.crowd_rate,
                 "the crowd fault's rate in requests/s (overrides --crowd-multiple)")
      ->check(CLI::Range(0.0, 1000000.0));
  app.add_flag("--capacity", o.capacity,
               "run no faults: find the highest rate sustained at the latency objective, for "
               "the whole blueprint and per region, and whether the survivors of any one "
               "region's loss carry the load (--rate, if given); uses a `nines up` already "
               "answering at the dashboard address");
  app.add_option("--latency-objective-ms", o.latency_objective_ms,
                 "--capacity: the p99 a sustained rate must keep (default 250)")
      ->check(CLI::Range(1.0, 60000.0));
  app.add_option("--capacity-step", o.capacity_step_s,
                 "--capacity: seconds of load per rate tried (default 3)")
      ->check(CLI::Range(1.0, 60.0));
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  o.rate_given = app.count("--rate") > 0;
  std::vector<drill::FaultKind> faults;
  if (Status s = drill::ParseFaultList(o.faults, &faults); !s.ok()) {
    return line.UsageError("--faults: " + s.message());
  }
  return drill::RunDrill(o);
}

}  // namespace nines
