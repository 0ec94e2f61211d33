// TrialSpec: everything one trial needs, fully resolved, so that a worker rank can run it from
// this alone. Its JSON form travels in the coordinator's ASSIGN message; its canonical JSON
// (without `id` and `out_dir`) hashes to the trial id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.h"

namespace orch {

struct TrialSpec {
  std::string id;          // trial_id(*this), filled by the planner
  std::string experiment;  // experiment name (not part of the id)
  DatasetConfig dataset;
  ModelConfig model;
  TrainingConfig training;
  InferenceConfig inference;
  std::uint64_t seed = 0;
  std::string out_dir;    // where checkpoints go (not part of the id)
  std::string cache_dir;  // the HDF5 cache folder (not part of the id)
  // Refinement trials (model.refines set): the K trials of the source model whose predictions
  // this trial reads. It may start only once all of them are done; their ids are part of its id.
  std::vector<TrialSpec> sources;
  // model.init_from naming a model: that model's trial on the same dataset and seed (one
  // element), whose best weights start this one; it must be done first, and its id is part of
  // this trial's id. Empty otherwise.
  std::vector<TrialSpec> init;
  // model.init_from naming a checkpoint file: its SHA-256 (part of the id), "" otherwise.
  std::string init_checksum;
};

nlohmann::json to_json(const TrialSpec& s);
TrialSpec trial_spec_from_json(const nlohmann::json& j);

// The part of a spec that decides the result: dataset (root normalised), model, training and seed.
// Names that only label things, where outputs go and the thread count are left out, so that
// renaming, moving the run folder or running on another machine finds the same trials.
nlohmann::json identity_json(const TrialSpec& s);

// Stable 16-hex-digit id: FNV-1a 64 of identity_json(s).dump() (keys sorted).
std::string trial_id(const TrialSpec& s);

}  // namespace orch
