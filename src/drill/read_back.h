// The lost-write check: every order the service acknowledged is read back
// through every region's load balancer after the run, and its body compared
// with the one acknowledged. 404 anywhere (after a few retries, for replicas
// still catching up) is a lost write; another body is a changed write; a read
// that keeps failing for other reasons is "unverifiable", reported apart. No
// lb at all: every write is unverifiable, with WriteCheck::problem saying why.
#pragma once

#include <string>
#include <vector>

#include "drill/acknowledged_write.h"
#include "drill/report.h"

namespace nines::drill {

struct ReadBackOptions {
  std::vector<std::string> lbs;         // "A.B.C.D:8080" of every region's lb
  std::vector<std::string> source_ips;  // rotated so no single client hits a rate limit
  int threads = 8;
  int timeout_ms = 3000;
};

WriteCheck ReadBack(const std::vector<AcknowledgedWrite>& writes, const ReadBackOptions& options);

}  // namespace nines::drill
