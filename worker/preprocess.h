// Per-case preprocessing for slice models: window and scale, label remapping, in-plane crop and
// resize. The result is laid out for slice sampling: image (K, C, H, W), label (K, H, W).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/config.h"
#include "datastore/volume.h"

namespace orch {

struct PreparedCase {
  std::string id;
  torch::Tensor image;             // float32 (K, C, H, W): K axial slices
  torch::Tensor label;             // uint8 (K, H, W)
  std::vector<int64_t> fg_slices;  // slices holding any foreground voxel
};

// Throws orch::Error naming the case when the crop falls outside the volume or a label exceeds
// num_classes - 1 after remapping.
PreparedCase prepare_case(const Case& c, const PreprocessOptions& options, int num_classes);

}  // namespace orch
