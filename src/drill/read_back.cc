// ReadBack: a few threads, each taking ids off a shared counter.
#include "drill/read_back.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "http/client.h"

namespace nines::drill {

namespace {
enum class Found { kYes, kNo, kUnknown };

Found ReadOne(const std::string& lb, const std::string& id, const std::string& source,
              int timeout_ms) {
  int not_found = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    http::ClientResponse r = http::FetchAddress(
        lb, "GET", "/orders/" + id, "", http::ClientOptions().Timeout(timeout_ms).Source(source));
    if (r.ok && r.status == 200) return Found::kYes;
    if (r.ok && r.status == 404 && ++not_found >= 3) return Found::kNo;
  }
  return not_found > 0 ? Found::kNo : Found::kUnknown;
}
}  // namespace

WriteCheck ReadBack(const std::vector<std::string>& ids, const ReadBackOptions& o) {
  WriteCheck check;
  check.acknowledged = ids.size();
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&](int thread_index) {
    size_t n = 0;
    while (true) {
      size_t i = next++;
      if (i >= ids.size()) return;
      bool all = true, lost = false;
      for (const std::string& lb : o.lbs) {
        std::string source =
            o.source_ips.empty()
                ? ""
                : o.source_ips[(thread_index + n++ * o.threads) % o.source_ips.size()];
        Found f = ReadOne(lb, ids[i], source, o.timeout_ms);
        if (f != Found::kYes) all = false;
        if (f == Found::kNo) lost = true;
      }
      std::lock_guard lock(mu);
      if (all) {
        ++check.verified;
      } else if (lost) {
        ++check.lost;
        if (check.lost_ids.size() < 20) check.lost_ids.push_back(ids[i]);
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
