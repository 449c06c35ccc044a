// Prometheus text rendering and histogram bookkeeping.
#include "base/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nines {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<int64_t>(value * 1e6), std::memory_order_relaxed);
}

double Histogram::Sum() const {
  return sum_micro_.load(std::memory_order_relaxed) / 1e6;
}

double Histogram::Quantile(double q) const {
  uint64_t total = Count();
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    uint64_t in_bucket = BucketCount(i);
    if (in_bucket > 0 && static_cast<double>(seen + in_bucket) >= rank) {
      double lower = i == 0 ? 0 : bounds_[i - 1];
      double upper = i < bounds_.size() ? bounds_[i] : bounds_.back();
      double fraction = (rank - static_cast<double>(seen)) / static_cast<double>(in_bucket);
      return lower + (upper - lower) * std::clamp(fraction, 0.0, 1.0);
    }
    seen += in_bucket;
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

// Labels text with one more pair appended (for histogram "le").
std::string WithLabel(const std::string& label_text, std::string_view key, std::string_view value) {
  std::string extra = fmt::format("{}=\"{}\"", key, value);
  if (label_text.empty()) return "{" + extra + "}";
  return label_text.substr(0, label_text.size() - 1) + "," + extra + "}";
}

}  // namespace

std::string FormatLabels(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += fmt::format("{}=\"{}\"", labels[i].first, Escape(labels[i].second));
  }
  out += '}';
  return out;
}

MetricsRegistry::Series* MetricsRegistry::FindOrAdd(std::string_view name, std::string_view help,
                                                    Kind kind, const Labels& labels,
                                                    bool* created) {
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f->name == name) family = f.get();
  }
  if (!family) {
    families_.push_back(
        std::make_unique<Family>(Family{std::string(name), std::string(help), kind, {}}));
    family = families_.back().get();
  }
  std::string label_text = FormatLabels(labels);
  for (auto& s : family->series) {
    if (s->label_text == label_text) {
      *created = false;
      return s.get();
    }
  }
  auto series = std::make_unique<Series>();
  series->labels = labels;
  series->label_text = label_text;
  family->series.push_back(std::move(series));
  *created = true;
  return family->series.back().get();
}

Counter* MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  bool created;
  Series* s = FindOrAdd(name, help, Kind::kCounter, labels, &created);
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return s->counter.get();
}

Gauge* MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  std::lock_guard lock(mu_);
  bool created;
  Series* s = FindOrAdd(name, help, Kind::kGauge, labels, &created);
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return s->gauge.get();
}

Histogram* MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  bool created;
  Series* s = FindOrAdd(name, help, Kind::kHistogram, labels, &created);
  if (!s->histogram) s->histogram = std::make_unique<Histogram>(std::move(bounds));
  return s->histogram.get();
}

void MetricsRegistry::AddGaugeCallback(std::string_view name, std::string_view help,
                                       const Labels& labels, std::function<double()> value) {
  std::lock_guard lock(mu_);
  bool created;
  Series* s = FindOrAdd(name, help, Kind::kGauge, labels, &created);
  s->callback = std::move(value);
}

void MetricsRegistry::AddCounterCallback(std::string_view name, std::string_view help,
                                         const Labels& labels, std::function<double()> value) {
  std::lock_guard lock(mu_);
  bool created;
  Series* s = FindOrAdd(name, help, Kind::kCounter, labels, &created);
  s->callback = std::move(value);
}

void MetricsRegistry::RemoveSeries(std::string_view name, std::string_view key,
                                   std::string_view value) {
  std::lock_guard lock(mu_);
  for (auto& f : families_) {
    if (f->name != name) continue;
    auto matches = [&](const std::unique_ptr<Series>& s) {
      for (const auto& [k, v] : s->labels) {
        if (k == key && v == value) return true;
      }
      return false;
    };
    for (auto& s : f->series) {
      if (matches(s)) {
        s->callback = nullptr;  // it may capture state that is going away
        retired_.push_back(std::move(s));
      }
    }
    std::erase_if(f->series, [](const std::unique_ptr<Series>& s) { return s == nullptr; });
  }
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    const char* type = f->kind == Kind::kCounter ? "counter"
                       : f->kind == Kind::kGauge ? "gauge"
                                                 : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f->name, f->help, f->name, type);
    for (const auto& s : f->series) {
      if (s->callback) {
        out += fmt::format("{}{} {}\n", f->name, s->label_text, FormatNumber(s->callback()));
      } else if (s->counter) {
        out += fmt::format("{}{} {}\n", f->name, s->label_text, s->counter->Value());
      } else if (s->gauge) {
        out += fmt::format("{}{} {}\n", f->name, s->label_text, s->gauge->Value());
      } else if (s->histogram) {
        const Histogram& h = *s->histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          cumulative += h.BucketCount(i);
          out +=
              fmt::format("{}_bucket{} {}\n", f->name,
                          WithLabel(s->label_text, "le", FormatNumber(h.bounds()[i])), cumulative);
        }
        cumulative += h.BucketCount(h.bounds().size());
        out += fmt::format("{}_bucket{} {}\n", f->name, WithLabel(s->label_text, "le", "+Inf"),
                           cumulative);
        out += fmt::format("{}_sum{} {}\n", f->name, s->label_text, FormatNumber(h.Sum()));
        out += fmt::format("{}_count{} {}\n", f->name, s->label_text, cumulative);
      }
    }
  }
  return out;
}

}  // namespace nines
