// LocalCommunicator: a Communicator between threads of one process. A LocalHub owns one mailbox
// per rank; each thread uses the LocalCommunicator for its rank. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "orchestrator/comm/communicator.h"

namespace orch {

class LocalHub {
 public:
  explicit LocalHub(int size);
  int size() const { return static_cast<int>(boxes_.size()); }
  void post(int dest, Message m);
  // Next message for `rank` whose tag matches (any tag when tag < 0), waiting up to `timeout`.
  std::optional<Message> take(int rank, int tag, std::chrono::milliseconds timeout);
  void arrive_and_wait();  // barrier over all ranks

 private:
  struct Box {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Message> queue;
  };
  std::vector<std::unique_ptr<Box>> boxes_;
  std::mutex barrier_mu_;
  std::condition_variable barrier_cv_;
  int arrived_ = 0;
  long generation_ = 0;
};

class LocalCommunicator : public Communicator {
 public:
  LocalCommunicator(std::shared_ptr<LocalHub> hub, int rank) : hub_(std::move(hub)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_->size(); }
  void send(int dest, int tag, const std::string& payload) override;
  std::optional<Message> receive(std::chrono::milliseconds timeout) override;
  void broadcast(std::string& payload, int root) override;
  void barrier() override { hub_->arrive_and_wait(); }

 private:
  std::shared_ptr<LocalHub> hub_;
  int rank_;
};

}  // namespace orch
