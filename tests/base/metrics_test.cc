// Metrics registry: Prometheus text format, label escaping, histograms.
#include "base/metrics.h"

#include <gtest/gtest.h>

namespace nines {
namespace {

TEST(MetricsTest, CounterRendersWithLabels) {
  MetricsRegistry r;
  Counter* c = r.GetCounter("nines_requests_total", "Requests.", {{"server", "a\"1"}});
  c->Add(3);
  EXPECT_EQ(r.GetCounter("nines_requests_total", "Requests.", {{"server", "a\"1"}}), c);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE nines_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("nines_requests_total{server=\"a\\\"1\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, HistogramIsCumulative) {
  MetricsRegistry r;
  Histogram* h = r.GetHistogram("lat", "Latency.", {}, {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("lat_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_count 3\n"), std::string::npos);
  EXPECT_NEAR(h->Quantile(0.5), 0.55, 0.5);
}

TEST(MetricsTest, RemoveSeries) {
  MetricsRegistry r;
  r.GetGauge("up", "Up.", {{"server", "a"}})->Set(1);
  r.GetGauge("up", "Up.", {{"server", "b"}})->Set(0);
  r.RemoveSeries("up", "server", "a");
  std::string text = r.RenderPrometheus();
  EXPECT_EQ(text.find("server=\"a\""), std::string::npos);
  EXPECT_NE(text.find("up{server=\"b\"} 0"), std::string::npos);
}

TEST(MetricsTest, GaugeCallback) {
  MetricsRegistry r;
  r.AddGaugeCallback("queue", "Q.", {}, [] { return 7.0; });
  EXPECT_NE(r.RenderPrometheus().find("queue 7\n"), std::string::npos);
}

}  // namespace
}  // namespace nines
