// One HTTP/2 client connection through the load balancer: an H2Session fed
// from a ByteStream (plain TCP with prior knowledge, or TLS after ALPN
// picked "h2"), and one H2Stream per request, each relayed to a server over
// HTTP/1.1 along the same path as HTTP/1.1 requests (request_path.h).
//
// Over TLS: after a handshake whose ALPN selected "h2", the handler that
// LoadBalancer::Start registers in LbShared::tls_protocols runs
//   std::make_shared<H2Connection>(worker, MakeTlsByteStream(...), "https")->Start();
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/h2_session.h"
#include "lb/byte_stream.h"
#include "lb/worker.h"

namespace nines::lb {

class H2Stream;

class H2Connection : public std::enable_shared_from_this<H2Connection>, public http::H2Handler {
 public:
  // `proto` is what X-Forwarded-Proto tells the servers: "http" or "https".
  H2Connection(Worker& worker, std::unique_ptr<ByteStream> stream, std::string proto);
  ~H2Connection() override;

  void Start(std::string_view already_read = {});
  void Close();
  // The worker's 100 ms sweep: streams' deadlines, idle timeout, drain.
  void OnSweep(int64_t now_ms);
  // Writes what the session has to say, once the handlers ready now have
  // run (one write for the responses of many streams, not one each).
  void Flush();

  http::H2Session& session() { return *session_; }
  Worker& worker() { return worker_; }
  const std::string& client_ip() const { return client_ip_; }
  uint32_t client_ip_number() const { return client_ip_number_; }
  const std::string& proto() const { return proto_; }

  // http::H2Handler
  void OnRequest(int32_t stream, http::H2Request request) override;
  void OnRequestData(int32_t stream, std::string_view data) override;
  void OnRequestEnd(int32_t stream) override;
  void OnStreamClose(int32_t stream, uint32_t error_code) override;
  void OnResponseDrained(int32_t stream) override;
  void OnLimit(http::H2Limit limit) override;

 private:
  void Read();
  void WriteOutput();
  H2Stream* Find(int32_t stream);

  Worker& worker_;
  LbShared& shared_;
  std::unique_ptr<ByteStream> stream_;
  std::string proto_;
  std::string client_ip_;
  uint32_t client_ip_number_ = 0;
  std::unique_ptr<http::H2Session> session_;
  std::map<int32_t, std::shared_ptr<H2Stream>> streams_;
  std::vector<char> in_;
  std::string out_;
  bool reading_ = false;
  bool writing_ = false;
  bool in_session_ = false;  // inside a Receive or TakeOutput: no Flush now
  bool flush_posted_ = false;
  bool shutdown_sent_ = false;
  bool had_request_ = false;  // until then the idle limit is request_header_ms
  bool closed_ = false;
  int64_t idle_since_ms_ = 0;  // no stream open since then
};

}  // namespace nines::lb
