#include "orchestrator/cli/cli.h"

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"

#ifndef ORCH_VERSION
#define ORCH_VERSION "0.0.0"
#endif

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// Every command: its name, its line in `orch --help`, and what runs it. A new command is one
// file in orchestrator/cli/ and one row here.
struct Command {
  const char* name;
  const char* help;  // the usage line, aligned as printed
  int (*run)(const std::vector<std::string>& args, const LaunchInfo& launch);
};

const Command kCommands[] = {
    {"run", "run FILE.yaml      plan, execute (one process, or MPI ranks under mpirun) and report",
     [](const auto& a, const LaunchInfo& l) { return cmd_run(a, l); }},
    {"plan", "plan FILE.yaml     print the trials without running them",
     [](const auto& a, const LaunchInfo&) { return cmd_plan(a); }},
    {"status", "status             every trial with its state, rank, attempts and metrics",
     [](const auto& a, const LaunchInfo&) { return cmd_status(a); }},
    {"report", "report             regenerate the reports from the results store",
     [](const auto& a, const LaunchInfo&) { return cmd_report(a); }},
    {"prepare", "prepare FILE.yaml  build every dataset's preprocessed HDF5 cache ahead of a run",
     [](const auto& a, const LaunchInfo&) { return cmd_prepare(a); }},
    {"data", "data synth         write a phantom dataset in its publisher's layout",
     [](const auto& a, const LaunchInfo&) { return cmd_data(a); }},
    {"augment",
     "augment IN OUT     apply TorchIO-style augmentation transforms to a NIfTI image (and label)",
     [](const auto& a, const LaunchInfo&) { return cmd_augment(a); }},
    {"inspect",
     "inspect PATH       geometry and values of a NIfTI file, a DICOM series folder or a York .mat",
     [](const auto& a, const LaunchInfo&) { return cmd_inspect(a); }},
    {"eval",
     "eval               score predicted NIfTI label maps (--pred DIR --gt DIR): DSC, HD95, NSD",
     [](const auto& a, const LaunchInfo&) { return cmd_eval(a); }},
    {"models", "models             the registered models: name, input form, summary",
     [](const auto& a, const LaunchInfo&) { return cmd_models(a); }},
    {"model-info",
     "model-info NAME    parameter count and output shape of a model built with given options",
     [](const auto& a, const LaunchInfo&) { return cmd_model_info(a); }},
};

std::string usage() {
  std::string out =
      "orch: distributed experiment orchestrator for 3D medical image segmentation\n\n"
      "usage: orch [--log-level LEVEL] COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& c : kCommands) out += std::string("  ") + c.help + "\n";
  return out + R"(
options:
  -h, --help         this text; `orch COMMAND --help` describes a command
  --version          print the version
  --log-level LEVEL  trace, debug, info (default), warn, error
)";
}

}  // namespace

bool parse_options(const std::vector<std::string>& args, const std::string& usage,
                   po::options_description& desc, const po::positional_options_description& pos,
                   po::variables_map& vm) {
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

std::string find_db(const std::string& db) {
  if (!db.empty()) {
    if (!fs::exists(db)) throw Error("results store '" + db + "' does not exist");
    return db;
  }
  std::vector<std::string> found;
  if (fs::is_directory("runs"))
    for (const auto& e : fs::directory_iterator("runs"))
      if (fs::exists(e.path() / "orch.sqlite"))
        found.push_back((e.path() / "orch.sqlite").string());
  if (found.size() == 1) return found[0];
  if (found.empty()) throw Error("no results store found under runs/; pass --db PATH");
  throw Error("several results stores found ( " + join(found, " ") + " ); pass --db PATH");
}

int cli_main(int argc, char** argv, const LaunchInfo& launch) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string level = "info";
  while (!args.empty() && args[0].rfind("--", 0) == 0) {
    if (args[0] == "--help" || args[0] == "-h") {
      std::cout << usage();
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
    std::cerr << "orch: unknown option '" << args[0] << "'\n" << usage();
    return 2;
  }
  if (args.empty()) {
    std::cerr << usage();
    return 2;
  }
  if (args[0] == "-h") args[0] = "--help";
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    init_logging(level);
    for (const auto& c : kCommands)
      if (command == c.name) return c.run(args, launch);
    std::cerr << "orch: unknown command '" << command << "'\n" << usage();
    return 2;
  } catch (const po::error& e) {
    std::cerr << "orch " << command << ": " << e.what() << " (see `orch " << command
              << " --help`)\n";
    return 2;
  } catch (const Error& e) {
    // Under mpirun every rank parses the same YAML and meets the same error: rank 0 says it.
    if (launch.world_rank <= 0) std::cerr << "orch: error: " << e.what() << "\n";
    return e.code() == ErrorCode::kOk ? 1 : exit_code(e.code());  // an Error is never a success
  } catch (const std::exception& e) {
    std::cerr << "orch: internal error: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace orch
