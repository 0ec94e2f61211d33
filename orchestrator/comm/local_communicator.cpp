#include "orchestrator/comm/local_communicator.h"

#include "common/status.h"

namespace orch {

namespace {
constexpr int kBroadcastTag = -100;  // private to LocalCommunicator::broadcast
}

LocalHub::LocalHub(int size) {
  if (size < 1) throw Error("LocalHub needs at least one rank");
  for (int i = 0; i < size; ++i) boxes_.push_back(std::make_unique<Box>());
}

void LocalHub::post(int dest, Message m) {
  if (dest < 0 || dest >= size())
    throw Error("send to rank " + std::to_string(dest) + " of " + std::to_string(size()));
  Box& b = *boxes_[static_cast<size_t>(dest)];
  {
    std::lock_guard<std::mutex> lock(b.mu);
    b.queue.push_back(std::move(m));
  }
  b.cv.notify_all();
}

std::optional<Message> LocalHub::take(int rank, int tag, std::chrono::milliseconds timeout) {
  Box& b = *boxes_[static_cast<size_t>(rank)];
  std::unique_lock<std::mutex> lock(b.mu);
  std::optional<Message> out;
  b.cv.wait_for(lock, timeout, [&] {
    for (auto it = b.queue.begin(); it != b.queue.end(); ++it)
      if ((tag < 0 && it->tag != kBroadcastTag) || it->tag == tag) {
        out = std::move(*it);
        b.queue.erase(it);
        return true;
      }
    return false;
  });
  return out;
}

void LocalHub::arrive_and_wait() {
  std::unique_lock<std::mutex> lock(barrier_mu_);
  const long gen = generation_;
  if (++arrived_ == size()) {
    arrived_ = 0;
    ++generation_;
    barrier_cv_.notify_all();
    return;
  }
  barrier_cv_.wait(lock, [&] { return generation_ != gen; });
}

void LocalCommunicator::send(int dest, int tag, const std::string& payload) {
  hub_->post(dest, Message{rank_, tag, payload});
}

std::optional<Message> LocalCommunicator::receive(std::chrono::milliseconds timeout) {
  return hub_->take(rank_, -1, timeout);
}

void LocalCommunicator::broadcast(std::string& payload, int root) {
  if (rank_ == root) {
    for (int r = 0; r < size(); ++r)
      if (r != root) hub_->post(r, Message{rank_, kBroadcastTag, payload});
  } else {
    payload = hub_->take(rank_, kBroadcastTag, std::chrono::hours(24 * 365))->payload;
  }
}

}  // namespace orch
