// The `orch` command line. main() gathers the LaunchInfo and calls cli_main; every command is a
// function here or in cli_*.cpp, parsing its own options with Boost.Program_options.
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
int cmd_models(const std::vector<std::string>& args);
int cmd_model_info(const std::vector<std::string>& args);

// Parses a command's `args` into `vm`; prints `usage` and the options and returns false when
// --help was given. Throws boost::program_options::error on bad arguments.
bool parse_options(const std::vector<std::string>& args, const std::string& usage,
                   boost::program_options::options_description& desc,
                   const boost::program_options::positional_options_description& pos,
                   boost::program_options::variables_map& vm);

}  // namespace orch
