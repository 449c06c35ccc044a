// lb.toml reader.
#include "lb/lb_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <thread>

#include "base/log.h"
#include "base/secret.h"
#include "http/admin_token.h"
#include "http/parser.h"
#include "lb/lb_command.h"

namespace nines::lb {

const char* BalanceModeName(BalanceMode mode) {
  switch (mode) {
    case BalanceMode::kRoundRobin:
      return "round_robin";
    case BalanceMode::kLeastConn:
      return "least_conn";
    case BalanceMode::kPowerOfTwo:
      return "p2c";
    case BalanceMode::kHashIp:
      return "hash_ip";
    case BalanceMode::kHashHeader:
      return "hash_header";
  }
  return "?";
}

namespace {

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void ReadBalance(TableReader& root, LbConfig* config) {
  std::string balance = root.String("balance", "least_conn");
  if (balance == "round_robin") {
    config->balance = BalanceMode::kRoundRobin;
  } else if (balance == "least_conn") {
    config->balance = BalanceMode::kLeastConn;
  } else if (balance == "p2c") {
    config->balance = BalanceMode::kPowerOfTwo;
  } else if (balance == "hash_ip") {
    config->balance = BalanceMode::kHashIp;
  } else if (balance.rfind("hash_header:", 0) == 0) {
    config->balance = BalanceMode::kHashHeader;
    config->hash_header = balance.substr(12);
    bool ok = !config->hash_header.empty();
    for (char c : config->hash_header) ok = ok && IsTokenChar(c);
    if (!ok)
      root.ErrorAt("balance",
                   "'balance': hash_header needs a header name, e.g. hash_header:X-User");
  } else {
    root.ErrorAt("balance",
                 fmt::format("'balance' must be round_robin, least_conn, p2c, hash_ip or "
                             "hash_header:NAME, not \"{}\"",
                             balance));
  }
}

void ReadTimeouts(TableReader& t, LbTimeouts* out) {
  auto get = [&t](const char* key, int fallback) {
    return static_cast<int>(t.Integer(key, fallback, 1, 86400000));
  };
  out->request_header_ms = get("request_header_ms", out->request_header_ms);
  out->client_idle_ms = get("client_idle_ms", out->client_idle_ms);
  out->client_body_ms = get("client_body_ms", out->client_body_ms);
  out->connect_ms = get("connect_ms", out->connect_ms);
  out->server_ms = get("server_ms", out->server_ms);
  out->pool_idle_ms = get("pool_idle_ms", out->pool_idle_ms);
  out->drain_ms = get("drain_ms", out->drain_ms);
  t.Finish();
}

void ReadOutlier(TableReader& t, OutlierConfig* out) {
  out->consecutive_failures =
      static_cast<int>(t.Integer("consecutive_failures", out->consecutive_failures, 0, 1000));
  out->base_ejection_ms =
      static_cast<int>(t.Integer("base_ejection_ms", out->base_ejection_ms, 1, 86400000));
  out->max_ejection_ms =
      static_cast<int>(t.Integer("max_ejection_ms", out->max_ejection_ms, 1, 86400000));
  out->max_ejection_percent =
      static_cast<int>(t.Integer("max_ejection_percent", out->max_ejection_percent, 0, 100));
  out->panic_threshold =
      static_cast<int>(t.Integer("panic_threshold", out->panic_threshold, 0, 100));
  out->latency_ms = static_cast<int>(t.Integer("latency_ms", out->latency_ms, 0, 86400000));
  out->latency_factor = static_cast<int>(t.Integer("latency_factor", out->latency_factor, 1, 1000));
  out->latency_min_samples =
      static_cast<int>(t.Integer("latency_min_samples", out->latency_min_samples, 1, 1000000));
  t.Finish();
}

void ReadRateLimit(TableReader& t, RateLimitConfig* out) {
  if (t.Has("per_client")) out->per_client = t.RateValue("per_client");
  out->per_client_burst = t.Integer("per_client_burst", 0, 1, 1000000000);
  std::string key = t.String("client_key", "ip");
  if (key.rfind("header:", 0) == 0 && key.size() > 7) {
    out->client_header = key.substr(7);
  } else if (key != "ip") {
    t.ErrorAt("client_key",
              fmt::format("'{}.client_key' must be ip or header:NAME, not \"{}\"", t.path(), key));
  }
  for (const std::string& text : t.Strings("trusted_proxies")) {
    Ipv4Network net;
    if (!ParseIpv4Network(text, &net)) {
      t.ErrorAt("trusted_proxies",
                fmt::format("'{}.trusted_proxies': bad network \"{}\"", t.path(), text));
    }
    out->trusted_proxies.push_back(net);
  }
  out->max_clients = static_cast<size_t>(t.Integer("max_clients", 100000, 1, 100000000));
  if (t.Has("global")) out->global = t.RateValue("global");
  out->global_burst = t.Integer("global_burst", 0, 1, 1000000000);
  t.Finish();
}

void ReadCluster(TableReader& t, LbConfig* config) {
  ratelimit::ClusterConfig c;
  if (auto bind = t.EndpointValue("bind", true)) c.bind = *bind;
  for (const std::string& text : t.Strings("peers")) {
    Endpoint e;
    if (Status s = ParseEndpoint(text, &e); !s.ok()) {
      t.ErrorAt("peers", fmt::format("'{}.peers': {}", t.path(), s.message()));
      continue;
    }
    c.peers.push_back(e);
  }
  c.id = t.String("id", "");
  if (std::string key_file = t.String("key_file", ""); !key_file.empty()) {
    std::string key, warning;
    if (Status s = ReadSecretFile(key_file, t.file(), &key, &warning); s.ok()) {
      c.key = key;
      if (!warning.empty()) LogWarn("lb", "{}: [cluster] key_file: {}", t.file(), warning);
    } else {
      t.ErrorAt("key_file", fmt::format("'{}.key_file': {}", t.path(), s.message()));
    }
  }
  c.interval_ms = static_cast<int>(t.Integer("interval_ms", c.interval_ms, 10, 10000));
  c.peer_timeout_ms = static_cast<int>(t.Integer("peer_timeout_ms", c.peer_timeout_ms, 50, 600000));
  if (c.peer_timeout_ms < 2 * c.interval_ms) {
    t.ErrorAt("peer_timeout_ms",
              fmt::format("'{}.peer_timeout_ms' must be at least twice interval_ms", t.path()));
  }
  t.Finish();
  config->cluster = c;
}

void ReadH2(TableReader& t, H2Config* out) {
  if (t.Has("listen")) out->listen = t.EndpointValue("listen", true);
  out->alpn = t.Bool("alpn", true);
  http::H2Limits& l = out->limits;
  auto get = [&t](const char* key, uint32_t fallback, int64_t min, int64_t max) {
    return static_cast<uint32_t>(t.Integer(key, fallback, min, max));
  };
  l.max_concurrent_streams = get("max_concurrent_streams", l.max_concurrent_streams, 1, 10000);
  l.max_header_list_size = get("max_header_list_size", l.max_header_list_size, 1024, 16 << 20);
  l.initial_window_size = get("initial_window_size", l.initial_window_size, 1024, (1u << 31) - 1);
  l.max_continuations = get("max_continuations", l.max_continuations, 0, 1000);
  l.max_resets = get("max_resets", l.max_resets, 1, 1000000);
  l.reset_window_ms = get("reset_window_ms", l.reset_window_ms, 1, 3600000);
  // Every stream may fill its window at once: the connection's window is
  // the sum, so a stream waiting for its body never waits on the others.
  l.connection_window_size = static_cast<uint32_t>(std::min<uint64_t>(
      uint64_t{l.max_concurrent_streams} * l.initial_window_size, (1u << 31) - 1));
  t.Finish();
}

// A path from the config, taken from the config file's directory when relative.
std::string ConfigRelative(const std::string& path, const std::string& config_file) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(config_file).parent_path() / p;
  return p.string();
}

void ReadTls(TableReader& t, LbConfig* config) {
  LbTlsConfig c;
  if (auto listen = t.EndpointValue("listen", true)) c.listen = *listen;
  c.server.min_version = t.String("min_version", "1.2");
  if (tls::ParseTlsVersion(c.server.min_version) == 0) {
    t.ErrorAt("min_version", fmt::format("'{}.min_version' must be \"1.2\" or \"1.3\"", t.path()));
  }
  c.server.ciphers = t.String("ciphers", tls::kIntermediateCiphers);
  c.server.ciphersuites = t.String("ciphersuites", tls::kIntermediateSuites);
  c.handshake_timeout_ms =
      static_cast<int>(t.Integer("handshake_timeout_ms", c.handshake_timeout_ms, 1, 600000));
  c.max_handshakes = static_cast<int>(t.Integer("max_handshakes", c.max_handshakes, 1, 1000000));
  c.session_tickets = t.Bool("session_tickets", true);
  c.ticket_key_rotate_ms = static_cast<int>(
      t.Integer("ticket_key_rotate_ms", c.ticket_key_rotate_ms, 1000, 7 * 86400000));
  c.server.session_timeout_s = std::max(1, c.ticket_key_rotate_ms / 1000 * 2);
  c.redirect_http = t.Bool("redirect_http", false);
  c.hsts_max_age_s = t.Integer("hsts_max_age_s", 0, 0, 10LL * 365 * 86400);
  c.hsts_include_subdomains = t.Bool("hsts_include_subdomains", false);
  std::vector<TableReader> certs = t.TableArray("certificate");
  if (certs.empty()) t.Error("[tls] needs at least one [[tls.certificate]] (cert and key)");
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (TableReader& ct : certs) {
    std::optional<std::string> cert = ct.RequiredString("cert");
    std::optional<std::string> key = ct.RequiredString("key");
    ct.Finish();
    if (!cert || !key) continue;
    tls::CertificateFiles files{ConfigRelative(*cert, t.file()), ConfigRelative(*key, t.file())};
    tls::CertificateReport report = tls::CheckCertificate(files, now);
    for (const std::string& e : report.errors) ct.ErrorAt("cert", e);
    SourcePos pos = ct.PosOf("cert");
    for (const std::string& w : report.warnings) {
      c.warnings.push_back(fmt::format("{}:{}:{}: warning: {}", t.file(), pos.line, pos.column, w));
    }
    c.server.certificates.push_back(files);
  }
  t.Finish();
  // The ciphers and the rest are checked by building the contexts once.
  if (t.errors()->empty()) {
    std::shared_ptr<tls::ServerContext> unused;
    if (Status s = tls::ServerContext::Build(c.server, nullptr, &unused); !s.ok()) {
      t.Error(fmt::format("[tls]: {}", s.message()));
    }
  }
  config->tls = std::move(c);
}

}  // namespace

