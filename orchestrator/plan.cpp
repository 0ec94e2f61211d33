#include "orchestrator/plan.h"

#include <set>

#include "datastore/dataset.h"
#include "models/registry.h"

namespace orch {

Plan make_plan(const ExperimentConfig& config, const std::string& out_dir) {
  Plan plan;
  std::set<std::string> seen;
  for (const auto& table : config.tables)
    for (const auto& [dataset, row_label] : table.rows)
      for (const auto& [model, col_label] : table.columns)
        for (std::uint64_t seed : config.seeds) {
          TrialSpec s;
          s.experiment = config.name;
          s.dataset = config.dataset(dataset);
          s.model = config.model(model);
          s.training = config.training;
          s.seed = seed;
          s.out_dir = out_dir;
          s.id = trial_id(s);
          plan.cells.push_back({config.name, table.name, dataset, model, seed, s.id});
          if (seen.insert(s.id).second) plan.trials.push_back(std::move(s));
        }
  return plan;
}

ConfigValidators config_validators() {
  ConfigValidators v;
  v.model_kinds = model_kinds();
  v.dataset_kinds = dataset_kinds();
  v.check_model_options = &check_model_options;
  return v;
}

}  // namespace orch
