// Report rendering: JSON, the self-contained HTML page with its SVG
// timeline, and the terminal table.
#include "drill/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "drill/availability.h"

namespace nines::drill {

namespace {

constexpr double kMaxUncheckedShare = 0.01;

double Ms(int64_t micros) {
  return static_cast<double>(micros) / 1000.0;
}

}  // namespace

nlohmann::json ReportToJson(const DrillReport& report, const Timeline& timeline) {
  using nlohmann::json;
  Totals t = timeline.totals();
  Availability a = ComputeAvailability(t.ok, t.regular());
  LatencyHistogram all = timeline.TotalLatency();
  json j;
  j["version"] = 1;
  j["blueprint"] = report.blueprint;
  j["up_url"] = report.up_url;
  j["started_wall_ms"] = report.started_wall_ms;
  j["duration_s"] = report.duration_s;
  j["rate"] = report.rate;
  j["slo_percent"] = report.slo_percent;
  j["faults_requested"] = report.faults_requested;
  j["availability"] = {{"percent", a.percent},
                       {"nines", a.perfect ? json(nullptr) : json(a.nines)},
                       {"nines_at_least", a.nines},
                       {"perfect", a.perfect},
                       {"text", a.Text()},
                       {"ok", t.ok},
                       {"failed", t.failed},
                       {"rate_limited", t.rate_limited},
                       {"refused_by_client", t.refused_by_client},
                       {"total", t.regular()}};
  j["latency_ms"] = {{"p50", Ms(all.Percentile(50))},
                     {"p99", Ms(all.Percentile(99))},
                     {"p999", Ms(all.Percentile(99.9))},
                     {"max", Ms(all.max())}};
  j["spike"] = {{"sent", t.spike()},
                {"ok", t.spike_ok},
                {"rate_limited", t.spike_rate_limited},
                {"failed", t.spike_failed}};
  j["writes"] = {{"acknowledged", report.writes.acknowledged},
                 {"verified", report.writes.verified},
                 {"lost", report.writes.lost},
                 {"unverifiable", report.writes.unverifiable},
                 {"mismatched", report.writes.mismatched},
                 {"without_id", report.writes.without_id},
                 {"problem", report.writes.problem},
                 {"lost_ids", report.writes.lost_ids},
                 {"mismatched_ids", report.writes.mismatched_ids}};
  json faults = json::array();
  int worst = -1;
  uint64_t worst_failures = 0;
  std::vector<FaultResult> figures = report.faults;
  ComputeFaultFigures(timeline, &figures, static_cast<int64_t>(report.duration_s * 1000));
  for (size_t i = 0; i < figures.size(); ++i) {
    const FaultResult& f = figures[i];
    json jf = {
        {"kind", FaultName(f.kind)},
        {"target", f.target},
        {"skipped", f.skipped},
        {"notice", f.notice},
        {"start_ms", f.start_ms},
        {"end_ms", f.end_ms},
        {"window_end_ms", f.window_end_ms},
        {"requests", f.requests},
        {"failures", f.failures},
        {"failures_held", f.failures_held},
        {"detected_after_ms", f.detected_after_ms < 0 ? json(nullptr) : json(f.detected_after_ms)},
        {"detected_by", f.detected_by},
        {"full_service_after_ms", f.full_service_after_ms},
        {"full_service_beyond_window", f.full_service_beyond_window},
        {"charged_until_ms", f.charged_until_ms},
        {"counted_from_ms", f.counted_from_ms},
        {"held_p99_ms", f.held_p99_ms < 0 ? json(nullptr) : json(f.held_p99_ms)},
        {"detection_measured", f.detection_measured},
        {"undone", f.undone}};
    if (f.kind == FaultKind::kSpike) {
      jf["spike_sent"] = f.spike_sent;
      jf["spike_rate_limited"] = f.spike_rate_limited;
    }
    if (f.kind == FaultKind::kCrowd) {
      const CrowdFigures& c = f.crowd;
      jf["crowd"] = {{"capacity_per_s", c.capacity_per_s},
                     {"offered_per_s", c.offered_per_s},
                     {"users", c.users},
                     {"intended", c.intended},
                     {"ok", c.ok},
                     {"rate_limited", c.rate_limited},
                     {"shed_503", c.shed},
                     {"timeouts", c.timeouts},
                     {"no_response", c.no_response},
                     {"other_failed", c.other_failed},
                     {"not_sent", c.not_sent},
                     {"p50_ms", c.p50_ms},
                     {"p99_ms", c.p99_ms},
                     {"regular_p99_ms", c.regular_p99_ms},
                     {"lb_rss_before_kb", c.lb_rss_before_kb},
                     {"lb_rss_peak_kb", c.lb_rss_peak_kb},
                     {"lb_rss_after_kb", c.lb_rss_after_kb},
                     {"restarts", c.restarts}};
    }
    if (!f.skipped && f.failures > worst_failures) {
      worst_failures = f.failures;
      worst = static_cast<int>(i);
    }
    faults.push_back(jf);
  }
  j["faults"] = faults;
  j["costliest_fault"] = worst < 0 ? json(nullptr) : json(worst);
  json seconds = json::array();
  for (int s = 0; s < timeline.seconds(); ++s) {
    const SecondStats& st = timeline.second(s);
    seconds.push_back({{"t", s},
                       {"ok", st.ok},
                       {"failed", st.failed},
                       {"rate_limited", st.rate_limited},
                       {"spike_ok", st.spike_ok},
                       {"spike_rate_limited", st.spike_rate_limited},
                       {"p50_ms", Ms(st.latency.Percentile(50))},
                       {"p99_ms", Ms(st.latency.Percentile(99))}});
  }
  j["seconds"] = seconds;
  j["notices"] = report.notices;
  std::vector<std::string> reasons;
  if (t.regular() == 0) reasons.push_back("no request was made");
  if (t.regular() > 0 && a.percent < report.slo_percent) {
    reasons.push_back(
        fmt::format("availability {} is below the SLO {}%", a.PercentText(), report.slo_percent));
  }
  if (report.writes.lost > 0) {
    reasons.push_back(fmt::format("{} acknowledged write(s) lost", report.writes.lost));
  }
  if (report.writes.mismatched > 0) {
    reasons.push_back(fmt::format("{} acknowledged write(s) read back with another body",
                                  report.writes.mismatched));
  }
  if (!report.writes.problem.empty()) reasons.push_back("writes: " + report.writes.problem);
  // A check that did not happen is not a pass: more than kMaxUncheckedShare
  // of the writes unread fails the run.
  const WriteCheck& w = report.writes;
  if (w.unverifiable > 0 &&
      static_cast<double>(w.unverifiable) >
          kMaxUncheckedShare * static_cast<double>(std::max<uint64_t>(w.acknowledged, 1))) {
    reasons.push_back(fmt::format(
        "{} of {} acknowledged write(s) could not be checked (more than {:g}%): lost writes "
        "unknown",
        w.unverifiable, w.acknowledged, kMaxUncheckedShare * 100));
  }
  for (const FaultResult& f : figures) {
    std::string label = std::string(FaultName(f.kind)) + (f.target.empty() ? "" : " " + f.target);
    if (f.skipped) {
      reasons.push_back(fmt::format("fault {} skipped: {}", label,
                                    f.notice.empty() ? "no reason given" : f.notice));
      continue;
    }
    if (f.detection_measured && f.detected_after_ms < 0) {
      reasons.push_back(fmt::format("fault {} never detected while held", label));
    }
    if (f.kind == FaultKind::kCrowd) {
      // The crowd must be turned away fast (429 or 503), never left waiting,
      // and nothing may crash under it.
      uint64_t slow = f.crowd.timeouts + f.crowd.no_response;
      if (slow > 0) {
        reasons.push_back(fmt::format(
            "fault {}: {} of the crowd's requests timed out or got no answer (not a fast 429/503)",
            label, slow));
      }
      if (f.crowd.restarts > 0) {
        reasons.push_back(fmt::format("fault {}: {} process restart(s) while it lasted", label,
                                      f.crowd.restarts));
      }
    }
    if (!f.undone) {
      reasons.push_back(
          fmt::format("fault {} not undone{}", label, f.notice.empty() ? "" : ": " + f.notice));
    }
  }
  if (report.interrupted) reasons.push_back("the run was interrupted before its end");
  j["passed"] = reasons.empty();
  j["fail_reasons"] = reasons;
  return j;
}

namespace {

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string MsText(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  double ms = v.get<double>();
  return ms >= 10000 ? fmt::format("{:.1f} s", ms / 1000) : fmt::format("{:.0f} ms", ms);
}

// "full service after", marked "+" when it came after the fault's window.
std::string FullServiceText(const nlohmann::json& f) {
  std::string text = MsText(f["full_service_after_ms"]);
  return f.value("full_service_beyond_window", false) ? text + "+" : text;
}

// A round axis maximum >= v (1, 2, 5 times a power of ten).
double NiceCeil(double v) {
  if (v <= 0) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}

// One line about each crowd fault (table and page alike).
std::vector<std::string> CrowdLines(const nlohmann::json& r);

uint64_t U(const nlohmann::json& v, const char* key) {
  return v.value(key, uint64_t{0});
}

std::string RenderSvg(const nlohmann::json& r) {
  const nlohmann::json& seconds = r["seconds"];
  size_t n = std::max<size_t>(seconds.size(), 1);
  constexpr double kWidth = 1000, kLeft = 56, kRight = 16;
  constexpr double kTopY = 38, kTopH = 200, kGap = 44, kLatH = 150;
  double plot_w = kWidth - kLeft - kRight;
  double bar_w = plot_w / static_cast<double>(n);
  double lat_y = kTopY + kTopH + kGap;
  double height = lat_y + kLatH + 36;
  double max_count = 1, max_lat = 1;
  for (const auto& s : seconds) {
    max_count = std::max<double>(max_count, U(s, "ok") + U(s, "failed") + U(s, "rate_limited"));
    max_lat = std::max(max_lat, s.value("p99_ms", 0.0));
  }
  max_count = NiceCeil(max_count);
  max_lat = NiceCeil(max_lat);
  auto x_of = [&](double second) { return kLeft + second * bar_w; };
  std::string svg = fmt::format(
      "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1:.0f}\" "
      "width=\"{0}\" height=\"{1:.0f}\" role=\"img\" aria-label=\"requests and latency per "
      "second\">\n",
      kWidth, height);
  svg +=
      "<style>text{font:11px system-ui,sans-serif;fill:#444}.axis{stroke:#999;stroke-width:1}"
      ".grid{stroke:#e5e5e5;stroke-width:1}</style>\n";
  // Fault windows first, under everything.
  int index = 0;
  for (const auto& f : r["faults"]) {
    double s = static_cast<double>(f.value("start_ms", int64_t{0})) / 1000.0;
    double e = static_cast<double>(f.value("end_ms", int64_t{0})) / 1000.0;
    double w = static_cast<double>(f.value("window_end_ms", int64_t{0})) / 1000.0;
    bool skipped = f.value("skipped", false);
    std::string label = f.value("kind", std::string("?"));
    std::string target = f.value("target", std::string());
    if (!target.empty()) label += " " + target;
    svg += fmt::format("<g class=\"fault\" data-kind=\"{}\" data-index=\"{}\">",
                       Escape(f.value("kind", std::string("?"))), index);
    ++index;
    svg += fmt::format(
        "<rect class=\"fault-window\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.0f}\" "
        "fill=\"{}\" opacity=\"0.45\"><title>{} held {:.1f}-{:.1f} s</title></rect>",
        x_of(s), kTopY, std::max(1.0, (e - s) * bar_w), lat_y + kLatH - kTopY,
        skipped ? "#ddd" : "#ffd37a", Escape(label), s, e);
    svg += fmt::format(
        "<rect class=\"recovery-window\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.0f}\" "
        "fill=\"#fff3d6\" opacity=\"0.5\"/>",
        x_of(e), kTopY, std::max(0.0, (w - e) * bar_w), lat_y + kLatH - kTopY);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2:.0f}\" "
        "stroke=\"#d08a00\" stroke-width=\"1.5\"/>",
        x_of(s), kTopY - 4, lat_y + kLatH);
    // Labels alternate between two rows so neighbours do not overlap.
    double label_y = kTopY - (index % 2 == 1 ? 8 : 22);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}{}</text></g>\n", x_of(s) + 3, label_y,
                       Escape(label), skipped ? " (skipped)" : "");
  }
  // Axes and grid.
  for (int i = 0; i <= 4; ++i) {
    double y = kTopY + kTopH - kTopH * i / 4.0;
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
        kLeft, kWidth - kRight, y, y, kLeft - 6, y + 4, max_count * i / 4.0);
    double ly = lat_y + kLatH - kLatH * i / 4.0;
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
        kLeft, kWidth - kRight, ly, ly, kLeft - 6, ly + 4, max_lat * i / 4.0);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\">requests/s (ok, 429, failed)</text>\n", kLeft,
                     kTopY + kTopH + 14);
  svg += fmt::format(
      "<text x=\"{}\" y=\"{:.0f}\">latency ms (p50, p99), from intended send "
      "time</text>\n",
      kLeft, lat_y + kLatH + 14);
  // Stacked bars per second: ok (bottom), 429, failed.
  svg += "<g class=\"bars\">\n";
  for (size_t i = 0; i < seconds.size(); ++i) {
    const auto& s = seconds[i];
    double base = kTopY + kTopH;
    struct Part {
      uint64_t v;
      const char* cls;
      const char* color;
    } parts[] = {{U(s, "ok"), "ok", "#2e9e5b"},
                 {U(s, "rate_limited"), "limited", "#f08c00"},
                 {U(s, "failed"), "failed", "#d9342b"}};
    for (const Part& p : parts) {
      if (p.v == 0) continue;
      double h = kTopH * static_cast<double>(p.v) / max_count;
      base -= h;
      svg += fmt::format(
          "<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\" opacity=\"0.85\"><title>t={} s {}: {}</title></rect>",
          p.cls, x_of(static_cast<double>(i)) + 0.5, base, std::max(0.5, bar_w - 1), h, p.color, i,
          p.cls, p.v);
    }
  }
  svg += "</g>\n";
  // Latency lines.
  auto line = [&](const char* key, const char* cls, const char* color) {
    std::string points;
    for (size_t i = 0; i < seconds.size(); ++i) {
      double v = std::min(seconds[i].value(key, 0.0), max_lat);
      points += fmt::format("{:.1f},{:.1f} ", x_of(static_cast<double>(i) + 0.5),
                            lat_y + kLatH - kLatH * v / max_lat);
    }
    return fmt::format(
        "<polyline class=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" "
        "points=\"{}\"/>\n",
        cls, color, points);
  };
  svg += line("p50_ms", "p50", "#2563eb");
  svg += line("p99_ms", "p99", "#9333ea");
  // Time axis.
  double axis_y = lat_y + kLatH;
  svg += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{:.0f}\" y2=\"{:.0f}\"/>\n",
                     kLeft, kWidth - kRight, axis_y, axis_y);
  int step = std::max<int>(1, static_cast<int>(NiceCeil(static_cast<double>(n) / 10.0)));
  for (size_t i = 0; i <= seconds.size(); i += step) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}s</text>",
                       x_of(static_cast<double>(i)), axis_y + 28, i);
  }
  svg += "\n</svg>\n";
  return svg;
}

}  // namespace

