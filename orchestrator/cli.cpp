#include "orchestrator/cli.h"

#include <iostream>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "common/log.h"
#include "common/status.h"

#ifndef ORCH_VERSION
#define ORCH_VERSION "0.0.0"
#endif

namespace orch {

namespace {

constexpr const char* kUsage =
    R"(orch: distributed experiment orchestrator for 3D medical image segmentation

usage: orch [--log-level LEVEL] COMMAND [ARGS]

commands:
  run FILE.yaml      plan, execute (one process, or MPI ranks under mpirun) and report
  plan FILE.yaml     print the trials without running them
  status             every trial with its state, rank, attempts and metrics
  report             regenerate the reports from the results store
  prepare FILE.yaml  build every dataset's preprocessed HDF5 cache ahead of a run
  data synth         write a phantom dataset in its publisher's layout
  augment IN OUT     apply TorchIO-style augmentation transforms to a NIfTI image (and label)
  inspect PATH       geometry and values of a NIfTI file, a DICOM series folder or a York .mat
  eval               score predicted NIfTI label maps (--pred DIR --gt DIR): DSC, HD95, NSD
  models             the registered models: name, input form, summary
  model-info NAME    parameter count and output shape of a model built with given options

options:
  -h, --help         this text; `orch COMMAND --help` describes a command
  --version          print the version
  --log-level LEVEL  trace, debug, info (default), warn, error
)";

}  // namespace

int cli_main(int argc, char** argv, const LaunchInfo& launch) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string level = "info";
  while (!args.empty() && args[0].rfind("--", 0) == 0) {
    if (args[0] == "--help" || args[0] == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (args[0] == "--version") {
      std::cout << "orch " << ORCH_VERSION << "\n";
      return 0;
    }
    if (args[0] == "--log-level" && args.size() > 1) {
      level = args[1];
      args.erase(args.begin(), args.begin() + 2);
      continue;
    }
    std::cerr << "orch: unknown option '" << args[0] << "'\n" << kUsage;
    return 2;
  }
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "-h") args[0] = "--help";
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    init_logging(level);
    if (command == "run") return cmd_run(args, launch);
    if (command == "plan") return cmd_plan(args);
    if (command == "status") return cmd_status(args);
    if (command == "report") return cmd_report(args);
    if (command == "data") return cmd_data(args);
    if (command == "inspect") return cmd_inspect(args);
    if (command == "prepare") return cmd_prepare(args);
    if (command == "augment") return cmd_augment(args);
    if (command == "eval") return cmd_eval(args);
    if (command == "models") return cmd_models(args);
    if (command == "model-info") return cmd_model_info(args);
    std::cerr << "orch: unknown command '" << command << "'\n" << kUsage;
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "orch " << command << ": " << e.what() << " (see `orch " << command
              << " --help`)\n";
    return 2;
  } catch (const Error& e) {
    // Under mpirun every rank parses the same YAML and meets the same error: rank 0 says it.
    if (launch.world_rank <= 0) std::cerr << "orch: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "orch: internal error: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace orch
