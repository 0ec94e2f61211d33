#include "worker/data/loader.h"

#include <torch/torch.h>

#include "common/status.h"

namespace orch {

OrderedProducer::OrderedProducer(Job job, int64_t count, LoaderOptions options)
    : job_(std::move(job)), count_(count), options_(options) {
  if (options_.threads < 0 || options_.capacity < 1)
    throw Error("loader: threads (" + std::to_string(options_.threads) + ") must be >= 0 and " +
                "capacity (" + std::to_string(options_.capacity) + ") >= 1");
  if (count_ < 0 && count_ != kUnbounded)
    throw Error("loader: count " + std::to_string(count_) + " must be >= 0 or kUnbounded");
  threads_.reserve(static_cast<size_t>(options_.threads));
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { work(); });
}

OrderedProducer::~OrderedProducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  startable_.notify_all();
  for (auto& t : threads_) t.join();
}

bool OrderedProducer::may_start() const {
  return next_start_ < window_base_ + options_.capacity && (count_ < 0 || next_start_ < count_);
}

void OrderedProducer::work() {
  torch::NoGradGuard no_grad;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    startable_.wait(lock, [this] {
      return stopping_ || failed_ || may_start() || (count_ >= 0 && next_start_ >= count_);
    });
    if (stopping_ || failed_ || !may_start()) return;
    const int64_t index = next_start_++;
    lock.unlock();
    Slot slot;
    try {
      slot.value = job_(index);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lock.lock();
    if (slot.error) failed_ = true;
    done_.emplace(index, std::move(slot));
    ready_.notify_all();
    if (failed_) startable_.notify_all();
  }
}

std::optional<std::any> OrderedProducer::next() {
  if (delivered_error_) std::rethrow_exception(delivered_error_);
  if (count_ >= 0 && next_out_ >= count_) return std::nullopt;
  if (threads_.empty()) {
    try {
      torch::NoGradGuard no_grad;
      return job_(next_out_++);
    } catch (...) {
      delivered_error_ = std::current_exception();
      throw;
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  window_base_ = next_out_;  // the consumer is done with everything before this index
  startable_.notify_all();
  // Index next_out_ has been or will be started: indices are taken in order, and a failure
  // stops only indices after the failing one, whose slot then arrives before this wait ends.
  ready_.wait(lock, [this] { return done_.count(next_out_) > 0; });
  const auto it = done_.find(next_out_);
  Slot slot = std::move(it->second);
  done_.erase(it);
  ++next_out_;
  if (slot.error) {
    delivered_error_ = slot.error;
    std::rethrow_exception(delivered_error_);
  }
  return std::move(slot.value);
}

}  // namespace orch
