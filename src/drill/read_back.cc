// ReadBack: a few threads, each taking ids off a shared counter.
#include "drill/read_back.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "drill/blocking_http.h"

namespace nines::drill {

namespace {
enum class Found { kYes, kNo, kChanged, kUnknown };

// 200 with the acknowledged body: found. 200 with another body: changed
// (asked again, in case a replica was behind). 404 three times: lost.
Found ReadOne(const std::string& lb, const AcknowledgedWrite& w, const std::string& source,
              int timeout_ms) {
  int not_found = 0;
  int changed = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    HttpReply r = BlockingHttp(lb, "GET", "/orders/" + w.id, "", timeout_ms, source);
    if (r.ok && r.status == 200) {
      if (BodyFingerprint(r.body) == w.body_fingerprint) return Found::kYes;
      if (++changed >= 3) return Found::kChanged;
      continue;
    }
    if (r.ok && r.status == 404 && ++not_found >= 3) return Found::kNo;
  }
  if (changed > 0) return Found::kChanged;
  return not_found > 0 ? Found::kNo : Found::kUnknown;
}
}  // namespace

WriteCheck ReadBack(const std::vector<AcknowledgedWrite>& writes, const ReadBackOptions& o) {
  WriteCheck check;
  check.acknowledged = writes.size();
  if (o.lbs.empty()) {
    // Nothing read is nothing verified: say so, never "0 lost".
    check.unverifiable = writes.size();
    check.problem = "no load balancer to read the writes back through";
    return check;
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&](int thread_index) {
    size_t n = 0;
    while (true) {
      size_t i = next++;
      if (i >= writes.size()) return;
      bool all = true, lost = false, changed = false;
      for (const std::string& lb : o.lbs) {
        std::string source =
            o.source_ips.empty()
                ? ""
                : o.source_ips[(thread_index + n++ * o.threads) % o.source_ips.size()];
        Found f = ReadOne(lb, writes[i], source, o.timeout_ms);
        if (f != Found::kYes) all = false;
        if (f == Found::kNo) lost = true;
        if (f == Found::kChanged) changed = true;
      }
      std::lock_guard lock(mu);
      if (all) {
        ++check.verified;
      } else if (lost) {
        ++check.lost;
        if (check.lost_ids.size() < 20) check.lost_ids.push_back(writes[i].id);
      } else if (changed) {
        ++check.mismatched;
        if (check.mismatched_ids.size() < 20) check.mismatched_ids.push_back(writes[i].id);
      } else {
        ++check.unverifiable;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, o.threads); ++t) threads.emplace_back(worker, t);
  for (std::thread& t : threads) t.join();
  return check;
}

}  // namespace nines::drill
