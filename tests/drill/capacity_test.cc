// Capacity and N+1, the pure part: steps judged from real timelines, the
// search's ramp and bisection fed with those steps, the N+1 verdict and the
// figures' JSON and text.
#include "drill/capacity.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nines::drill {
namespace {

// A one-second timeline of `ok` 2xx answers at `latency_ms` and `failed`
// failures (each at the same latency).
Timeline StepTimeline(uint64_t ok, uint64_t failed, int64_t latency_ms) {
  Timeline t(1);
  for (uint64_t i = 0; i < ok; ++i) t.Record(0, Outcome::kOk, latency_ms * 1000);
  for (uint64_t i = 0; i < failed; ++i) t.Record(0, Outcome::kFailed, latency_ms * 1000);
  return t;
}

// A service that sustains `capacity` requests/s: below it every answer is
// fast and 2xx; above it the p99 is a second.
CapacityStep Serve(double rate, double capacity, const CapacityCriteria& c = {}) {
  auto n = static_cast<uint64_t>(rate);
  return StepFromTimeline(rate, n,
                          rate <= capacity ? StepTimeline(n, 0, 20) : StepTimeline(n, 0, 1000), c);
}

TEST(CapacityStep, SustainedWithinTheLatencyObjectiveAndErrorShare) {
  CapacityStep s = StepFromTimeline(1000, 1000, StepTimeline(1000, 0, 200), {});
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.ok, 1000u);
  EXPECT_TRUE(s.sustained);
  EXPECT_NEAR(s.p99_ms, 200, 200 * 0.04);  // the histogram keeps ~3%
}

TEST(CapacityStep, SlowP99IsNotSustained) {
  // 2% of the answers at 400 ms: the p99 is 400 ms.
  Timeline t(1);
  for (int i = 0; i < 980; ++i) t.Record(0, Outcome::kOk, 10'000);
  for (int i = 0; i < 20; ++i) t.Record(0, Outcome::kOk, 400'000);
  CapacityStep s = StepFromTimeline(1000, 1000, t, {});
  EXPECT_GT(s.p99_ms, 250);
  EXPECT_FALSE(s.sustained);
  CapacityCriteria lenient;
  lenient.latency_objective_ms = 500;
  EXPECT_TRUE(StepFromTimeline(1000, 1000, t, lenient).sustained);
}

TEST(CapacityStep, FailuresAbovePointOnePercentAreNotSustained) {
  EXPECT_TRUE(StepFromTimeline(1000, 1000, StepTimeline(999, 1, 10), {}).sustained);
  CapacityStep s = StepFromTimeline(1000, 1000, StepTimeline(998, 2, 10), {});
  EXPECT_EQ(s.not_ok, 2u);
  EXPECT_FALSE(s.sustained);
}

TEST(CapacityStep, RateLimitedAndUnsentRequestsCountAsNotOk) {
  Timeline t(1);
  for (int i = 0; i < 100; ++i) t.Record(0, Outcome::kOk, 1000);
  t.Record(0, Outcome::kRateLimited, 1000);
  t.Record(0, Outcome::kRefusedByClient, 0);
  CapacityStep s = StepFromTimeline(102, 102, t, {});
  EXPECT_EQ(s.requests, 102u);
  EXPECT_EQ(s.not_ok, 2u);
  EXPECT_FALSE(s.sustained);
}

TEST(CapacityStep, NoRequestsIsNotSustained) {
  EXPECT_FALSE(StepFromTimeline(10, 0, Timeline(1), {}).sustained);
}

TEST(CapacityStep, RequestsWithNoOutcomeCountAsNotOk) {
  // 1,000 were due; 990 fast answers recorded, 10 never finished.
  CapacityStep s = StepFromTimeline(1000, 1000, StepTimeline(990, 0, 10), {});
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.unfinished, 10u);
  EXPECT_EQ(s.not_ok, 10u);
  EXPECT_FALSE(s.sustained);
}

TEST(CapacitySearch, RampsUpThenBisectsToTheResolution) {
  CapacitySearch search(100, 20000);
  std::vector<double> rates;
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) {
    rates.push_back(r);
    search.Record(Serve(r, 1000));
  }
  // 100, 200, 400, 800 sustained; 1600 not; then between 800 and 1600.
  ASSERT_GE(rates.size(), 6u);
  EXPECT_EQ(rates[0], 100);
  EXPECT_EQ(rates[4], 1600);
  EXPECT_EQ(rates[5], 1200);
  EXPECT_LE(search.capacity(), 1000);
  EXPECT_GE(search.capacity(), 1000 / 1.1);
  EXPECT_LE(search.lowest_unsustained(), search.capacity() * 1.1);
  EXPECT_FALSE(search.capped());
  // The lowest unsustained rate was run twice, the second time last.
  EXPECT_EQ(rates.back(), search.lowest_unsustained());
  EXPECT_EQ(std::count(rates.begin(), rates.end(), rates.back()), 2);
}

