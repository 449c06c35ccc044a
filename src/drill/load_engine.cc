// LoadEngine: one coroutine dispatches each schedule at its intended times;
// each request is its own coroutine with a deadline; connections (the async
// HTTP client's) are kept alive per user and per lb address.
#include "drill/load_engine.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "http/async_client.h"
#include "http/client.h"

namespace nines::drill {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

Clock::time_point TimePointOf(int64_t nanos) {
  return Clock::time_point(std::chrono::nanoseconds(nanos));
}

constexpr size_t kMaxRecent = 256;
constexpr size_t kMaxAcknowledged = 10'000'000;
constexpr size_t kMaxNotes = 20;
constexpr size_t kMaxResponseBytes = 1 << 20;
constexpr int kMaxAttempts = 6;

}  // namespace

struct LoadEngine::Connection {
  http::AsyncConnection http;
  std::string address;  // the lb it is connected to
};

struct LoadEngine::UserState {
  SimUser user;
  std::vector<Connection> idle;
};

struct LoadEngine::Exchange {
  int status = 0;          // 0: no response
  bool retryable = false;  // nothing usable came back and a retry is safe
  std::string error;
  std::string body;
};

int64_t LoadEngine::NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

LoadEngine::LoadEngine(asio::io_context& io, RegionResolver& resolver, Timeline& timeline,
                       int64_t run_start_nanos, LoadOptions options)
    : io_(io),
      resolver_(resolver),
      timeline_(timeline),
      run_start_(run_start_nanos),
      options_(std::move(options)) {}

LoadEngine::~LoadEngine() = default;

void LoadEngine::Start(LoadSchedule schedule, std::vector<SimUser> users) {
  ++schedules_running_;
  asio::post(io_, [this, schedule, users = std::move(users)]() mutable {
    for (SimUser& u : users) users_.push_back(std::make_unique<UserState>(UserState{u, {}}));
    asio::co_spawn(io_, Dispatch(schedule, false), asio::detached);
  });
}

void LoadEngine::StartSpike(LoadSchedule schedule, const SimUser& user) {
  ++schedules_running_;
  asio::post(io_, [this, schedule, user]() {
    users_.push_back(std::make_unique<UserState>(UserState{user, {}}));
    asio::co_spawn(io_, Dispatch(schedule, true), asio::detached);
  });
}

void LoadEngine::StopSending() {
  stopping_ = true;
}

bool LoadEngine::Idle() const {
  return schedules_running_.load() == 0 && counters_.in_flight.load() == 0;
}

std::vector<AcknowledgedWrite> LoadEngine::Acknowledged() const {
  std::lock_guard lock(mu_);
  return acknowledged_;
}

std::vector<std::string> LoadEngine::Notes() const {
  std::lock_guard lock(mu_);
  return notes_;
}

void LoadEngine::AddNote(std::string note) {
  std::lock_guard lock(mu_);
  if (notes_.size() < kMaxNotes) notes_.push_back(std::move(note));
}

