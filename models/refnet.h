// refnet: RefNet (Jo, Choi, Seo, Park, Yonsei; seed 002, docs/MODELS.md section 7), a
// post-processing network that refines another model's segmentation: it reads a 2D slice of a
// predicted integer label map and returns refined class logits.
//
// No public code exists: every design choice below comes from the paper text or is our own
// (docs/MODELS.md marks them all [M]):
//   - input (B, 1, H, W) float holding class indices 0..K-1 (a label map, not an image); values
//     that are not integers in 0..num_classes-1 throw orch::Error;
//   - Embedding(num_classes, embed_dim) per pixel -> (B, embed_dim, H, W) ("embedding layer", the
//     paper gives no size; 16 by default);
//   - a 2D U-Net after Ronneberger [1]: 'same' padding, (Conv3x3-BN-ReLU) x 2 per level,
//     `depth` 2x2 max-poolings with filters base_filters * 2^level, ConvTranspose 2x2 (default,
//     the U-Net paper's up-conv) or bilinear x2 upsampling, concat [skip, up], 1x1 logits conv
//     -> (B, num_classes, H, W).
// The loss (CE + Dice against the truth, plus CE against the input prediction) is the trainer's.
// ModelShape.in_channels must be 1: the input is one label map.
//
// Odd sizes: pooling uses ceil mode and each upsampled map is cropped to its skip. BN in training
// needs more than one value per channel: at depth 4 a 16x16 input reaches 1x1, so train on
// batches of at least 2 there.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/conv_bn_relu.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

struct RefNetOptions {
  int64_t embed_dim = 16;     // embedding size per class (not scaled by width)
  int64_t base_filters = 64;  // filters at the top level; doubled at each pooling
  int64_t depth = 4;          // number of 2x2 max-poolings (1..6)
  double width = 1.0;         // multiplies every filter count (rounded, at least 1)
  bool bilinear = false;      // `upsample: bilinear` (true) | `deconv` (false)
  int64_t num_classes = 2;    // label values in, logits out, background included (ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static RefNetOptions from_json(const nlohmann::json& j);
};

class RefNetImpl : public SegmentationModelImpl {
 public:
  explicit RefNetImpl(const RefNetOptions& options);
  // x: (B, 1, H, W) class indices stored as floats.
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSlice2d; }

 private:
  int64_t num_classes_;
  torch::nn::Embedding embed_{nullptr};
  std::vector<DoubleConvBnRelu> down_;  // depth + 1: the top level ... the bottom
  std::vector<UpDoubleConv> up_;        // depth, deepest first
  torch::nn::Conv2d logits_{nullptr};
};

ModelKind refnet_kind();

}  // namespace orch
