// A fixed group of event loops, one Asio io_context per thread (the
// HAProxy/nginx worker model without processes): a connection lives on one
// loop for its whole life, so its handlers never need locks.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace nines {

class EventLoopGroup {
 public:
  explicit EventLoopGroup(int threads);
  ~EventLoopGroup();
  EventLoopGroup(const EventLoopGroup&) = delete;
  EventLoopGroup& operator=(const EventLoopGroup&) = delete;

  int size() const { return static_cast<int>(loops_.size()); }
  asio::io_context& loop(int i) { return *loops_[i]->io; }

  void Start();  // one thread per loop
  void Stop();   // stops every loop and joins the threads
  // Runs fn on every loop (asynchronously).
  void PostToAll(const std::function<void(int index)>& fn);

 private:
  struct Loop {
    std::unique_ptr<asio::io_context> io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  bool started_ = false;
};

}  // namespace nines
