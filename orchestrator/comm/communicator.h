// Communicator: the only way orch's ranks talk. Point-to-point messages of bytes with a tag,
// plus broadcast and barrier. MpiCommunicator (mpi_communicator.cpp, the only file that includes
// mpi.h) implements it over MPI_COMM_WORLD; LocalCommunicator connects threads of one process,
// which is how a run without mpirun and the protocol tests work.
//
// Contract (as in c10d): broadcast and barrier are collective and must be called in the same
// order by every rank. send never blocks for long (messages are buffered); receive returns
// messages from one source in the order they were sent.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace orch {

struct Message {
  int source = -1;
  int tag = 0;
  std::string payload;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void send(int dest, int tag, const std::string& payload) = 0;
  // Waits up to `timeout` for a message from any rank; nullopt when none arrived.
  virtual std::optional<Message> receive(std::chrono::milliseconds timeout) = 0;
  virtual void broadcast(std::string& payload, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace orch