bool RateLimitConfig::operator==(const RateLimitConfig& o) const {
  auto same_rate = [](const std::optional<Rate>& a, const std::optional<Rate>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->count == b->count && a->window_seconds == b->window_seconds));
  };
  if (trusted_proxies.size() != o.trusted_proxies.size()) return false;
  for (size_t i = 0; i < trusted_proxies.size(); ++i) {
    if (trusted_proxies[i].address != o.trusted_proxies[i].address ||
        trusted_proxies[i].prefix != o.trusted_proxies[i].prefix) {
      return false;
    }
  }
  return same_rate(per_client, o.per_client) && per_client_burst == o.per_client_burst &&
         client_header == o.client_header && max_clients == o.max_clients &&
         same_rate(global, o.global) && global_burst == o.global_burst;
}

std::optional<LbConfig> ReadLbConfig(const std::string& file, ConfigErrors* errors) {
  std::optional<ConfigValue> root_value = LoadConfigFile(file, errors);
  if (!root_value) return std::nullopt;
  LbConfig config;
  config.file = file;
  TableReader root(&*root_value, file, "", errors);

  if (auto listen = root.EndpointValue("listen", true)) config.listen = *listen;
  if (auto admin = root.EndpointValue("admin", true)) config.admin = *admin;
  config.admin_token = http::ReadAdminToken(root, config.admin, "admin", "lb");
  ReadBalance(root, &config);
  config.retries = static_cast<int>(root.Integer("retries", config.retries, 0, 10));
  config.retry_budget_ratio = root.Float("retry_budget", config.retry_budget_ratio);
  if (config.retry_budget_ratio < 0 || config.retry_budget_ratio > 1) {
    root.ErrorAt("retry_budget", "'retry_budget' must be between 0 and 1 (share of requests)");
  }
  config.idempotency_key_header = root.String("idempotency_key_header", "");
  if (!std::all_of(config.idempotency_key_header.begin(), config.idempotency_key_header.end(),
                   IsTokenChar)) {
    root.ErrorAt("idempotency_key_header",
                 "'idempotency_key_header' must be a header name (letters, digits and "
                 "!#$%&'*+-.^_`|~)");
  } else if (!config.idempotency_key_header.empty() &&
             http::IsHopByHop(config.idempotency_key_header, "")) {
    root.ErrorAt("idempotency_key_header",
                 "'idempotency_key_header' cannot be a hop-by-hop header: it would not reach "
                 "the servers");
  }
  config.threads = static_cast<int>(root.Integer("threads", 0, 0, 256));
  if (config.threads == 0) {
    config.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  config.max_connections =
      static_cast<int>(root.Integer("max_connections", config.max_connections, 1, 1000000));
  config.max_idle_per_server =
      static_cast<int>(root.Integer("max_idle_per_server", config.max_idle_per_server, 0, 100000));
  config.max_buffered_body = static_cast<size_t>(root.Integer(
      "max_buffered_body", static_cast<int64_t>(config.max_buffered_body), 0, 16 << 20));

  if (auto health = root.Table("health")) {
    config.health = health::ReadHealthSpec(*health);
    health->Finish();
  }
  if (auto outlier = root.Table("outlier")) ReadOutlier(*outlier, &config.outlier);
  if (auto timeouts = root.Table("timeouts")) ReadTimeouts(*timeouts, &config.timeouts);
  if (auto rate_limit = root.Table("rate_limit")) ReadRateLimit(*rate_limit, &config.rate_limit);
  if (auto cluster = root.Table("cluster")) ReadCluster(*cluster, &config);
  if (auto tls = root.Table("tls")) ReadTls(*tls, &config);
  if (auto h2 = root.Table("h2")) {
    ReadH2(*h2, &config.h2);
    if (config.h2.listen &&
        (*config.h2.listen == config.listen || *config.h2.listen == config.admin ||
         (config.tls && *config.h2.listen == config.tls->listen))) {
      root.ErrorAt("h2", "'h2.listen' must differ from 'listen', 'admin' and 'tls.listen'");
    }
  }
  config.max_queue = static_cast<int>(root.Integer("max_queue", config.max_queue, 0, 1000000));
  config.queue_timeout_ms =
      static_cast<int>(root.Integer("queue_timeout_ms", config.queue_timeout_ms, 1, 3600000));
  if (config.cluster && !config.rate_limit.global) {
    root.ErrorAt("cluster", "[cluster] shares the global limit: set rate_limit.global too");
  }

  std::set<std::string> names;
  std::vector<TableReader> servers = root.TableArray("server");
  if (servers.empty() && root.Has("server") == false) {
    root.Error("at least one [[server]] is required");
  }
  for (TableReader& s : servers) {
    LbServerConfig server;
    if (auto name = s.RequiredString("name")) {
      server.name = *name;
      if (server.name.empty() || server.name.find_first_of("/ \t\"") != std::string::npos) {
        s.ErrorAt("name", fmt::format("'{}.name' must be non-empty, without '/', space or quote",
                                      s.path()));
      } else if (!names.insert(server.name).second) {
        s.ErrorAt("name", fmt::format("duplicate server name \"{}\"", server.name));
      }
    }
    if (auto address = s.EndpointValue("address", true)) server.address = *address;
    server.weight = static_cast<int>(s.Integer("weight", 1, 1, 256));
    server.backup = s.Bool("backup", false);
    server.max_conn = static_cast<int>(s.Integer("max_conn", 0, 0, 1000000));
    s.Finish();
    config.servers.push_back(std::move(server));
  }
  root.Finish();
  if (!errors->empty()) return std::nullopt;
  return config;
}

}  // namespace nines::lb

namespace nines {

// `nines check` for lb configs (declared in lb_command.h, beside `nines lb`).
Status CheckLbConfig(const std::string& file) {
  ConfigErrors errors;
  std::optional<lb::LbConfig> config = lb::ReadLbConfig(file, &errors);
  // Warnings do not make the config invalid: they go to stderr beside the verdict.
  if (config && config->tls) {
    for (const std::string& w : config->tls->warnings) std::fprintf(stderr, "%s\n", w.c_str());
  }
  return errors.ToStatus();
}

}  // namespace nines
