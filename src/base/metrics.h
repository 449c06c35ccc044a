// Metrics registry rendered in the Prometheus text exposition format.
// Metrics are registered once (with their labels) and the returned pointers
// are kept by the hot path, which then only does relaxed atomic adds.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nines {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative histogram with fixed upper bounds (in the unit observed).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const;
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t BucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  // Estimated quantile (0..1) by linear interpolation inside the bucket.
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, bounds_.size()+1
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_micro_{0};  // sum in millionths of the unit
};

// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> LatencyBuckets();

// Renders `labels` pairs as {k="v",...} with Prometheus escaping.
std::string FormatLabels(const std::vector<std::pair<std::string, std::string>>& labels);

class MetricsRegistry {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Same name and labels return the same metric.
  Counter* GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge* GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram* GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> bounds = LatencyBuckets());
  // A gauge whose value is computed at render time.
  void AddGaugeCallback(std::string_view name, std::string_view help, const Labels& labels,
                        std::function<double()> value);
  // A counter whose value is read at render time (from a component's own tally).
  void AddCounterCallback(std::string_view name, std::string_view help, const Labels& labels,
                          std::function<double()> value);
  // Stops rendering every series of `name` whose labels contain key=value (a
  // removed server). The metric objects stay alive: code that still holds
  // their pointers (requests in flight to that server) may keep counting.
  void RemoveSeries(std::string_view name, std::string_view key, std::string_view value);

  std::string RenderPrometheus() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::string label_text;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    std::string name;
    std::string help;
    Kind kind;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series* FindOrAdd(std::string_view name, std::string_view help, Kind kind, const Labels& labels,
                    bool* created);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<Series>> retired_;
};

}  // namespace nines
