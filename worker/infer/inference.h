// Case-level inference (worker/infer/predictor.h does the windows), validation during training, and
// the per-case scoring of the test split, with predictions written as NIfTI.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "datastore/store/records.h"
#include "models/model.h"
#include "worker/data/preprocess.h"
#include "worker/infer/predictor.h"

namespace orch {

struct CasePrediction {
  torch::Tensor label;  // uint8 (Z, Y, X): argmax over classes
  double loss = 0;      // cross-entropy + soft Dice of the probabilities against the case's label
};

CasePrediction predict_case(SegmentationModelImpl& model, const PreparedCase& c,
                            const PredictOptions& options);

struct ValidationResult {
  double loss = 0;  // mean over cases
  double dsc = 0;   // mean over cases of the mean foreground DSC (NaN cases skipped)
  double iou = 0;   // the same for IoU
};

ValidationResult validate(SegmentationModelImpl& model, const std::vector<PreparedCase>& cases,
                          int num_classes, const PredictOptions& options);

// Foreground confusion counts and surface metrics (HD95, ASSD, surface Dice at 1 mm; in mm from
// the preprocessed spacing) per case and class 1..num_classes-1. With a non-empty
// `predictions_dir`, each case's predicted label map is written there as <id>.nii.gz (uint8,
// the preprocessed grid's affine), readable by other tools.
std::vector<CaseClassCounts> score_cases(SegmentationModelImpl& model,
                                         const std::vector<PreparedCase>& cases, int num_classes,
                                         const PredictOptions& options,
                                         const std::string& predictions_dir = "");

// Writes a (Z, Y, X) uint8 label map as NIfTI with `affine` and `spacing` (i, j, k).
void write_label_nifti(const std::string& path, const torch::Tensor& label,
                       const std::array<double, 3>& spacing, const Affine& affine);

}  // namespace orch