TEST(CapacitySearch, AFailureLeftOverFromAnOverloadIsRunAgain) {
  // The service holds 1,000/s, but its first step at 800 fails on what the
  // 1,600 step before it left behind.
  CapacitySearch search(1600, 20000);
  bool hangover = true;
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) {
    bool fails_once = r == 800 && hangover;
    if (fails_once) hangover = false;
    search.Record(Serve(r, fails_once ? 0 : 1000));
  }
  EXPECT_GE(search.capacity(), 1000 / 1.1);
  EXPECT_LE(search.capacity(), 1000);
}

TEST(CapacitySearch, RampsDownFromAGuessTooHigh) {
  CapacitySearch search(4000, 20000);
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) search.Record(Serve(r, 700));
  EXPECT_EQ(search.steps()[0].rate, 4000);
  EXPECT_EQ(search.steps()[1].rate, 2000);
  EXPECT_LE(search.capacity(), 700);
  EXPECT_GE(search.capacity(), 700 / 1.1);
}

TEST(CapacitySearch, StopsAtTheCeilingAndSaysSo) {
  CapacitySearch search(1000, 3000);
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) search.Record(Serve(r, 1e9));
  EXPECT_EQ(search.capacity(), 3000);
  EXPECT_TRUE(search.capped());
  EXPECT_EQ(search.steps().size(), 3u);  // 1000, 2000, 3000
}

TEST(CapacitySearch, NothingSustainedEndsBelowOnePerSecond) {
  CapacitySearch search(8, 20000);
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) search.Record(Serve(r, 0));
  EXPECT_EQ(search.capacity(), 0);
  EXPECT_EQ(search.steps().back().rate, 1);
}

TEST(CapacitySearch, BoundedByMaxSteps) {
  CapacitySearch search(1, 1e9, 0.1, 4);
  for (double r = search.NextRate(); r > 0; r = search.NextRate()) search.Record(Serve(r, 1e9));
  EXPECT_EQ(search.steps().size(), 4u);
  EXPECT_EQ(search.capacity(), 8);
}

TEST(CapacitySearch, ANoisyStepAboveTheBracketReopensIt) {
  CapacitySearch search(1000, 20000);
  search.Record(Serve(1000, 500));   // not sustained
  search.Record(Serve(500, 500));    // sustained
  search.Record(Serve(750, 10000));  // sustained (noise: 750 holds after all)
  EXPECT_EQ(search.capacity(), 750);
  search.Record(Serve(1000, 10000));  // and now 1000 holds too
  EXPECT_EQ(search.lowest_unsustained(), 0);
  EXPECT_EQ(search.NextRate(), 2000);
}

CapacityFigures ThreeRegions(double a, double b, double c, double whole) {
  CapacityFigures f;
  f.whole_per_s = whole;
  f.regions = {{"us-east", a}, {"us-west", b}, {"eu-west", c}};
  return f;
}

