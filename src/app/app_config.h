// app.toml: what `nines app` serves and where its store is (docs/app.md).
// Read with base/config's TableReader so every mistake is FILE:LINE:COL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"

namespace nines::app {

struct AppConfig {
  std::string name = "app";        // shown in GET / and stamped into orders
  std::string region;              // shown in GET / and stamped into orders
  Endpoint listen;                 // HTTP
  std::vector<Endpoint> store;     // RESP addresses of the store members, nearest first
  std::string store_password;      // the store's requirepass (or store_password_file)
  int store_timeout_ms = 3000;     // one HTTP request's budget through store failures
  int drain_ms = 5000;             // SIGTERM: longest wait for in-flight requests
  int drain_linger_ms = 0;         // SIGTERM: keep serving (healthz 503) at least this long
  int max_connections = 1024;      // HTTP connections
  int max_pending = 4096;          // store operations queued or in flight, beyond: 503
  int store_connections = 2;       // pipelined RESP connections per store member
  int max_body_bytes = 64 * 1024;  // POST /orders body, beyond: 413
  int health_interval_ms = 500;    // PING every member this often
  int healthy_within_ms = 2000;    // /healthz: a PING answered within this long
  // The lease of a POST's claim on its Idempotency-Key (a store TTL the owner
  // renews every third of it): how soon another app may take over the key of
  // an app that died mid-request. At most MaxIdempotencyLeaseMs (default:
  // 1000, or half of a shorter store_timeout_ms, or that maximum).
  int idempotency_lease_ms = 1000;
};

// A request that finds another request's claim on its key waits (polling the
// store) for three quarters of store_timeout_ms, leaving a quarter to claim,
// INCR and write the order after a takeover.
int ClaimWaitMs(int store_timeout_ms);
// How often a waiting request looks again: lease/20, 5..50 ms.
int ClaimPollMs(int lease_ms);
// The store's expiry tick: log time, which judges a lease, moves in steps of
// about this much (the leader's kPurgeExpired, docs/store.md), so a claim
// reads as present for up to this long after its lease.
constexpr int kStoreExpiryTickMs = 100;
// The longest lease a waiter outlasts within ClaimWaitMs: lease + tick +
// poll < ClaimWaitMs. Below 30 (the least lease) when store_timeout_ms is too
// short for any.
int MaxIdempotencyLeaseMs(int store_timeout_ms);

// Parses TOML text; nullopt with errors (FILE:LINE:COL: message) on any problem.
std::optional<AppConfig> ParseAppConfig(std::string_view text, const std::string& file,
                                        ConfigErrors* errors);
std::optional<AppConfig> ReadAppConfig(const std::string& file, ConfigErrors* errors);

}  // namespace nines::app
