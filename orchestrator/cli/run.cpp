// `orch run`: plan, execute (one process, or MPI ranks under mpirun) and report an experiment.
#include <boost/program_options.hpp>

#include "orchestrator/cli/cli.h"
#include "orchestrator/run.h"

namespace orch {

namespace po = boost::program_options;

int cmd_run(const std::vector<std::string>& args, const LaunchInfo& launch) {
  RunOptions o;
  po::options_description desc("orch run options");
  desc.add_options()("file", po::value(&o.yaml)->required(), "experiment YAML")(
      "profile", po::value(&o.profile),
      "profile to apply: quick, paper (default: the file's "
      "default_profile; `none` for none)")("db", po::value(&o.db),
                                           "results store (default: <out>/orch.sqlite)")(
      "out", po::value(&o.out), "output folder (default: the file's output, runs/<name>)")(
      "device", po::value(&o.device),
      "auto (CUDA when available, else CPU), cpu, cuda or cuda:N; under MPI, auto and cuda give "
      "each rank of a node GPU local_rank % count");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args,
                     "orch run FILE.yaml [--profile quick|paper] [--db PATH] [--out DIR] "
                     "[--device auto|cpu|cuda[:N]]",
                     desc, pos, vm))
    return 0;
  return run_experiment(o, launch);
}

}  // namespace orch
