// Event loop threads.
#include "net/event_loops.h"

#include <asio/post.hpp>

#include "base/log.h"

namespace nines {

EventLoopGroup::EventLoopGroup(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->io = std::make_unique<asio::io_context>(1);  // one thread runs each context
    loop->work.emplace(loop->io->get_executor());
    loops_.push_back(std::move(loop));
  }
}

EventLoopGroup::~EventLoopGroup() {
  Stop();
}

void EventLoopGroup::Start() {
  if (started_) return;
  started_ = true;
  for (auto& loop : loops_) {
    asio::io_context* io = loop->io.get();
    loop->thread = std::thread([io] {
      try {
        io->run();
      } catch (const std::exception& e) {
        LogError("net", "event loop stopped by an exception: {}", e.what());
        std::abort();  // a broken invariant: better to crash than to serve half
      }
    });
  }
}

void EventLoopGroup::Stop() {
  for (auto& loop : loops_) {
    loop->work.reset();
    loop->io->stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  started_ = false;
}

void EventLoopGroup::PostToAll(const std::function<void(int index)>& fn) {
  for (int i = 0; i < size(); ++i) {
    asio::post(*loops_[i]->io, [fn, i] { fn(i); });
  }
}

}  // namespace nines