std::string RenderHtml(const nlohmann::json& r) {
  const auto& a = r["availability"];
  bool passed = r.value("passed", false);
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>nines drill report</title>\n<style>\n"
      "body{font:14px system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;"
      "max-width:1040px}\n"
      "h1{font-size:20px;margin:0 0 4px}.sub{color:#666;margin-bottom:16px}\n"
      ".verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;"
      "font-weight:600}\n.pass{background:#2e9e5b}.fail{background:#d9342b}\n"
      ".cards{display:flex;gap:12px;margin:16px 0}.card{border:1px solid #ddd;border-radius:6px;"
      "padding:10px 14px}.card b{display:block;font-size:18px}\n"
      "table{border-collapse:collapse;margin-top:16px}th,td{border-bottom:1px solid #e5e5e5;"
      "padding:6px "
      "10px;text-align:right;white-space:nowrap}th:first-child,td:first-child,td:nth-child(2),"
      "th:nth-child(2){text-align:left}\n.legend span{margin-right:14px}\n"
      ".sw{display:inline-block;width:10px;height:10px;margin-right:4px}\n"
      "</style></head><body>\n";
  html += "<h1>nines drill</h1>\n";
  html += fmt::format(
      "<div class=\"sub\">blueprint {} &middot; {:g} s at {:g} req/s &middot; faults: {} "
      "&middot; SLO {:g}%</div>\n",
      Escape(r.value("blueprint", std::string())), r.value("duration_s", 0.0), r.value("rate", 0.0),
      Escape(r.value("faults_requested", std::string())), r.value("slo_percent", 0.0));
  html += fmt::format("<span id=\"verdict\" class=\"verdict {}\">{}</span>\n",
                      passed ? "pass" : "fail", passed ? "PASSED" : "FAILED");
  for (const auto& reason : r["fail_reasons"]) {
    html += fmt::format(" <span>{}</span>", Escape(reason.get<std::string>()));
  }
  const auto& w = r["writes"];
  const auto& lat = r["latency_ms"];
  const auto& sp = r["spike"];
  html += "<div class=\"cards\">\n";
  html += fmt::format(
      "<div class=\"card\">availability<b id=\"availability\">{}</b>{} of {} "
      "requests ok</div>\n",
      Escape(a.value("text", std::string())), U(a, "ok"), U(a, "total"));
  html += fmt::format(
      "<div class=\"card\">lost writes<b id=\"lost-writes\">{} of {} verified</b>{} "
      "acknowledged, {} changed, {} could not be checked</div>\n",
      U(w, "lost"), U(w, "verified") + U(w, "lost") + U(w, "mismatched"), U(w, "acknowledged"),
      U(w, "mismatched"), U(w, "unverifiable"));
  html += fmt::format("<div class=\"card\">latency<b>p50 {} / p99 {}</b>max {}</div>\n",
                      MsText(lat["p50"]), MsText(lat["p99"]), MsText(lat["max"]));
  html += fmt::format(
      "<div class=\"card\">spike client<b>{} sent</b>{} answered 429 (not "
      "counted)</div>\n</div>\n",
      U(sp, "sent"), U(sp, "rate_limited"));
  for (const std::string& line : CrowdLines(r)) {
    html += fmt::format("<p class=\"crowd\">{}</p>\n", Escape(line));
  }
  html +=
      "<div class=\"legend\"><span><i class=\"sw\" style=\"background:#2e9e5b\"></i>ok</span>"
      "<span><i class=\"sw\" style=\"background:#f08c00\"></i>429</span>"
      "<span><i class=\"sw\" style=\"background:#d9342b\"></i>failed</span>"
      "<span><i class=\"sw\" style=\"background:#2563eb\"></i>p50</span>"
      "<span><i class=\"sw\" style=\"background:#9333ea\"></i>p99</span>"
      "<span><i class=\"sw\" style=\"background:#ffd37a\"></i>fault held</span>"
      "<span><i class=\"sw\" style=\"background:#fff3d6\"></i>recovery window</span></div>\n";
  html += RenderSvg(r);
  html +=
      "<table id=\"faults\"><thead><tr><th>fault</th><th>target</th><th>at</th>"
      "<th>held</th><th>requests</th><th>failures</th><th>p99 held</th><th>detected after</th>"
      "<th>full service after</th><th>detected by</th></tr></thead><tbody>\n";
  int i = 0;
  auto costliest = r.value("costliest_fault", nlohmann::json());
  for (const auto& f : r["faults"]) {
    bool worst = costliest.is_number() && costliest.get<int>() == i;
    ++i;
    double s = static_cast<double>(f.value("start_ms", int64_t{0})) / 1000.0;
    double e = static_cast<double>(f.value("end_ms", int64_t{0})) / 1000.0;
    std::string note = f.value("notice", std::string());
    int64_t counted_from = f.value("counted_from_ms", int64_t{0});
    if (!f.value("skipped", false) && counted_from > f.value("start_ms", int64_t{0})) {
      note += fmt::format("{}counted from {:.1f} s, when the previous fault's failures ended",
                          note.empty() ? "" : "; ", static_cast<double>(counted_from) / 1000.0);
    }
    if (f.value("full_service_beyond_window", false)) {
      note += std::string(note.empty() ? "" : "; ") +
              "failures went on past the window (+), charged here";
    }
    html += fmt::format(
        "<tr{}><td>{}{}</td><td>{}</td><td>{:.1f} s</td><td>{:.1f} s</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        worst ? " class=\"costliest\" style=\"background:#fdecea\"" : "",
        Escape(f.value("kind", std::string())), f.value("skipped", false) ? " (skipped)" : "",
        Escape(f.value("target", std::string())), s, e - s, U(f, "requests"), U(f, "failures"),
        MsText(f["held_p99_ms"]), MsText(f["detected_after_ms"]), FullServiceText(f),
        Escape(f.value("detected_by", std::string()) + (note.empty() ? "" : " — " + note)));
  }
  html += "</tbody></table>\n";
  if (U(a, "refused_by_client") > 0) {
    html += fmt::format(
        "<p>{} requests were refused by the drill's own in-flight limit: failures, left out of "
        "the latency.</p>\n",
        U(a, "refused_by_client"));
  }
  if (!r["notices"].empty()) {
    html += "<h2 style=\"font-size:15px\">notices</h2><ul>";
    for (const auto& n : r["notices"]) {
      html += "<li>" + Escape(n.get<std::string>()) + "</li>";
    }
    html += "</ul>\n";
  }
  html +=
      "<p class=\"sub\">Availability = ok / (ok + failed + 429) over regular clients; the "
      "spiking client's requests are counted apart. Latency is measured from each "
      "request's intended send time (open loop, no coordinated omission).</p>\n";
  html += "</body></html>\n";
  return html;
}

