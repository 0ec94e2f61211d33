// Training batches in a model's input form, drawn from prepared cases with the samplers of
// worker/data/samplers.h and augmented per sample:
//   slice2d:  image (B, C, H, W),     label (B, H, W)     axial slices (SliceSampler's rule)
//   sequence: image (B, T, C, H, W),  label (B, T, H, W)  T consecutive slices, in order
//   patch3d:  image (B, C, D, H, W),  label (B, D, H, W)  patches of `patch` (i, j, k) voxels
// Labels are int64 class indices. Thread-safety: sample() is const and may run on the loader
// thread while the cases are read elsewhere; it never writes to them.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "models/model.h"
#include "worker/data/preprocess.h"
#include "worker/data/samplers.h"
#include "worker/data/slice_sampler.h"
#include "worker/data/transforms.h"

namespace orch {

// The names BatchSamplingOptions::sampler accepts (the YAML parser checks against these).
inline const std::vector<std::string>& patch_sampler_names() {
  static const std::vector<std::string> names = {"foreground", "uniform", "label"};
  return names;
}

struct BatchSamplingOptions {
  InputForm form = InputForm::kSlice2d;
  double foreground_fraction = 0.5;    // share of samples forced onto foreground
  int64_t sequence_length = 5;         // T for kSequence
  Index3 patch{96, 96, 96};            // (i, j, k) for kPatch3d
  std::string sampler = "foreground";  // kPatch3d: foreground | uniform | label
  int samples_per_volume = 1;          // consecutive samples drawn from one case
};

struct TrainBatch {
  torch::Tensor image;  // float32, the model's input form
  torch::Tensor label;  // int64, image's shape without the channel dimension
};

class BatchSampler {
 public:
  // `cases` must outlive the sampler. Throws orch::Error when there are none, or (slice2d)
  // when their in-plane sizes differ.
  BatchSampler(const std::vector<PreparedCase>& cases, BatchSamplingOptions options);
  // `augment` (may be null) is applied to every sample on its own stream derived from `rng`.
  TrainBatch sample(int batch, Rng& rng, const Pipeline* augment) const;

 private:
  TrainBatch sample_slices(int batch, Rng& rng, const Pipeline* augment) const;
  TrainBatch sample_volumes(int batch, Rng& rng, const Pipeline* augment) const;

  const std::vector<PreparedCase>& cases_;
  BatchSamplingOptions options_;
  std::vector<VolumeView> views_;
  std::unique_ptr<SliceSampler> slices_;
  std::unique_ptr<PatchSampler> patches_;
};

}  // namespace orch
