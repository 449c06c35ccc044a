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
  FaultResult spike;
  spike.kind = FaultKind::kSpike;
  spike.start_ms = 6000;
  spike.end_ms = 7000;
  spike.window_end_ms = 10000;
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
