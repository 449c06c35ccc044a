// Reading app.toml: required keys, ranges, and the store address list.
#include "app/app_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/log.h"
#include "base/secret.h"

namespace nines::app {
namespace {

constexpr int kMinLeaseMs = 30;

// The least store_timeout_ms with room for the least lease.
int MinStoreTimeoutMs() {
  int t = 100;
  while (MaxIdempotencyLeaseMs(t) < kMinLeaseMs) ++t;
  return t;
}

std::optional<AppConfig> ReadRoot(const ConfigValue& root, const std::string& file,
                                  ConfigErrors* errors) {
  size_t errors_before = errors->lines().size();
  AppConfig config;
  TableReader t(&root, file, "", errors);
  config.name = t.String("name", config.name);
  config.region = t.String("region", config.region);
  if (config.name.empty()) t.ErrorAt("name", "'name' must not be empty");
  if (auto listen = t.EndpointValue("listen", true)) config.listen = *listen;
  if (!t.Has("store")) {
    t.Error("missing required key 'store' (a list of \"HOST:PORT\" RESP addresses)");
  } else {
    std::vector<std::string> addresses = t.Strings("store");
    const ConfigEntry* entry = root.Find("store");
    if (entry && entry->value.type == ConfigValue::Type::kArray) {
      if (entry->value.array.empty()) t.ErrorAt("store", "'store' must list at least one member");
      if (entry->value.array.size() > 16) t.ErrorAt("store", "'store' lists more than 16 members");
      for (const ConfigValue& item : entry->value.array) {
        if (item.type != ConfigValue::Type::kString) continue;  // reported by Strings()
        Endpoint e;
        if (Status s = ParseEndpoint(item.string_value, &e); !s.ok()) {
          errors->Add(file, item.pos, fmt::format("'store': {}", s.message()));
          continue;
        }
        config.store.push_back(e);
      }
    }
  }
  // The store's requirepass: store_password_file (preferred) or store_password.
  config.store_password = t.String("store_password", "");
  std::string password_file = t.String("store_password_file", "");
  if (!password_file.empty()) {
    if (t.Has("store_password")) {
      t.ErrorAt("store_password_file", "set 'store_password' or 'store_password_file', not both");
    }
    std::string secret, warning;
    if (Status s = ReadSecretFile(password_file, file, &secret, &warning); s.ok()) {
      config.store_password = secret;
      if (!warning.empty()) LogWarn("app", "{}: store_password_file: {}", file, warning);
    } else {
      t.ErrorAt("store_password_file", "store_password_file: " + s.message());
    }
  }
  config.store_timeout_ms =
      static_cast<int>(t.Integer("store_timeout_ms", config.store_timeout_ms, 100, 600000));
  config.drain_ms = static_cast<int>(t.Integer("drain_ms", config.drain_ms, 0, 600000));
  config.drain_linger_ms =
      static_cast<int>(t.Integer("drain_linger_ms", config.drain_linger_ms, 0, 600000));
  if (config.drain_linger_ms > config.drain_ms) {
    t.ErrorAt("drain_linger_ms", "'drain_linger_ms' must not exceed 'drain_ms'");
  }
  config.max_connections =
      static_cast<int>(t.Integer("max_connections", config.max_connections, 1, 1000000));
  config.max_pending = static_cast<int>(t.Integer("max_pending", config.max_pending, 1, 1000000));
  config.store_connections =
      static_cast<int>(t.Integer("store_connections", config.store_connections, 1, 64));
  config.max_body_bytes =
      static_cast<int>(t.Integer("max_body_bytes", config.max_body_bytes, 16, 16 << 20));
  config.health_interval_ms =
      static_cast<int>(t.Integer("health_interval_ms", config.health_interval_ms, 10, 60000));
  config.healthy_within_ms =
      static_cast<int>(t.Integer("healthy_within_ms", config.healthy_within_ms, 10, 600000));
  // Default: 1000, or half of a shorter store_timeout_ms, or the longest a
  // waiter outlasts (a 30 ms floor: an error below).
  int max_lease = MaxIdempotencyLeaseMs(config.store_timeout_ms);
  config.idempotency_lease_ms = static_cast<int>(t.Integer(
      "idempotency_lease_ms",
      std::max(kMinLeaseMs,
               std::min({config.idempotency_lease_ms, config.store_timeout_ms / 2, max_lease})),
      kMinLeaseMs, 600000));
  if (config.idempotency_lease_ms > max_lease) {
    int lease = config.idempotency_lease_ms;
    std::string message = fmt::format(
        "'idempotency_lease_ms' ({}) plus the store's expiry tick ({} ms) and a waiter's poll "
        "({} ms) must be below three quarters of 'store_timeout_ms' ({} ms): a retry waits out "
        "a dead request's lease within that; ",
        lease, kStoreExpiryTickMs, ClaimPollMs(lease), ClaimWaitMs(config.store_timeout_ms));
    message += max_lease >= kMinLeaseMs
                   ? fmt::format("at most {} with this store_timeout_ms", max_lease)
                   : fmt::format("'store_timeout_ms' must be at least {} for any lease",
                                 MinStoreTimeoutMs());
    t.ErrorAt(t.Has("idempotency_lease_ms") ? "idempotency_lease_ms" : "store_timeout_ms", message);
  }
  t.Finish();
  if (errors->lines().size() != errors_before) return std::nullopt;
  return config;
}

}  // namespace

int ClaimWaitMs(int store_timeout_ms) {
  return store_timeout_ms - store_timeout_ms / 4;
}

int ClaimPollMs(int lease_ms) {
  return std::clamp(lease_ms / 20, 5, 50);
}

int MaxIdempotencyLeaseMs(int store_timeout_ms) {
  int lease = ClaimWaitMs(store_timeout_ms);
  while (lease > 0 &&
         lease + kStoreExpiryTickMs + ClaimPollMs(lease) >= ClaimWaitMs(store_timeout_ms)) {
    --lease;
  }
  return lease;
}

std::optional<AppConfig> ParseAppConfig(std::string_view text, const std::string& file,
                                        ConfigErrors* errors) {
  std::optional<ConfigValue> root = ParseConfigText(text, file, errors);
  if (!root) return std::nullopt;
  return ReadRoot(*root, file, errors);
}

std::optional<AppConfig> ReadAppConfig(const std::string& file, ConfigErrors* errors) {
  std::optional<ConfigValue> root = LoadConfigFile(file, errors);
  if (!root) return std::nullopt;
  return ReadRoot(*root, file, errors);
}

}  // namespace nines::app
