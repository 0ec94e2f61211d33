// Training checkpoints. `last` is written after every epoch and `best` whenever the early-stopping
// metric improves; both atomically (temporary file, then rename), so a kill -9 at any instant
// leaves the previous complete file. A checkpoint holds the model, the optimiser, the loop's
// state and the epoch history, so a resumed trial continues where it stopped.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

#include "datastore/store/records.h"

namespace orch {

struct TrainState {
  int next_epoch = 0;                                             // first epoch still to run
  double best_metric = -std::numeric_limits<double>::infinity();  // higher is better
  int best_epoch = -1;
  int bad_epochs = 0;     // epochs since the last improvement
  bool finished = false;  // early stopping fired or the epoch budget is spent
  std::vector<EpochRecord> history;
  nlohmann::json schedule = nlohmann::json::object();  // LrSchedule::state(), for resuming
};

void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const TrainState& state);

// Reads only the loop state of a checkpoint. Throws orch::Error naming the file.
TrainState read_checkpoint_state(const std::string& path);

// Loads `path` into model, optimizer and state. Throws orch::Error naming the file if it is
// unreadable or does not match the model.
void load_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, TrainState& state);

// Initial weights from another model's checkpoint (model.init_from): every parameter and buffer
// of `model` whose name and shape the checkpoint's model holds is copied from it; the rest keep
// their values. Throws orch::Error naming the file when it is unreadable or shares no tensor.
struct InitReport {
  int copied = 0;                 // tensors taken from the checkpoint
  std::vector<std::string> kept;  // names without a match (name or shape), kept as they are
};
InitReport load_matching_weights(const std::string& path, torch::nn::Module& model);

// On resume: when `best` is missing or older than the best epoch that `last` records, and that
// best epoch is the last one trained (the run died between writing `last` and `best`), `last`
// holds its weights: copy it over `best`. Throws orch::Error when the two cannot be reconciled.
void repair_best_checkpoint(const std::string& last_path, const std::string& best_path,
                            const TrainState& last_state);

}  // namespace orch
