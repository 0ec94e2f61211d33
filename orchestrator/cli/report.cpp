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
  std::string db, out, formats = "md,html,csv,tex";
  po::options_description desc("orch report options");
  desc.add_options()("db", po::value(&db), "results store (default: the only runs/*/orch.sqlite)")(
      "out", po::value(&out), "folder for the reports (default: the store's folder)")(
      "format", po::value(&formats), "comma-separated formats: md, html, csv, tex (default: all)")(
      "no-figures", "leave the figures out")("json", "print a JSON summary of what was written");
  po::variables_map vm;
  if (!parse_options(args,
                     "orch report [--db PATH] [--out DIR] [--format md,html,csv,tex] "
                     "[--no-figures] [--json]",
                     desc, {}, vm))
    return 0;
  ReportOptions options;
  options.formats = parse_formats(formats);
  options.figures = !vm.count("no-figures");
  const std::string path = find_db(db);
  const ResultStore store(path);
  options.out_dir = out.empty() ? fs::absolute(path).parent_path().string() : out;
  const nlohmann::json summary = write_reports(store, options);
  if (vm.count("json")) {
    std::cout << summary.dump(2) << "\n";
    return 0;
  }
  for (const auto& f : summary["files"]) std::cout << f.get<std::string>() << "\n";
  return 0;
}

}  // namespace orch