TEST(NPlusOne, TheWorstLossIsTheStrongestRegion) {
  NPlusOne n = WorstRegionLoss(ThreeRegions(2000, 1000, 1500, 4000));
  ASSERT_TRUE(n.known);
  EXPECT_EQ(n.worst_region, "us-east");
  EXPECT_EQ(n.survivors_per_s, 2500);
  EXPECT_TRUE(SurvivorsCarry(n, 2500));
  EXPECT_FALSE(SurvivorsCarry(n, 2501));
}

TEST(NPlusOne, SurvivorsAreCappedByTheWhole) {
  // The regions share the store: two of them cannot carry more than the whole.
  NPlusOne n = WorstRegionLoss(ThreeRegions(2000, 2000, 2000, 2500));
  EXPECT_EQ(n.survivors_per_s, 2500);
  EXPECT_EQ(n.worst_region, "us-east");  // a tie: the first
}

TEST(NPlusOne, ATieAtTheCapNamesTheStrongestRegion) {
  // Every loss leaves at least the whole's 79; losing us-west leaves the least before the cap.
  NPlusOne n = WorstRegionLoss(ThreeRegions(120, 300, 25, 79));
  EXPECT_EQ(n.survivors_per_s, 79);
  EXPECT_EQ(n.worst_region, "us-west");
}

TEST(NPlusOne, UnknownWithFewerThanTwoRegions) {
  CapacityFigures f;
  f.whole_per_s = 1000;
  f.regions = {{"only", 1000}};
  NPlusOne n = WorstRegionLoss(f);
  EXPECT_FALSE(n.known);
  EXPECT_FALSE(SurvivorsCarry(n, 1));
}

TEST(CapacityJson, RoundTrips) {
  CapacityFigures f = ThreeRegions(1980, 1100, 1500, 2600);
  f.criteria.latency_objective_ms = 100;
  f.measured_wall_ms = 1'765'000'000'000;
  f.capped = true;
  nlohmann::json j = CapacityToJson(f);
  EXPECT_EQ(j["worst_region"], "us-east");
  EXPECT_EQ(j["survivors_per_s"], 2600);
  CapacityFigures back;
  Status s = CapacityFromJson(j, &back);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(back.whole_per_s, 2600);
  ASSERT_EQ(back.regions.size(), 3u);
  EXPECT_EQ(back.regions[1].name, "us-west");
  EXPECT_EQ(back.regions[1].per_s, 1100);
  EXPECT_EQ(back.criteria.latency_objective_ms, 100);
  EXPECT_EQ(back.measured_wall_ms, 1'765'000'000'000);
  EXPECT_TRUE(back.capped);
}

TEST(CapacityJson, RejectsMalformedFigures) {
  CapacityFigures f;
  EXPECT_FALSE(CapacityFromJson(nlohmann::json::array(), &f).ok());
  EXPECT_FALSE(
      CapacityFromJson({{"whole_per_s", -1}, {"regions", nlohmann::json::array()}}, &f).ok());
  EXPECT_FALSE(CapacityFromJson({{"whole_per_s", 10}}, &f).ok());
  Status s =
      CapacityFromJson({{"whole_per_s", 10}, {"regions", {{{"name", 3}, {"per_s", 1}}}}}, &f);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("name"), std::string::npos);
}

TEST(CapacityText, VerdictAtTheGivenRateNamesTheWorstRegion) {
  CapacityFigures f = ThreeRegions(2000, 1000, 1500, 4000);
  std::string pass = RenderCapacity(f, 2000);
  EXPECT_NE(pass.find("us-east"), std::string::npos);
  EXPECT_NE(pass.find("N+1 verdict at 2000 requests/s (--rate): PASS"), std::string::npos);
  std::string fail = RenderCapacity(f, 3000);
  EXPECT_NE(fail.find("FAIL: losing us-east would overload the rest"), std::string::npos);
  std::string unjudged = RenderCapacity(f, std::nullopt);
  EXPECT_NE(unjudged.find("holds for loads up to 2500 requests/s (62% of the whole's capacity)"),
            std::string::npos)
      << unjudged;
}

}  // namespace
}  // namespace nines::drill
