// The report: JSON figures, pass/fail, and a self-contained HTML page with
// the SVG timeline and every fault marked.
#include "drill/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace nines::drill {
namespace {

Timeline SampleTimeline() {
  Timeline t(10);
  for (int ms = 0; ms < 10000; ms += 20) {
    bool failing = ms >= 3000 && ms < 3400;
    t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, failing ? 2'000'000 : 3000);
  }
  for (int ms = 6000; ms < 7000; ms += 5) t.Record(ms, Outcome::kSpikeRateLimited, 500);
  return t;
}

DrillReport SampleReport() {
  DrillReport r;
  r.blueprint = "built-in";
  r.duration_s = 10;
  r.rate = 50;
  r.slo_percent = 99;
  r.faults_requested = "leader,spike";
  FaultResult leader;
  leader.kind = FaultKind::kLeader;
  leader.target = "us-east-store";
  leader.start_ms = 3000;
  leader.end_ms = 4500;
  leader.window_end_ms = 6000;
  leader.detected_after_ms = 1200;
  leader.detected_by = "store leader changed to us-west-store";
  leader.detection_measured = true;
  leader.undone = true;
  FaultResult spike;
  spike.kind = FaultKind::kSpike;
  spike.start_ms = 6000;
  spike.end_ms = 7000;
  spike.window_end_ms = 10000;
  spike.undone = true;
  r.faults = {leader, spike};
  r.writes.acknowledged = 100;
  r.writes.verified = 100;
  return r;
}

TEST(Report, JsonFigures) {
  Timeline t = SampleTimeline();
  nlohmann::json j = ReportToJson(SampleReport(), t);
  EXPECT_EQ(j["availability"]["total"], 500u);
  EXPECT_EQ(j["availability"]["failed"], 20u);
  EXPECT_NEAR(j["availability"]["percent"].get<double>(), 96.0, 1e-9);
  EXPECT_EQ(j["spike"]["rate_limited"], 200u);
  EXPECT_EQ(j["faults"][0]["failures"], 20u);
  EXPECT_EQ(j["faults"][0]["full_service_after_ms"], 400);
  EXPECT_EQ(j["faults"][0]["detected_after_ms"], 1200);
  EXPECT_TRUE(j["faults"][1]["detected_after_ms"].is_null());
  EXPECT_EQ(j["faults"][1]["spike_rate_limited"], 200u);
  EXPECT_EQ(j["costliest_fault"], 0);
  EXPECT_EQ(j["seconds"].size(), 10u);
  EXPECT_FALSE(j["passed"].get<bool>());  // 96% < 99%
  EXPECT_EQ(j["fail_reasons"].size(), 1u);
}