namespace {

std::vector<std::string> CrowdLines(const nlohmann::json& r) {
  std::vector<std::string> lines;
  for (const auto& f : r["faults"]) {
    if (!f.contains("crowd") || f.value("skipped", false)) continue;
    const auto& c = f["crowd"];
    lines.push_back(fmt::format(
        "crowd: {:.0f}/s offered ({:.0f}/s probed capacity), {} distinct users, {} intended: {} "
        "ok, "
        "{} 429, {} 503, {} timed out, {} no answer, {} other, {} not sent (generator cap); p50 {} "
        "ms, p99 {} ms; regular users' p99 meanwhile {} ms; lb RSS {} MB before, {} MB peak, {} MB "
        "1 s after; {} restarts",
        c.value("offered_per_s", 0.0), c.value("capacity_per_s", 0.0), U(c, "users"),
        U(c, "intended"), U(c, "ok"), U(c, "rate_limited"), U(c, "shed_503"), U(c, "timeouts"),
        U(c, "no_response"), U(c, "other_failed"), U(c, "not_sent"), U(c, "p50_ms"), U(c, "p99_ms"),
        U(c, "regular_p99_ms"), U(c, "lb_rss_before_kb") / 1024, U(c, "lb_rss_peak_kb") / 1024,
        U(c, "lb_rss_after_kb") / 1024, U(c, "restarts")));
  }
  return lines;
}

}  // namespace

