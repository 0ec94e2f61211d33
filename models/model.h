// The interface every segmentation model implements, and how the engine must feed it.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

namespace orch {

// How a model consumes a volume; the worker samples and infers accordingly.
enum class InputForm {
  kSlice2d,  // (B, C, H, W) axial slices
};

class SegmentationModelImpl : public torch::nn::Module {
 public:
  // (B, in_channels, H, W) -> logits (B, num_classes, H, W), any H and W >= 1.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  virtual InputForm input_form() const = 0;
};

using SegmentationModel = std::shared_ptr<SegmentationModelImpl>;

}  // namespace orch
