// run_trial: one trial from its spec to its per-case counts, on the calling thread. It loads and
// preprocesses the split, builds the model from the registry, trains (resuming from the trial's
// `last` checkpoint when one exists), and scores the test split with the `best` weights. A
// refinement trial (spec.sources) first collects its sources' predictions (worker/trial/refine.h)
// and trains and scores on those label maps instead of the images.
//
// Exceptions stop here: whatever a trial throws (orch::Error, c10::Error, std::exception)
// becomes a failed Status with its message, so one bad trial never takes a rank down.
//
// Every trial appends its own log to <trial_dir>/log.txt: the start (model, dataset, seed,
// device, threads), a resume, one line per epoch (losses, validation metrics, lr, seconds), and
// the result summary or the error.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "datastore/store/records.h"
#include "worker/train/trainer.h"
#include "worker/trial/trial_spec.h"

namespace orch {

struct TrialOutcome {
  Status status;                        // failed: message says why
  std::vector<CaseClassCounts> counts;  // test split, foreground classes
  std::vector<Artifact> artifacts;      // best and last checkpoints
  int best_epoch = -1;
};

// The folder that holds a trial's checkpoints, split, predictions and log.txt.
std::string trial_dir(const TrialSpec& spec);

// How the trial's model is run over whole cases (validation, test scoring, collection).
PredictOptions predict_options(const TrialSpec& spec);

// How this worker runs trials (not part of any trial's identity).
struct WorkerOptions {
  int threads = 0;                     // > 0 sets LibTorch's intra-op threads for this process
  torch::Device device = torch::kCPU;  // where models train and predict (worker/train/device.h)
};

TrialOutcome run_trial(const TrialSpec& spec, const WorkerOptions& worker,
                       const EpochCallback& on_epoch);

}  // namespace orch
