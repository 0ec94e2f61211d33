// Loader: produces batches 0, 1, 2, ... on background threads and hands them out in index order.
//
// Contract:
//  - The producer is a pure function of the index: batch i must depend only on i (derive its Rng
//    from a seed and i, e.g. Rng(Rng::derive(seed, i))). The loader then delivers exactly the
//    batches a synchronous loop would, in the same order, for any thread count.
//  - Bounded: a producer may start index i only while i < n + capacity, where n is the index the
//    consumer's latest next() call asked for (0 before the first call). So at most `capacity`
//    batches are in production or waiting, counting the one last returned, which the consumer
//    holds until it calls next() again.
//  - Errors: an exception thrown by the producer for index i is re-thrown, as the same exception
//    object, by the next() call that reaches index i (earlier batches are delivered first); that
//    call and every later one throw it, and no index after i is started.
//  - Shutdown: the destructor stops the threads and waits for the batches in production to
//    finish (it cannot interrupt the producer), then drops everything undelivered. A consumer
//    may stop at any point.
//  - threads = 0 runs the producer synchronously inside next(), in the caller's thread.
//  - Producer threads run with autograd off (torch::NoGradGuard): loading never needs gradients.
//  - next() is for one consumer thread; the producer is called concurrently from the threads.
#pragma once

#include <any>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace orch {

struct LoaderOptions {
  int threads = 2;   // background producer threads; 0 = synchronous
  int capacity = 4;  // batches in production or ready at once (>= 1)
};

inline constexpr int64_t kUnbounded = -1;  // a count for an endless stream of indices

// The type-erased engine behind Loader<Batch>; thread handling lives in loader.cpp.
class OrderedProducer {
 public:
  using Job = std::function<std::any(int64_t)>;
  OrderedProducer(Job job, int64_t count, LoaderOptions options);
  ~OrderedProducer();
  OrderedProducer(const OrderedProducer&) = delete;
  OrderedProducer& operator=(const OrderedProducer&) = delete;

  std::optional<std::any> next();  // nullopt after `count` items

 private:
  struct Slot {
    std::any value;
    std::exception_ptr error;
  };
  void work();
  bool may_start() const;  // with mu_ held

  Job job_;
  int64_t count_;
  LoaderOptions options_;
  std::mutex mu_;
  std::condition_variable startable_;  // producers wait for room in the window
  std::condition_variable ready_;      // the consumer waits for its index
  int64_t next_start_ = 0;             // next index a producer will take
  int64_t window_base_ = 0;            // index of the consumer's latest request
  int64_t next_out_ = 0;               // next index next() returns
  bool stopping_ = false;
  bool failed_ = false;                 // a producer threw: start nothing more
  std::exception_ptr delivered_error_;  // re-thrown by every next() once reached
  std::map<int64_t, Slot> done_;        // finished, not yet delivered (the reorder buffer)
  std::vector<std::thread> threads_;
};

// Batch must be copy-constructible (a struct of tensors is: copies share storage).
template <typename Batch>
class Loader {
 public:
  using Producer = std::function<Batch(int64_t index)>;
  // Produces indices 0 .. count-1 (count = kUnbounded: forever).
  Loader(Producer producer, int64_t count, LoaderOptions options = {})
      : engine_([p = std::move(producer)](int64_t i) { return std::any(p(i)); }, count, options) {}

  // The next batch in index order, nullopt at the end; re-throws a producer's exception.
  std::optional<Batch> next() {
    auto item = engine_.next();
    if (!item) return std::nullopt;
    return std::any_cast<Batch>(std::move(*item));
  }

 private:
  OrderedProducer engine_;
};

}  // namespace orch
