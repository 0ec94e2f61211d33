// `orch run`: plan, execute and report one experiment, as one process or as MPI ranks.
#pragma once

#include <string>

namespace orch {

// What main() learnt about how the process was launched (it is the only reader of the
// environment).
struct LaunchInfo {
  bool under_mpi = false;  // started by mpirun/mpiexec/srun
  int world_rank = -1;     // this process's rank from the launcher, -1 if not launched by one
  int local_size = 1;      // ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE), 1 if unknown
  int local_rank = 0;  // this rank's index on its node (OMPI_COMM_WORLD_LOCAL_RANK), 0 if unknown
  int hardware_threads = 1;
  int* argc = nullptr;
  char*** argv = nullptr;
};

struct RunOptions {
  std::string yaml;             // experiment file
  std::string profile;          // "" = the file's default_profile
  std::string db;               // "" = <out>/orch.sqlite
  std::string out;              // "" = the file's output (runs/<name>)
  std::string device = "auto";  // auto | cpu | cuda | cuda:N (worker/train/device.h)
};

// Returns the process exit code: 0 when every trial is done, 1 if any failed. Throws orch::Error
// for configuration and setup errors (the caller prints them and exits with exit_code(code):
// 2 for bad input).
int run_experiment(const RunOptions& options, const LaunchInfo& launch);

// Output folder and store path that `options` resolve to for a parsed experiment.
std::string resolve_out_dir(const std::string& cli_out, const std::string& config_output);
std::string resolve_db(const std::string& cli_db, const std::string& out_dir);

}  // namespace orch
