// Micro-benchmark of the HTTP parser (not a ctest): ns per typical request and response head,
// chunked validation throughput, and the cost of re-parsing an incomplete 64 KiB head.
#include <string>

#include <benchmark/benchmark.h>

#include "http/parser.h"

namespace nines::http {
namespace {

const std::string kCurlRequest =
    "GET /api/v1/items?id=42 HTTP/1.1\r\nHost: backend.example.com\r\n"
    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

const std::string kBrowserRequest =
    "GET /static/css/site.min.css?v=20240101 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Accept: text/css,*/*;q=0.1\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Dest: style\r\n"
    "Referer: https://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=6b1f0c2e9d3a4f5b8c7d6e5f4a3b2c1d; theme=dark; consent=yes\r\n\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 20:00:00 GMT\r\n"
    "Content-Type: application/json\r\nContent-Length: 1234\r\nConnection: keep-alive\r\n"
    "Cache-Control: no-cache\r\n\r\n";

void BM_RequestHead(benchmark::State& state, const std::string& data) {
  RequestHead head;
  ParseError error;
  const Limits limits;
  for (auto _ : state) {
    const ParseStatus status = ParseRequestHead(data, limits, &head, &error);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(head.head_size);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["head_bytes"] = static_cast<double>(data.size());
}
BENCHMARK_CAPTURE(BM_RequestHead, curl, kCurlRequest);
BENCHMARK_CAPTURE(BM_RequestHead, browser, kBrowserRequest);

void BM_ResponseHead(benchmark::State& state) {
  ResponseHead head;
  ParseError error;
  const Limits limits;
  for (auto _ : state) {
    const ParseStatus status = ParseResponseHead(kResponse, limits, "GET", &head, &error);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(head.head_size);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
}
BENCHMARK(BM_ResponseHead);

void BM_ChunkedBody(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  std::string body;
  for (int i = 0; i < 64; ++i) {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", chunk);
    body += size + std::string(chunk, 'd') + "\r\n";
  }
  body += "0\r\n\r\n";
  for (auto _ : state) {
    ChunkedReader reader;
    bool done = false;
    ParseError error;
    benchmark::DoNotOptimize(reader.Consume(body, &done, &error));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ChunkedBody)->Arg(16)->Arg(1024);

// Worst case per call: an incomplete head of max_head_bytes, re-parsed from the start.
void BM_IncompleteLargeHead(benchmark::State& state) {
  std::string data = "GET / HTTP/1.1\r\nHost: h\r\n";
  while (data.size() < 65000) data += "X-Filler-Header: " + std::string(40, 'f') + "\r\n";
  RequestHead head;
  ParseError error;
  head.headers.reserve(2000);
  Limits limits;
  limits.max_headers = 2000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseRequestHead(data, limits, &head, &error));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_IncompleteLargeHead);

}  // namespace
}  // namespace nines::http

BENCHMARK_MAIN();