// A gray fault's effect is latency, not failures: each fault's p99 over the
// seconds it was held, in the JSON and the table.
TEST(Report, FaultShowsItsHeldP99) {
  Timeline t(10);
  for (int ms = 0; ms < 10000; ms += 10) {
    bool slow = ms >= 3000 && ms < 6000;
    t.Record(ms, Outcome::kOk, slow ? 380'000 : 2000);
  }
  DrillReport r;
  r.duration_s = 10;
  r.slo_percent = 99;
  FaultResult f;
  f.kind = FaultKind::kSlow;
  f.target = "us-east-app-1";
  f.start_ms = 3000;
  f.end_ms = 6000;
  f.undone = true;
  r.faults = {f};
  nlohmann::json j = ReportToJson(r, t);
  // 380 ms in the top ~3 % bucket of the histogram.
  int64_t p99 = j["faults"][0]["held_p99_ms"].get<int64_t>();
  EXPECT_GE(p99, 380);
  EXPECT_LE(p99, 392);
  EXPECT_EQ(j["faults"][0]["failures"], 0u);
  EXPECT_LT(j["latency_ms"]["p50"].get<int64_t>(), 10);
  std::string table = RenderTable(j);
  EXPECT_NE(table.find("p99 held"), std::string::npos) << table;
  EXPECT_NE(table.find(std::to_string(p99) + " ms"), std::string::npos) << table;
}

TEST(Report, LostWriteFailsEvenAtFullAvailability) {
  Timeline t(3);
  for (int ms = 0; ms < 3000; ms += 10) t.Record(ms, Outcome::kOk, 1000);
  DrillReport r = SampleReport();
  r.faults.clear();
  r.writes.lost = 1;
  r.writes.lost_ids = {"abc"};
  nlohmann::json j = ReportToJson(r, t);
  EXPECT_TRUE(j["availability"]["perfect"].get<bool>());
  EXPECT_FALSE(j["passed"].get<bool>());
  r.writes.lost = 0;
  EXPECT_TRUE(ReportToJson(r, t)["passed"].get<bool>());
}

// A run that is clean for every request and write: passes.
Timeline CleanTimeline() {
  Timeline t(10);
  for (int ms = 0; ms < 10000; ms += 10) t.Record(ms, Outcome::kOk, 1000);
  return t;
}

DrillReport CleanReport() {
  DrillReport r = SampleReport();
  r.faults[0].detected_after_ms = 800;
  r.faults[1].detected_after_ms = 50;
  r.faults[1].detection_measured = true;
  return r;
}

bool Mentions(const nlohmann::json& j, const std::string& text) {
  for (const auto& reason : j["fail_reasons"]) {
    if (reason.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Report, CleanRunPasses) {
  nlohmann::json j = ReportToJson(CleanReport(), CleanTimeline());
  EXPECT_TRUE(j["passed"].get<bool>()) << j["fail_reasons"].dump();
}

// The verdict quotes the availability as the summary line does: rounded
// down (5,959 of 6,000 is 99.3166...%: "99.316%", never "99.317%").
TEST(Report, VerdictQuotesTheAvailabilityAsTheSummaryDoes) {
  Timeline t(6);
  for (int ms = 0; ms < 6000; ++ms) {
    t.Record(ms, ms < 41 ? Outcome::kFailed : Outcome::kOk, 1000);
  }
  DrillReport r = CleanReport();
  r.slo_percent = 99.9;
  nlohmann::json j = ReportToJson(r, t);
  EXPECT_TRUE(Mentions(j, "availability 99.316% is below the SLO 99.9%"))
      << j["fail_reasons"].dump();
}

TEST(Report, VerdictFailsOnASkippedFault) {
  DrillReport r = CleanReport();
  r.faults[0].skipped = true;
  r.faults[0].notice = "POST /api/nodes/us-east-store/kill: 409 not running";
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "skipped")) << j["fail_reasons"].dump();
  EXPECT_TRUE(Mentions(j, "409 not running")) << j["fail_reasons"].dump();
}

TEST(Report, VerdictFailsWhenEveryFaultWasSkipped) {
  DrillReport r = CleanReport();
  for (FaultResult& f : r.faults) f.skipped = true;
  EXPECT_FALSE(ReportToJson(r, CleanTimeline())["passed"].get<bool>());
}

TEST(Report, VerdictFailsOnAnUndetectedFault) {
  DrillReport r = CleanReport();
  r.faults[0].detected_after_ms = -1;
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "never detected")) << j["fail_reasons"].dump();
}

TEST(Report, VerdictFailsOnAFaultNotUndone) {
  DrillReport r = CleanReport();
  r.faults[0].undone = false;
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "not undone")) << j["fail_reasons"].dump();
}

// A crowd must be turned away fast (429/503), never left to time
// out, and nothing may restart under it; its figures are in the JSON and
// on a line of the table.
TEST(Report, CrowdFiguresAndVerdict) {
  DrillReport r = CleanReport();
  r.faults[0].kind = FaultKind::kCrowd;
  r.faults[0].crowd.offered_per_s = 40000;
  r.faults[0].crowd.capacity_per_s = 2000;
  r.faults[0].crowd.shed = 900;
  r.faults[0].crowd.rate_limited = 100;
  r.faults[0].crowd.lb_rss_peak_kb = 140 * 1024;
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_TRUE(j["passed"].get<bool>()) << j["fail_reasons"].dump();
  EXPECT_EQ(j["faults"][0]["crowd"]["shed_503"], 900);
  std::string table = RenderTable(j);
  EXPECT_NE(table.find("crowd: 40000/s offered (2000/s probed capacity)"), std::string::npos)
      << table;
  EXPECT_NE(table.find("140 MB peak"), std::string::npos) << table;
  r.faults[0].crowd.timeouts = 3;
  r.faults[0].crowd.restarts = 1;
  j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "3 of the crowd's requests timed out")) << j["fail_reasons"].dump();
  EXPECT_TRUE(Mentions(j, "1 process restart")) << j["fail_reasons"].dump();
}

TEST(Report, VerdictFailsOnAnInterruptedRun) {
  DrillReport r = CleanReport();
  r.interrupted = true;
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "interrupted")) << j["fail_reasons"].dump();
}

TEST(Report, VerdictFailsWhenMoreThanOnePercentOfWritesCouldNotBeChecked) {
  DrillReport r = CleanReport();
  r.writes = {};
  r.writes.acknowledged = 300;
  r.writes.unverifiable = 300;  // none verified: "0 lost" would say nothing
  nlohmann::json j = ReportToJson(r, CleanTimeline());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_TRUE(Mentions(j, "could not be checked")) << j["fail_reasons"].dump();
  r.writes.acknowledged = 1000;
  r.writes.verified = 990;
  r.writes.unverifiable = 10;  // 1%: allowed
  EXPECT_TRUE(ReportToJson(r, CleanTimeline())["passed"].get<bool>());
  r.writes.verified = 989;
  r.writes.unverifiable = 11;
  EXPECT_FALSE(ReportToJson(r, CleanTimeline())["passed"].get<bool>());
}

