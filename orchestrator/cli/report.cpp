// `orch report`: regenerates the reports from a results store.
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "datastore/store/results_store.h"
#include "orchestrator/cli/cli.h"
#include "reports/report.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;

int cmd_report(const std::vector<std::string>& args) {
  std::string db, out;
  po::options_description desc("orch report options");
  desc.add_options()("db", po::value(&db), "results store (default: the only runs/*/orch.sqlite)")(
      "out", po::value(&out), "folder for report.md (default: the store's folder)");
  po::variables_map vm;
  if (!parse_options(args, "orch report [--db PATH] [--out DIR]", desc, {}, vm)) return 0;
  const std::string path = find_db(db);
  const ResultStore store(path);
  if (out.empty()) out = fs::absolute(path).parent_path().string();
  std::cout << write_reports(store, out) << "\n";
  return 0;
}

}  // namespace orch
