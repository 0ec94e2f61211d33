// The refinement stage (RefNet, seed 002, Algorithm 1): K source models are trained, each one's
// predictions on every case are collected, and a refining model learns to map those label maps
// to the truth.
//
// Prediction collection: the best checkpoint of each source trial predicts every case of the
// split (train, val and test), as its own test scoring does (PredictOptions of the source). The
// label maps are written once to <source trial>/collected/<case>.nii.gz (uint8, the prepared
// grid's affine), under a lock on that folder, so ranks that refine the same source, or a resumed
// trial, read them back instead of predicting again. They are readable by any NIfTI tool. Test
// cases whose label maps the source's own scoring already wrote (<source trial>/predictions/)
// are copied from there rather than predicted twice.
//
// The refining model's cases keep the truth as the label and take a source's label map, as one
// float channel of class indices, as the image:
//   train: every training case once per source (K x the training cases, Algorithm 1 lines 4-9);
//   val, test: the predictions of the first source, whose seed is the refining trial's own, so
//              the test scores are the "refined" column beside that source trial's "raw" one.
#pragma once

#include <vector>

#include "worker/data/preprocess.h"
#include "worker/trial/trial_spec.h"

namespace orch {

struct RefinementData {
  std::vector<PreparedCase> train, val, test;
};

// Source models predict on `device`. `train`, `val` and `test` are the prepared cases of the split
// (images and truth), as the source trials saw them. Throws orch::Error naming the source trial
// when its best checkpoint is missing or a collected file does not match its case.
RefinementData refinement_data(const TrialSpec& spec, const torch::Device& device,
                               const std::vector<PreparedCase>& train,
                               const std::vector<PreparedCase>& val,
                               const std::vector<PreparedCase>& test);

}  // namespace orch