asio::awaitable<void> LoadEngine::Dispatch(LoadSchedule schedule, bool spike) {
  // Users of this schedule: all regular ones, or the spike user (added last).
  size_t spike_user = users_.size() - 1;
  size_t regular_users = spike ? 0 : users_.size();
  asio::steady_timer timer(io_);
  uint64_t next = 0;
  while (next < schedule.total() && !stopping_) {
    uint64_t due = schedule.DueBy(NowNanos());
    for (; next < due; ++next) {
      size_t user = spike ? spike_user : static_cast<size_t>(next % regular_users);
      if (counters_.in_flight >= options_.max_in_flight) {
        // Bounded: an overloaded client is a failure the run must show.
        int64_t at_ms = (schedule.IntendedNanos(next) - run_start_) / 1'000'000;
        // Never sent, so no latency: recorded apart, not as a 0 in the percentiles.
        timeline_.Record(at_ms, spike ? Outcome::kSpikeFailed : Outcome::kRefusedByClient, 0);
        (spike ? counters_.spike_failed : counters_.refused_by_client)++;
        continue;
      }
      ++counters_.in_flight;
      asio::co_spawn(io_, Request(next, schedule.IntendedNanos(next), user, spike), asio::detached);
    }
    if (next >= schedule.total()) break;
    timer.expires_at(TimePointOf(schedule.IntendedNanos(next)));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  --schedules_running_;
}

asio::awaitable<void> LoadEngine::Request(uint64_t index, int64_t intended, size_t user,
                                          bool spike) {
  UserState& u = *users_[user];
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string key;
  if (spike || options_.crowd) {
    path = "/orders?limit=1";
  } else if (!recent_.empty() && static_cast<int>(rng_() % 100) < options_.read_percent) {
    path = "/orders/" + recent_[rng_() % recent_.size()];
  } else {
    method = "POST";
    path = "/orders";
    key = options_.run_id + "-" + std::to_string(index);
    body = nlohmann::json{{"item", "drill"}, {"qty", 1 + index % 5}, {"n", index}}.dump();
  }
  std::string request = http::BuildRequest(
      method, "shop.test", path, body,
      http::ClientOptions().Headers(key.empty() ? "" : "Idempotency-Key: " + key + "\r\n"));

  int64_t deadline = NowNanos() + int64_t{options_.request_timeout_ms} * 1'000'000;
  Exchange result;
  asio::steady_timer pause(io_);
  size_t failed_addresses = 0;  // of the current answer, in its order
  bool next_is_untried = false;
  for (int attempt = 0; attempt < kMaxAttempts && NowNanos() < deadline; ++attempt) {
    if (attempt > 0) ++counters_.retries;
    if (attempt > 0 && !next_is_untried) {
      pause.expires_after(std::chrono::milliseconds(100 * attempt));
      std::error_code ec;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::vector<std::string> addresses = resolver_.Addresses(u.user.resolver_entry);
    if (addresses.empty()) {
      result = Exchange{0, true, "no DNS answer yet", ""};
      resolver_.RequestRefresh(u.user.resolver_entry);
      next_is_untried = false;
      continue;
    }
    const std::string& address = addresses[failed_addresses % addresses.size()];
    result = co_await Send(user, address, request, false, deadline);
    if (result.status != 0 || !result.retryable) break;
    // Nothing came back: retry (safe: reads are idempotent and writes carry
    // an Idempotency-Key) on the answer's next address, as a stub resolver's
    // client does; the answer is kept for its TTL. Looking the name up again
    // first is what browsers do, an opt-in.
    ++failed_addresses;
    next_is_untried = failed_addresses < addresses.size();
    if (options_.reresolve_on_failure) resolver_.RequestRefresh(u.user.resolver_entry);
  }

  int64_t done = NowNanos();
  int64_t at_ms = (intended - run_start_) / 1'000'000;
  int64_t latency_us = (done - intended) / 1000;
  Outcome outcome;
  int s = result.status;
  if (spike) {
    outcome = s >= 200 && s < 300 ? Outcome::kSpikeOk
              : s == 429          ? Outcome::kSpikeRateLimited
                                  : Outcome::kSpikeFailed;
  } else if (s >= 200 && s < 300) {
    outcome = Outcome::kOk;
  } else if (s == 429) {
    outcome = Outcome::kRateLimited;
  } else {
    outcome = Outcome::kFailed;
    if (s == 0) {
      AddNote("t=" + std::to_string(at_ms / 1000) + "s " + method + " " + path + ": " +
              result.error);
    } else {
      AddNote("t=" + std::to_string(at_ms / 1000) + "s " + method + " " + path + ": status " +
              std::to_string(s));
    }
  }
  if (outcome == Outcome::kFailed || outcome == Outcome::kSpikeFailed) {
    if (s == 503) ++counters_.shed;
    if (s == 0 && result.error == "timeout") ++counters_.timeouts;
    if (s == 0 && result.error != "timeout") ++counters_.no_response;
  }
  switch (outcome) {
    case Outcome::kOk:
      ++counters_.ok;
      break;
    case Outcome::kRefusedByClient:
      ++counters_.refused_by_client;
      break;
    case Outcome::kFailed:
      ++counters_.failed;
      break;
    case Outcome::kRateLimited:
      ++counters_.rate_limited;
      break;
    case Outcome::kSpikeOk:
      ++counters_.spike_ok;
      break;
    case Outcome::kSpikeRateLimited:
      ++counters_.spike_rate_limited;
      break;
    case Outcome::kSpikeFailed:
      ++counters_.spike_failed;
      break;
  }
  timeline_.Record(at_ms, outcome, latency_us);
  if (method == "POST" && outcome == Outcome::kOk) {
    auto j = nlohmann::json::parse(result.body, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_string()) {
      std::string id = j["id"].get<std::string>();
      recent_.push_back(id);
      if (recent_.size() > kMaxRecent) recent_.pop_front();
      std::lock_guard lock(mu_);
      if (acknowledged_.size() < kMaxAcknowledged) {
        acknowledged_.push_back({id, BodyFingerprint(result.body)});
      }
      ++counters_.acknowledged;
    } else {
      // Acknowledged, but there is nothing to read back: uncheckable.
      ++counters_.acknowledged_without_id;
      AddNote("POST /orders answered " + std::to_string(s) + " without an id");
    }
  }
  --counters_.in_flight;
}

asio::awaitable<LoadEngine::Exchange> LoadEngine::Send(size_t user, const std::string& address,
                                                       const std::string& request,
                                                       bool head_request, int64_t deadline_nanos) {
  UserState& u = *users_[user];
  Exchange out;
  std::optional<Connection> conn;
  // Take an idle connection to this lb; drop those to an lb DNS no longer names.
  while (!u.idle.empty()) {
    Connection c = std::move(u.idle.back());
    u.idle.pop_back();
    if (c.address == address && c.http.is_open()) {
      conn.emplace(std::move(c));
      break;
    }
  }
  if (!conn) {
    std::error_code lb_ec;
    asio::ip::address_v4 lb = asio::ip::make_address_v4(address, lb_ec);
    if (lb_ec) {
      out.error = "bad address " + address;
      co_return out;
    }
    conn.emplace(Connection{http::AsyncConnection(io_.get_executor()), address});
    int64_t connect_deadline =
        std::min(deadline_nanos, NowNanos() + int64_t{options_.connect_timeout_ms} * 1'000'000);
    http::ConnectStatus status = co_await conn->http.Connect(
        tcp::endpoint(lb, options_.lb_port), TimePointOf(connect_deadline), u.user.source_ip);
    if (status != http::ConnectStatus::kConnected) {
      out.retryable = status != http::ConnectStatus::kSetupFailed;
      out.error = conn->http.error();
      co_return out;
    }
  }
  http::ExchangeOptions options;
  options.deadline = TimePointOf(deadline_nanos);
  options.method = head_request ? "HEAD" : "GET";  // decides only whether a body follows
  options.max_response_bytes = kMaxResponseBytes;
  http::ClientResponse response = co_await conn->http.Exchange(request, options);
  if (response.ok) {
    out.status = response.status;
    out.body = std::move(response.body);
    // The client closed the connection unless the response left it reusable.
    if (conn->http.is_open() && u.idle.size() < options_.max_idle_per_user) {
      u.idle.push_back(std::move(*conn));
    }
    co_return out;
  }
  // "timeout" is what the counters look for.
  out.error = response.timed_out ? "timeout" : response.error;
  // A connection that broke before any byte of a response: retry is safe.
  out.retryable = !response.timed_out && !response.received;
  co_return out;
}

}  // namespace nines::drill
