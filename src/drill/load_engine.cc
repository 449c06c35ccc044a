// LoadEngine: one coroutine dispatches each schedule at its intended times;
// each request is its own coroutine with a deadline; connections are kept
// alive per user and per lb address.
#include "drill/load_engine.h"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <nlohmann/json.hpp>

#include "http/parser.h"

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
  std::shared_ptr<tcp::socket> socket;
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
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: shop.test\r\n";
  if (!key.empty()) request += "Idempotency-Key: " + key + "\r\n";
  if (method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;

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
  Connection conn;
  bool reused = false;
  // Take an idle connection to this lb; drop those to an lb DNS no longer names.
  while (!u.idle.empty()) {
    Connection c = std::move(u.idle.back());
    u.idle.pop_back();
    if (c.address == address && c.socket->is_open()) {
      conn = std::move(c);
      reused = true;
      break;
    }
    std::error_code ignored;
    c.socket->close(ignored);
  }
  asio::steady_timer watchdog(io_);
  std::error_code ec;
  if (!reused) {
    conn.address = address;
    conn.socket = std::make_shared<tcp::socket>(io_);
    std::error_code lb_ec, source_ec;
    asio::ip::address_v4 lb = asio::ip::make_address_v4(address, lb_ec);
    asio::ip::address_v4 source = asio::ip::make_address_v4(u.user.source_ip, source_ec);
    if (lb_ec || source_ec) {
      out.error = "bad address " + address + " or " + u.user.source_ip;
      co_return out;
    }
    conn.socket->open(tcp::v4(), ec);
    if (!ec) conn.socket->set_option(tcp::socket::reuse_address(true), ec);
    if (!ec) conn.socket->bind(tcp::endpoint(source, 0), ec);
    if (ec) {
      out.error = "cannot bind " + u.user.source_ip + ": " + ec.message();
      co_return out;
    }
    int64_t connect_deadline =
        std::min(deadline_nanos, NowNanos() + int64_t{options_.connect_timeout_ms} * 1'000'000);
    watchdog.expires_at(TimePointOf(connect_deadline));
    watchdog.async_wait([s = conn.socket](std::error_code e) {
      if (!e) {
        std::error_code ignored;
        s->close(ignored);
      }
    });
    co_await conn.socket->async_connect(tcp::endpoint(lb, options_.lb_port),
                                        asio::redirect_error(asio::use_awaitable, ec));
    watchdog.cancel();
    if (ec) {
      out.retryable = true;
      out.error =
          "connect " + address + ":" + std::to_string(options_.lb_port) + ": " + ec.message();
      co_return out;
    }
    conn.socket->set_option(tcp::no_delay(true), ec);
  }
  watchdog.expires_at(TimePointOf(deadline_nanos));
  watchdog.async_wait([s = conn.socket](std::error_code e) {
    if (!e) {
      std::error_code ignored;
      s->close(ignored);
    }
  });
  co_await asio::async_write(*conn.socket, asio::buffer(request),
                             asio::redirect_error(asio::use_awaitable, ec));
  std::string data;
  http::ResponseHead head;
  http::Limits limits;
  bool have_head = false;
  http::ChunkedReader chunked;
  std::string dechunked;  // ChunkedReader's decoding of a chunked body
  size_t body_end = 0;
  bool complete = false;
  bool closed = false;
  while (!ec) {
    if (!have_head) {
      http::ParseError perr;
      auto st = http::ParseResponseHead(data, limits, head_request ? "HEAD" : "GET", &head, &perr);
      if (st == http::ParseStatus::kError) {
        out.error = std::string("bad response: ") + perr.reason;
        break;
      }
      if (st == http::ParseStatus::kDone) {
        if (head.status >= 100 && head.status < 200) {  // interim: skip it
          data.erase(0, head.head_size);
          continue;
        }
        have_head = true;
      }
    }
    if (have_head) {
      size_t start = head.head_size;
      if (head.body == http::BodyKind::kNone) {
        body_end = start;
        complete = true;
      } else if (head.body == http::BodyKind::kContentLength) {
        if (data.size() - start >= head.content_length) {
          body_end = start + head.content_length;
          complete = true;
        }
      } else if (head.body == http::BodyKind::kChunked) {
        bool done = false;
        http::ParseError perr;
        chunked.Reset();
        dechunked.clear();
        size_t used =
            chunked.Consume(std::string_view(data).substr(start), &done, &perr, &dechunked);
        if (used == 0 && data.size() > start && !done && perr.reason[0] != '\0') {
          out.error = std::string("bad chunked body: ") + perr.reason;
          break;
        }
        if (done) {
          body_end = start + used;
          complete = true;
        }
      } else if (closed) {
        body_end = data.size();
        complete = true;
      }
      if (complete) break;
    }
    if (closed) break;
    if (data.size() > kMaxResponseBytes) {
      out.error = "response too large";
      break;
    }
    char buf[16384];
    size_t n = co_await conn.socket->async_read_some(asio::buffer(buf),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    data.append(buf, n);
    if (ec == asio::error::eof) {
      closed = true;
      ec = {};
    }
  }
  watchdog.cancel();
  if (complete) {
    out.status = head.status;
    std::string_view body =
        std::string_view(data).substr(head.head_size, body_end - head.head_size);
    out.body = head.body == http::BodyKind::kChunked ? std::move(dechunked) : std::string(body);
    bool reusable = head.keep_alive && !closed && body_end == data.size() &&
                    head.body != http::BodyKind::kUntilClose;
    if (reusable && u.idle.size() < options_.max_idle_per_user) {
      u.idle.push_back(std::move(conn));
    } else {
      std::error_code ignored;
      conn.socket->close(ignored);
    }
    co_return out;
  }
  std::error_code ignored;
  conn.socket->close(ignored);
  if (out.error.empty()) {
    bool timed_out = NowNanos() >= deadline_nanos;
    out.error = timed_out ? "timeout" : (ec ? ec.message() : "connection closed");
    // A connection that broke before any byte of a response: retry is safe.
    out.retryable = !timed_out && data.empty();
    (void)reused;
  }
  co_return out;
}

}  // namespace nines::drill
