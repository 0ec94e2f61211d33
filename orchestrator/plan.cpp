#include "orchestrator/plan.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/sha256.h"

#include "common/status.h"
#include "datastore/datasets/dataset.h"
#include "models/registry.h"
#include "worker/data/batch_sampler.h"
#include "worker/data/transforms.h"
#include "worker/infer/predictor.h"
#include "worker/train/losses.h"
#include "worker/train/optim.h"
#include "worker/train/trainer.h"

namespace orch {

namespace {

// The trial of `model` on `dataset` with `seed`; a refining model's spec carries its sources.
TrialSpec make_spec(const ExperimentConfig& config, const DatasetConfig& dataset,
                    const ModelConfig& model, std::uint64_t seed, const std::string& out_dir) {
  TrialSpec s;
  s.experiment = config.name;
  s.dataset = dataset;
  s.model = model;
  s.training = model.training.value_or(config.training);
  s.inference = config.inference;
  s.seed = seed;
  s.out_dir = out_dir;
  s.cache_dir = std::filesystem::absolute(config.cache).lexically_normal().string();
  if (!model.refines.empty())
    for (int k = 0; k < model.repetitions; ++k)
      s.sources.push_back(make_spec(config, dataset, config.model(model.refines),
                                    seed + static_cast<std::uint64_t>(k), out_dir));
  if (!model.init_from.empty()) {
    const auto stage =
        std::find_if(config.models.begin(), config.models.end(),
                     [&](const ModelConfig& m) { return m.name == model.init_from; });
    if (stage != config.models.end())
      s.init.push_back(make_spec(config, dataset, *stage, seed, out_dir));
    else
      s.init_checksum = sha256_file(model.init_from);
  }
  s.id = trial_id(s);
  return s;
}

}  // namespace

Plan make_plan(const ExperimentConfig& config, const std::string& out_dir) {
  Plan plan;
  std::set<std::string> seen;
  const auto add = [&](const TrialSpec& s) {
    if (seen.insert(s.id).second) plan.trials.push_back(s);
  };
  for (const auto& table : config.tables) {
    // Cells of different rows or columns may show the same trial (a per-class table's rows, a
    // transposed table's metrics): each (dataset, model, seed) is one table cell of the store.
    std::set<std::pair<std::string, std::string>> sources;
    for (const auto& row : table.rows)
      for (const auto& column : table.columns) {
        const auto [dataset, model] = table.cell_source(row, column);
        if (!sources.insert({dataset, model}).second) continue;
        for (std::uint64_t seed : config.seeds) {
          const TrialSpec s =
              make_spec(config, config.dataset(dataset), config.model(model), seed, out_dir);
          for (const auto& src : s.sources) add(src);  // a trial follows its sources
          for (const auto& src : s.init) add(src);     // and the stage it starts from
          plan.cells.push_back({config.name, table.name, dataset, model, seed, s.id});
          add(s);
          if (table.baseline == "untrained") {
            // The same model, data and seed with `epochs: 0` and random weights: what the
            // trained cell is compared with to show that it learnt.
            ModelConfig untrained = config.model(model);
            TrainingConfig t = untrained.training.value_or(config.training);
            t.epochs = 0;
            untrained.training = t;
            untrained.init_from.clear();
            const TrialSpec b =
                make_spec(config, config.dataset(dataset), untrained, seed, out_dir);
            for (const auto& src : b.sources) add(src);
            plan.cells.push_back(
                {config.name, table.name + kBaselineSuffix, dataset, model, seed, b.id});
            add(b);
          }
        }
      }
  }
  return plan;
}

namespace {

Status check_transform(const std::string& spec) {
  try {
    parse_transform(spec);
    return Status::Ok();
  } catch (const Error& e) {
    return Status::FromError(e);
  }
}

}  // namespace

ConfigValidators config_validators() {
  ConfigValidators v;
  v.model_kinds = model_kinds();
  for (const auto& k : model_registry())
    if (k.reads_labels) v.label_input_kinds.push_back(k.name);
  v.dataset_kinds = dataset_kinds();
  v.optimizers = optimizer_names();
  v.schedules = schedule_names();
  v.losses = loss_names();
  v.samplers = patch_sampler_names();
  v.early_stop_metrics = early_stop_metric_names();
  v.precisions = precision_names();
  v.blends = blend_names();
  v.check_model_options = &check_model_options;
  v.check_dataset_options = &check_dataset_options;
  v.check_transform = &check_transform;
  v.class_names = &dataset_class_names;
  return v;
}

}  // namespace orch
