// The `orch` command line. main() gathers the LaunchInfo and calls cli_main; every command is a
// function here or in cli_*.cpp, parsing its own options with Boost.Program_options.
#pragma once

#include <string>
#include <vector>

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

}  // namespace orch
