// SliceSampler: draws training batches of axial slices from prepared cases. With probability
// `foreground_fraction` a slice is drawn from the slices that hold foreground (uniform over
// cases, then over their foreground slices), otherwise uniformly from all slices. Seeded: the
// same Rng gives the same batches.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "common/rng.h"
#include "worker/data/preprocess.h"

namespace orch {

struct SliceBatch {
  torch::Tensor image;  // (B, C, H, W) float32
  torch::Tensor label;  // (B, H, W) int64
};

class SliceSampler {
 public:
  // `cases` must outlive the sampler and share one in-plane size (throws orch::Error otherwise).
  SliceSampler(const std::vector<PreparedCase>& cases, double foreground_fraction);
  SliceBatch sample(int batch, Rng& rng) const;

 private:
  const std::vector<PreparedCase>& cases_;
  std::vector<size_t> with_fg_;  // indices of cases with foreground slices
  double fg_fraction_;
};

}  // namespace orch