TEST(Report, TablePrintsNoticesAndTheReasons) {
  DrillReport r = CleanReport();
  r.notices = {"DNS: 3 of 90 lookups got no answer"};
  r.interrupted = true;
  std::string table = RenderTable(ReportToJson(r, CleanTimeline()));
  EXPECT_NE(table.find("DNS: 3 of 90 lookups got no answer"), std::string::npos) << table;
  EXPECT_NE(table.find("FAILED: "), std::string::npos) << table;
  EXPECT_EQ(table.find("PASSED"), std::string::npos) << table;
}

TEST(Report, TableShowsTheFirstNoticesAndCountsTheRest) {
  DrillReport r = CleanReport();
  for (int i = 0; i < 8; ++i) r.notices.push_back("client: note " + std::to_string(i));
  std::string table = RenderTable(ReportToJson(r, CleanTimeline()));
  EXPECT_NE(table.find("client: note 4"), std::string::npos) << table;
  EXPECT_EQ(table.find("client: note 5"), std::string::npos) << table;
  EXPECT_NE(table.find("and 3 more in report.json"), std::string::npos) << table;
}

TEST(Report, HtmlLostWritesCardSaysHowManyWereVerified) {
  DrillReport r = CleanReport();
  r.writes = {};
  r.writes.acknowledged = 300;
  r.writes.unverifiable = 300;
  std::string html = RenderHtml(ReportToJson(r, CleanTimeline()));
  EXPECT_NE(html.find("<b id=\"lost-writes\">0 of 0 verified</b>"), std::string::npos) << html;
  EXPECT_NE(html.find("300 could not be checked"), std::string::npos);
}

TEST(Report, TableMarksAFaultCountedOnlyAfterThePreviousOnesFailures) {
  // Failures 3000-3400 and on, without a gap, past the spike's injection at 6000.
  Timeline t(10);
  for (int ms = 0; ms < 10000; ms += 20) {
    bool failing = ms >= 3000 && ms < 6600;
    t.Record(ms, failing ? Outcome::kFailed : Outcome::kOk, 1000);
  }
  nlohmann::json j = ReportToJson(CleanReport(), t);
  EXPECT_EQ(j["faults"][1]["counted_from_ms"], 6600);
  EXPECT_TRUE(j["faults"][0]["full_service_beyond_window"].get<bool>());
  std::string table = RenderTable(j);
  EXPECT_NE(table.find("~ spike: counted from 6.6 s"), std::string::npos) << table;
}

TEST(Report, ASkippedFaultIsNeverTheCostliest) {
  // Failures at 3000-3400: the leader fault is skipped, so nothing is to blame.
  DrillReport r = SampleReport();
  r.faults[0].skipped = true;
  nlohmann::json j = ReportToJson(r, SampleTimeline());
  EXPECT_EQ(j["faults"][0]["failures"], 0u);
  EXPECT_EQ(j["faults"][0]["requests"], 0u);
  EXPECT_TRUE(j["costliest_fault"].is_null()) << j["costliest_fault"].dump();
  EXPECT_EQ(RenderTable(j).find("costliest fault"), std::string::npos);
}

TEST(Report, HtmlIsSelfContainedWithTimelineAndFaults) {
  Timeline t = SampleTimeline();
  DrillReport r = SampleReport();
  r.faults[0].target = "<script>";  // escaped, never markup
  std::string html = RenderHtml(ReportToJson(r, t));
  EXPECT_NE(html.find("<svg id=\"timeline\""), std::string::npos);
  EXPECT_NE(html.find("data-kind=\"leader\""), std::string::npos);
  EXPECT_NE(html.find("data-kind=\"spike\""), std::string::npos);
  EXPECT_NE(html.find("class=\"p99\""), std::string::npos);
  EXPECT_NE(html.find("<table id=\"faults\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  // No external resources.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(Report, TableNamesTheCostliestFault) {
  Timeline t = SampleTimeline();
  std::string table = RenderTable(ReportToJson(SampleReport(), t));
  EXPECT_NE(table.find("leader"), std::string::npos);
  EXPECT_NE(table.find("costliest fault: leader"), std::string::npos);
  EXPECT_NE(table.find("FAILED: availability"), std::string::npos);
}

TEST(Report, WritesBothFiles) {
  std::string dir = (std::filesystem::temp_directory_path() / "nines_drill_report_test").string();
  std::filesystem::remove_all(dir);
  Timeline t = SampleTimeline();
  nlohmann::json j = ReportToJson(SampleReport(), t);
  ASSERT_EQ(WriteReportFiles(dir + "/sub", j), "");
  std::ifstream in(dir + "/sub/report.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(nlohmann::json::parse(text.str())["faults"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/sub/report.html"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nines::drill
