#include "orchestrator/comm/mpi_communicator.h"

#include <mpi.h>

#include <thread>
#include <vector>

#include "common/status.h"

namespace orch {

namespace {

void mpi_check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              std::string(text, static_cast<size_t>(len)));
}

#define ORCH_MPI_CHECK(call) mpi_check((call), #call, __FILE__, __LINE__)

}  // namespace

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  int provided = 0;
  ORCH_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
  ORCH_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  ORCH_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  ORCH_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiCommunicator::send(int dest, int tag, const std::string& payload) {
  ORCH_MPI_CHECK(MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_CHAR, dest, tag,
                          MPI_COMM_WORLD));
}

std::optional<Message> MpiCommunicator::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    int flag = 0;
    MPI_Status status;
    ORCH_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status));
    if (flag) {
      int count = 0;
      ORCH_MPI_CHECK(MPI_Get_count(&status, MPI_CHAR, &count));
      Message m{status.MPI_SOURCE, status.MPI_TAG, std::string(static_cast<size_t>(count), '\0')};
      ORCH_MPI_CHECK(MPI_Recv(m.payload.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG,
                              MPI_COMM_WORLD, MPI_STATUS_IGNORE));
      return m;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

void MpiCommunicator::broadcast(std::string& payload, int root) {
  long long size = static_cast<long long>(payload.size());
  ORCH_MPI_CHECK(MPI_Bcast(&size, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD));
  payload.resize(static_cast<size_t>(size));
  ORCH_MPI_CHECK(MPI_Bcast(payload.data(), static_cast<int>(size), MPI_CHAR, root, MPI_COMM_WORLD));
}

void MpiCommunicator::barrier() { ORCH_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

}  // namespace orch
