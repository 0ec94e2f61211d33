// `orch plan`: the trials an experiment file plans, with their tables, states and sources,
// without running them.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/strings.h"
#include "datastore/store/results_store.h"
#include "orchestrator/cli/cli.h"
#include "orchestrator/plan.h"
#include "orchestrator/run.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;

int cmd_plan(const std::vector<std::string>& args) {
  RunOptions o;
  po::options_description desc("orch plan options");
  desc.add_options()("file", po::value(&o.yaml)->required(), "experiment YAML")(
      "profile", po::value(&o.profile), "profile to apply")(
      "db", po::value(&o.db), "results store to read states from")("out", po::value(&o.out),
                                                                   "output folder");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch plan FILE.yaml [--profile P] [--db PATH]", desc, pos, vm))
    return 0;
  const ExperimentConfig cfg = load_experiment(o.yaml, o.profile, config_validators());
  const std::string out = resolve_out_dir(o.out, cfg.output);
  const std::string db = resolve_db(o.db, out);
  const Plan plan = make_plan(cfg, out);
  std::unique_ptr<ResultStore> store;
  if (fs::exists(db)) store = std::make_unique<ResultStore>(db);
  std::cout << fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}\n", "id", "table",
                           "model", "dataset", "seed", "state", "after");
  for (const auto& t : plan.trials) {
    std::vector<std::string> table_names, source_ids;
    for (const auto& c : plan.cells)
      if (c.trial_id == t.id &&
          std::find(table_names.begin(), table_names.end(), c.table) == table_names.end())
        table_names.push_back(c.table);
    for (const auto& src : t.sources) source_ids.push_back(src.id.substr(0, 8));
    // A trial in no table is a source that only a refinement reads.
    const std::string tables = table_names.empty() ? "(source)" : join(table_names, ",");
    const std::string after = join(source_ids, ",");
    const auto rec = store ? store->trial(t.id) : std::nullopt;
    std::string line =
        fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}", t.id, tables, t.model.name,
                    t.dataset.name, t.seed, rec ? to_string(rec->state) : "new", after);
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks when nothing comes after
    std::cout << line << '\n';
  }
  std::cout << fmt::format("{} trial(s); profile '{}'; store {}\n", plan.trials.size(),
                           cfg.profile.empty() ? "none" : cfg.profile, db);
  return 0;
}

}  // namespace orch
