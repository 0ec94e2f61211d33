// The interface every segmentation model implements, and how the engine must feed it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace orch {

// How a model consumes a volume; the worker samples, trains and infers accordingly.
enum class InputForm {
  kSlice2d,   // (B, C, H, W) axial slices -> (B, K, H, W)
  kSequence,  // (B, T, C, H, W): T consecutive axial slices, in order -> (B, T, K, H, W)
  kPatch3d,   // (B, C, D, H, W) patches, D along the slice axis -> (B, K, D, H, W)
};

const char* to_string(InputForm form);  // "slice2d", "sequence", "patch3d"

class SegmentationModelImpl : public torch::nn::Module {
 public:
  // Logits for `x` in the model's input form. Every spatial size >= 1 is accepted: a model whose
  // architecture needs multiples of size_multiple() pads internally and crops the logits back.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  virtual InputForm input_form() const = 0;
  // T for kSequence models (the number of slices per input); 1 otherwise.
  virtual int64_t sequence_length() const { return 1; }
  // Spatial sizes that need no internal padding are multiples of this (Swin UNETR: 32).
  virtual int64_t size_multiple() const { return 1; }
  // Deep supervision: one-channel foreground logits (B, 1, spatial...) of the last forward, at
  // coarser sizes, still attached to the graph. The trainer adds the mean over them of
  // BCE + Dice against the upsampled foreground (label > 0). Empty for most models.
  virtual std::vector<torch::Tensor> deep_supervision_logits() const { return {}; }
};

using SegmentationModel = std::shared_ptr<SegmentationModelImpl>;

}  // namespace orch
