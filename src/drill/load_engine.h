// The load: simulated users (each with its own source address 127.0.N.1xx,
// a region, and a small keep-alive pool) sending an open-loop schedule of
// order creations (POST /orders with an Idempotency-Key) and reads of recent
// orders (GET /orders/ID) to the lb their region's DNS answer names, on one
// Asio event loop. Every outcome goes into the Timeline; acknowledged orders
// go into the list read back at the end.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "drill/acknowledged_write.h"
#include "drill/dns_lookup.h"
#include "drill/load_schedule.h"
#include "drill/timeline.h"

namespace nines::drill {

struct SimUser {
  std::string source_ip;      // bound before connecting: the lb's per-client key
  size_t resolver_entry = 0;  // its stub resolver: an entry of the RegionResolver
};

struct LoadOptions {
  int request_timeout_ms = 5000;  // from dispatch to the end of the response, retries included
  int connect_timeout_ms = 1000;  // one connection attempt
  int read_percent = 50;          // share of requests that read a recent order
  size_t max_in_flight = 4096;    // beyond: the request fails at once (refused by the client)
  size_t max_idle_per_user = 4;   // keep-alive connections kept per user
  std::string run_id = "drill";   // prefix of Idempotency-Keys
  uint16_t lb_port = 8080;        // the port of the address DNS names
  // After a failed connection, look the name up again before its TTL runs
  // out (what browsers do; no stub resolver does). Off: try the answer's
  // next address, keep the answer for its TTL.
  bool reresolve_on_failure = false;
  // A crowd (drill/crowd.h, its own engine and timeline): every request is
  // a read (GET /orders?limit=1).
  bool crowd = false;
};

// Live counters for the progress line (read from other threads).
struct LoadCounters {
  std::atomic<uint64_t> ok{0}, failed{0}, rate_limited{0}, refused_by_client{0};
  std::atomic<uint64_t> spike_ok{0}, spike_rate_limited{0}, spike_failed{0};
  // Of the failures (regular and spike): 503s, timeouts, and no response at
  // all (refused, closed or reset after the retries).
  std::atomic<uint64_t> shed{0}, timeouts{0}, no_response{0};
  std::atomic<uint64_t> retries{0}, in_flight{0}, acknowledged{0};
  // 2xx to a POST without an order id: acknowledged, but nothing to read back.
  std::atomic<uint64_t> acknowledged_without_id{0};
};

class LoadEngine {
 public:
  LoadEngine(asio::io_context& io, RegionResolver& resolver, Timeline& timeline,
             int64_t run_start_nanos, LoadOptions options);
  ~LoadEngine();

  // Both post work onto the loop; call before or while it runs.
  void Start(LoadSchedule schedule, std::vector<SimUser> users);
  void StartSpike(LoadSchedule schedule, const SimUser& user);
  // No new requests after this; in-flight ones finish or time out.
  void StopSending();
  bool Idle() const;  // nothing in flight and every schedule done

  const LoadCounters& counters() const { return counters_; }
  // Ids of orders the service acknowledged (copy; thread-safe).
  std::vector<AcknowledgedWrite> Acknowledged() const;
  // Notable client-side events (first few), e.g. unexpected statuses.
  std::vector<std::string> Notes() const;

  static int64_t NowNanos();

 private:
  struct Connection;
  struct UserState;
  struct Exchange;

  asio::awaitable<void> Dispatch(LoadSchedule schedule, bool spike);
  asio::awaitable<void> Request(uint64_t index, int64_t intended_nanos, size_t user, bool spike);
  asio::awaitable<Exchange> Send(size_t user, const std::string& address,
                                 const std::string& request, bool head_request,
                                 int64_t deadline_nanos);
  void AddNote(std::string note);

  asio::io_context& io_;
  RegionResolver& resolver_;
  Timeline& timeline_;
  int64_t run_start_;
  LoadOptions options_;
  LoadCounters counters_;
  std::vector<std::unique_ptr<UserState>> users_;  // [0, n) regular; the spike user last
  std::atomic<bool> stopping_{false};
  std::atomic<int> schedules_running_{0};
  std::mt19937_64 rng_{12345};
  std::deque<std::string> recent_;  // recent acknowledged ids for reads (loop thread only)
  mutable std::mutex mu_;
  std::vector<AcknowledgedWrite> acknowledged_;
  std::vector<std::string> notes_;
};

}  // namespace nines::drill