std::string RenderTable(const nlohmann::json& r) {
  bool beyond = false;
  std::string overlapped;
  std::string out =
      fmt::format("{:<10} {:<16} {:>7} {:>6} {:>9} {:>9} {:>9} {:>13} {:>13}\n", "fault", "target",
                  "at", "held", "requests", "failures", "p99 held", "detected", "full service");
  for (const auto& f : r["faults"]) {
    double s = static_cast<double>(f.value("start_ms", int64_t{0})) / 1000.0;
    double e = static_cast<double>(f.value("end_ms", int64_t{0})) / 1000.0;
    std::string kind = f.value("kind", std::string());
    if (f.value("skipped", false)) kind += "*";
    int64_t counted_from = f.value("counted_from_ms", int64_t{0});
    bool late = !f.value("skipped", false) && counted_from > f.value("start_ms", int64_t{0});
    std::string failures = std::to_string(U(f, "failures")) + (late ? "~" : "");
    out +=
        fmt::format("{:<10} {:<16} {:>6.1f}s {:>5.1f}s {:>9} {:>9} {:>9} {:>13} {:>13}\n", kind,
                    f.value("target", std::string()), s, e - s, U(f, "requests"), failures,
                    MsText(f["held_p99_ms"]), MsText(f["detected_after_ms"]), FullServiceText(f));
    beyond = beyond || f.value("full_service_beyond_window", false);
    if (late) {
      overlapped += fmt::format(
          "~ {}: counted from {:.1f} s, when the previous fault's failures ended; its own "
          "cost before that is not separable\n",
          f.value("kind", std::string()), static_cast<double>(counted_from) / 1000.0);
    }
  }
  out += overlapped;
  if (beyond) {
    out +=
        "+ failures went on past the fault's window; they are charged to it, not to the next "
        "fault\n";
  }
  const auto& a = r["availability"];
  const auto& w = r["writes"];
  const auto& sp = r["spike"];
  const auto& lat = r["latency_ms"];
  out +=
      fmt::format("\navailability: {}  ({} ok, {} failed, {} 429{} of {} requests)\n",
                  a.value("text", std::string()), U(a, "ok"), U(a, "failed"), U(a, "rate_limited"),
                  U(a, "refused_by_client") > 0
                      ? fmt::format(", {} refused by the client", U(a, "refused_by_client"))
                      : "",
                  U(a, "total"));
  out += fmt::format("latency: p50 {}  p99 {}  p99.9 {}  max {}\n", MsText(lat["p50"]),
                     MsText(lat["p99"]), MsText(lat["p999"]), MsText(lat["max"]));
  if (U(sp, "sent") > 0) {
    out += fmt::format("spike client: {} sent, {} answered 429, {} ok (excluded)\n", U(sp, "sent"),
                       U(sp, "rate_limited"), U(sp, "ok"));
  }
  for (const std::string& line : CrowdLines(r)) out += line + "\n";
  out += fmt::format(
      "writes: {} acknowledged, {} verified in every region, {} lost, {} changed, {} could "
      "not be checked{}\n",
      U(w, "acknowledged"), U(w, "verified"), U(w, "lost"), U(w, "mismatched"),
      U(w, "unverifiable"),
      U(w, "without_id") > 0 ? fmt::format(" ({} answered without an id)", U(w, "without_id"))
                             : "");
  if (U(a, "refused_by_client") > 0) {
    out += fmt::format(
        "refused by the drill's own in-flight limit: {} (failures, left out of the latency)\n",
        U(a, "refused_by_client"));
  }
  // The first few notices; the rest are in report.json and report.html.
  constexpr size_t kTableNotices = 5;
  const auto& notices = r["notices"];
  for (size_t i = 0; i < notices.size() && i < kTableNotices; ++i) {
    out += "notice: " + notices[i].get<std::string>() + "\n";
  }
  if (notices.size() > kTableNotices) {
    out += fmt::format("notice: ... and {} more in report.json\n", notices.size() - kTableNotices);
  }
  auto costliest = r.value("costliest_fault", nlohmann::json());
  if (costliest.is_number()) {
    const auto& f = r["faults"][costliest.get<int>()];
    out += fmt::format("costliest fault: {} {} ({} failures)\n", f.value("kind", std::string()),
                       f.value("target", std::string()), U(f, "failures"));
  }
  for (const auto& reason : r["fail_reasons"]) {
    out += "FAILED: " + reason.get<std::string>() + "\n";
  }
  if (r.value("passed", false)) out += "PASSED\n";
  return out;
}

std::string WriteReportFiles(const std::string& dir, const nlohmann::json& report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  auto write = [&](const std::string& name, const std::string& text) -> std::string {
    std::string path = dir + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return "cannot write " + path;
    return "";
  };
  std::string err = write("report.json", report.dump(2) + "\n");
  if (!err.empty()) return err;
  return write("report.html", RenderHtml(report));
}

}  // namespace nines::drill
