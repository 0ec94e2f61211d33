// The `orch` command line. main() gathers the LaunchInfo and calls cli_main (cli.cpp); every
// command is one file in this folder (run.cpp for cmd_run, data_synth.cpp for cmd_data, ...),
// parsing its own options with Boost.Program_options and writing its results to stdout (logs go
// to stderr).
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "orchestrator/run.h"

namespace orch {

int cli_main(int argc, char** argv, const LaunchInfo& launch);

// Commands; `args` excludes the program and command names. Each returns the exit code.
int cmd_run(const std::vector<std::string>& args, const LaunchInfo& launch);
int cmd_plan(const std::vector<std::string>& args);
int cmd_status(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_data(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_prepare(const std::vector<std::string>& args);
int cmd_augment(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_models(const std::vector<std::string>& args);      // models.cpp
int cmd_model_info(const std::vector<std::string>& args);  // models.cpp

// Parses a command's `args` into `vm`; prints `usage` and the options and returns false when
// --help was given. Throws boost::program_options::error on bad arguments.
bool parse_options(const std::vector<std::string>& args, const std::string& usage,
                   boost::program_options::options_description& desc,
                   const boost::program_options::positional_options_description& pos,
                   boost::program_options::variables_map& vm);

// The results store to read: `db` when given (it must exist), else the only runs/*/orch.sqlite
// under the working directory. Throws orch::Error when there is none or several.
std::string find_db(const std::string& db);

}  // namespace orch
