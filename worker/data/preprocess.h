// Per-case preprocessing: label remapping, then the configured steps (config.h, PreprocessStep)
// in order, on the whole volume. The result keeps the volume layout (C, Z, Y, X) that the cache
// stores and every sampler reads; 2D models take its Z slices.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/formats/volume.h"

namespace orch {

struct PreparedCase {
  std::string id;
  std::string group;                       // subject, for splits
  torch::Tensor image;                     // float32 (C, Z, Y, X)
  torch::Tensor label;                     // uint8 (Z, Y, X)
  std::array<double, 3> spacing{1, 1, 1};  // mm along i, j, k after preprocessing
  Affine affine = identity_affine();       // voxel -> RAS after preprocessing
  std::vector<int64_t> fg_slices;          // Z slices holding any foreground voxel
  std::vector<std::vector<int64_t>> fg;    // fg[c]: linear (Z, Y, X) indices of class c >= 1
};

// Applies label_map and the steps to `c` (which it does not alias). Throws orch::Error naming the
// case and the step when a step cannot apply (a crop outside the volume, a constant channel under
// znorm) or when a label exceeds num_classes - 1 after remapping.
PreparedCase prepare_case(const Case& c, const PreprocessOptions& options, int num_classes);

// Fills fg_slices and fg from the label (fg: foreground_index, datastore/cache/foreground.h).
// Throws orch::Error naming the case when a label value is >= num_classes.
void index_foreground(PreparedCase& p, int num_classes);

}  // namespace orch
