// The epoch loop: sampled batches, optimiser steps on the configured loss (plus the
// deep-supervision term of models that have one, models/model.h), validation, early stopping and
// checkpoints. Sampling, the step, validation and checkpointing stay separate parts; this file
// only sequences them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "models/model.h"
#include "worker/data/batch_sampler.h"
#include "worker/data/preprocess.h"
#include "worker/data/transforms.h"
#include "worker/infer/predictor.h"
#include "worker/train/checkpoint.h"
#include "worker/train/losses.h"
#include "worker/train/optim.h"

namespace orch {

using EpochCallback = std::function<void(const EpochRecord&)>;

struct TrainLoop {
  SegmentationModelImpl& model;
  torch::optim::Optimizer& optimizer;
  const BatchSampler& sampler;
  const std::vector<PreparedCase>& val;
  const TrainingConfig& config;
  int num_classes = 2;
  std::uint64_t seed = 0;
  std::string last_path;              // checkpoint after every epoch
  std::string best_path;              // checkpoint when the early-stopping metric improves
  const Pipeline* augment = nullptr;  // applied to every sample; null = none
  PredictOptions predict;             // how validation runs the model over whole cases
  StepLossFn loss;                    // training loss (make_step_loss)
  LrSchedule* schedule = nullptr;     // learning rate per epoch; its state goes into checkpoints
  // The label of the epochs' progress task (common/progress.h).
  std::string progress_label = "train";
};

// Runs epochs from state.next_epoch until early stopping or the epoch budget, showing the steps
// (of all epochs, with the epoch as detail) as one progress task. Calls `on_epoch`
// after each epoch, before its checkpoint is written, so a crash between the two repeats the
// epoch rather than losing its record. `last` is written before `best`: a crash between the two
// leaves a `last` that knows the new best epoch and holds its weights, from which
// repair_best_checkpoint (checkpoint.h) restores `best`.
void run_epochs(const TrainLoop& loop, TrainState& state, const EpochCallback& on_epoch);

// The names TrainingConfig::early_stop_metric and ::precision accept (the YAML parser checks
// against these).
const std::vector<std::string>& early_stop_metric_names();
const std::vector<std::string>& precision_names();

}  // namespace orch
