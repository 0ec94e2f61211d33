#include "orchestrator/plan.h"

#include <filesystem>
#include <set>

#include "common/status.h"
#include "datastore/dataset.h"
#include "models/registry.h"
#include "worker/transforms.h"

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
          s.inference = config.inference;
          s.seed = seed;
          s.out_dir = out_dir;
          s.cache_dir = std::filesystem::absolute(config.cache).lexically_normal().string();
          s.id = trial_id(s);
          plan.cells.push_back({config.name, table.name, dataset, model, seed, s.id});
          if (seen.insert(s.id).second) plan.trials.push_back(std::move(s));
        }
  return plan;
}

namespace {

std::string check_transform(const std::string& spec) {
  try {
    parse_transform(spec);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

ConfigValidators config_validators() {
  ConfigValidators v;
  v.model_kinds = model_kinds();
  v.dataset_kinds = dataset_kinds();
  v.check_model_options = &check_model_options;
  v.check_dataset_options = &check_dataset_options;
  v.check_transform = &check_transform;
  return v;
}

}  // namespace orch
