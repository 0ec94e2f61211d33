// `orch prepare`: builds (or verifies) every dataset's preprocessed HDF5 cache ahead of a run.
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "datastore/datasets/dataset.h"
#include "orchestrator/cli/cli.h"
#include "orchestrator/plan.h"
#include "worker/data/prepare.h"

namespace orch {

namespace po = boost::program_options;

int cmd_prepare(const std::vector<std::string>& args) {
  std::string yaml, profile;
  bool as_json = false;
  po::options_description desc("orch prepare options");
  desc.add_options()("file", po::value(&yaml)->required(), "experiment YAML")(
      "profile", po::value(&profile), "profile to apply (default: the file's default_profile)")(
      "json", po::bool_switch(&as_json), "print one JSON array");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch prepare FILE.yaml [--profile P] [--json]", desc, pos, vm))
    return 0;
  const ExperimentConfig cfg = load_experiment(yaml, profile, config_validators());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : cfg.datasets) {
    ensure_dataset(d);
    const auto adapter = open_dataset(d);
    const auto cases = adapter->cases();
    if (cases.empty()) throw Error("dataset '" + d.name + "' has no labelled cases");
    const CacheInfo info = ensure_cache(d, *adapter, cases, cfg.cache, /*verify_all=*/true);
    if (as_json) {
      out.push_back({{"dataset", d.name},
                     {"kind", d.kind},
                     {"cases", info.cases},
                     {"bytes", info.bytes},
                     {"built", info.built},
                     {"key", info.key},
                     {"path", info.path}});
      continue;
    }
    std::cout << fmt::format("{:<16} {:>4} cases  {:>9.1f} MiB  {}  {}\n", d.name, info.cases,
                             static_cast<double>(info.bytes) / (1 << 20),
                             info.built ? "built   " : "verified", info.path);
  }
  if (as_json) std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace orch
