// The orch executable: reads how it was launched from the environment (the only place that
// does), then hands over to the CLI.
#include <malloc.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "orchestrator/cli/cli.h"

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Volume-sized buffers (a 144^3 sampling grid is 36 MiB) are above glibc's mmap ceiling, so
  // every augmentation would map fresh pages and fault on each; keeping them on the heap is 10%
  // faster on the MS pipeline (bench/README.md).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  orch::LaunchInfo launch;
  launch.under_mpi = launched_by_mpi();
  launch.world_rank = env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK", -1));
  launch.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("MPI_LOCALNRANKS", 1));
  launch.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("MPI_LOCALRANKID", 0));
  launch.hardware_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  launch.argc = &argc;
  launch.argv = &argv;
  return orch::cli_main(argc, argv, launch);
}
