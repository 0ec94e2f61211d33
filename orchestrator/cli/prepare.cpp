// `orch prepare`: builds (or verifies) every dataset's preprocessed HDF5 cache ahead of a run.
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/status.h"
#include "datastore/datasets/dataset.h"
#include "orchestrator/cli/cli.h"
#include "orchestrator/plan.h"
#include "worker/data/prepare.h"

namespace orch {

namespace po = boost::program_options;

int cmd_prepare(const std::vector<std::string>& args) {
  std::string yaml, profile;
  po::options_description desc("orch prepare options");
  desc.add_options()("file", po::value(&yaml)->required(), "experiment YAML")(
      "profile", po::value(&profile), "profile to apply (default: the file's default_profile)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch prepare FILE.yaml [--profile P]", desc, pos, vm)) return 0;
  const ExperimentConfig cfg = load_experiment(yaml, profile, config_validators());
  for (const auto& d : cfg.datasets) {
    ensure_dataset(d);
    const auto adapter = open_dataset(d);
    const auto cases = adapter->cases();
    if (cases.empty()) throw Error("dataset '" + d.name + "' has no labelled cases");
    const CacheInfo info = ensure_cache(d, *adapter, cases, cfg.cache, /*verify_all=*/true);
    std::cout << fmt::format("{:<16} {:>4} cases  {:>9.1f} MiB  {}  {}\n", d.name, info.cases,
                             static_cast<double>(info.bytes) / (1 << 20),
                             info.built ? "built   " : "verified", info.path);
  }
  return 0;
}

}  // namespace orch
