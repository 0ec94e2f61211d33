// Slice-by-slice inference for 2D models, and the per-case scoring built on it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "datastore/results_store.h"
#include "models/model.h"
#include "worker/preprocess.h"

namespace orch {

struct CasePrediction {
  torch::Tensor label;  // uint8 (K, H, W): argmax over classes
  double loss = 0;      // mean dice_ce over the case's slice batches
};

// Runs the model in eval mode without gradients, `batch` slices at a time.
CasePrediction predict_case(SegmentationModelImpl& model, const PreparedCase& c, int batch);

struct ValidationResult {
  double loss = 0;  // mean over cases
  double dsc = 0;   // mean over cases of the mean foreground DSC (NaN cases skipped)
};

ValidationResult validate(SegmentationModelImpl& model, const std::vector<PreparedCase>& cases,
                          int num_classes, int batch);

// Foreground confusion counts (classes 1..num_classes-1) of every case.
std::vector<CaseClassCounts> score_cases(SegmentationModelImpl& model,
                                         const std::vector<PreparedCase>& cases, int num_classes,
                                         int batch);

}  // namespace orch
