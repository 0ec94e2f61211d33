// Planning: an experiment's tables expand into trials (dataset x model x seed per table cell),
// deduplicated by trial id, plus the table cells that say which trial fills which cell.
#pragma once

#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/store/results_store.h"
#include "worker/trial/trial_spec.h"

namespace orch {

struct Plan {
  std::vector<TrialSpec> trials;       // unique by id, in table order
  std::vector<TableCellRecord> cells;  // one per table x row x column x seed
};

// `out_dir` is where trial folders go (the run's output directory).
Plan make_plan(const ExperimentConfig& config, const std::string& out_dir);

// The validators the config parser needs, filled from the model registry and dataset adapters.
ConfigValidators config_validators();

}  // namespace orch
