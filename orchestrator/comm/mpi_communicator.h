// MpiCommunicator: Communicator over MPI_COMM_WORLD. Construct once per process, after which
// MPI is initialised (MPI_THREAD_FUNNELED: only the thread that constructed it may call it);
// the destructor finalises MPI. Every MPI call is checked, with MPI_ERRORS_RETURN set so the
// checks can fire, and throws orch::Error with the call, file, line and MPI's error string.
#pragma once

#include <memory>

#include "orchestrator/comm/communicator.h"

namespace orch {

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int dest, int tag, const std::string& payload) override;
  // Polls with MPI_Iprobe and short sleeps instead of a blocking receive: Open MPI's blocking
  // receive spins a core, which would starve the worker ranks sharing the machine.
  std::optional<Message> receive(std::chrono::milliseconds timeout) override;
  void broadcast(std::string& payload, int root) override;
  void barrier() override;
  // Ends every rank at once (MPI_Abort); for errors a rank cannot report through the protocol.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace orch
