// unet3d: the plain 3D U-Net, in two variants (docs/MODELS.md sections 4 and 1).
//
// variant "cicek" (default): Cicek et al. 2016, "3D U-Net: Learning Dense Volumetric Segmentation
//   from Sparse Annotation", the comparator of the MS paper. Per level two 3x3x3 convs, each
//   Conv -> BN -> ReLU; the second conv doubles the channels before pooling: 32,64 | 64,128 |
//   128,256 | 256,512 (the last level is the bottom); 2x2x2 max-pool stride 2 (3 poolings);
//   up-conv 2x2x2 stride 2 keeping the channels (512, 256, 128; no activation), concat
//   [skip, up], two convs to the skip's channels; final 1x1x1 conv to the classes.
//   Differences from the paper: padded ('same') convs, so the logits have the input's size (the
//   paper's convs are unpadded, 132x132x116 -> 44x44x28 [M]); the paper's 19,069,955 parameters
//   (3 channels in, 3 labels) is not reproduced exactly by any reading of its layer list: this
//   topology with conv biases and BN gamma/beta has 19,075,523 (see the test's arithmetic).
//   Weights start He-normal N(0, sqrt(2/fan_in)), biases 0, BN with PyTorch defaults.
//
// variant "thesis": the Spider U-Net thesis's `unet_3d` as in the author's Keras code
//   (siniphia/SpiderUnet mra_keras_models.py): the wide_unet topology in 3D. Filters
//   64,128,196,256,512; every conv Conv -> ReLU -> BN (Keras BN eps 1e-3, momentum 0.99);
//   4 levels of two convs with 2x2x2 pooling; a single-conv 512 bottleneck; Conv3DTranspose 2x2x2
//   + ReLU where every up-conv has 256 filters (the code's f_num[3] quirk, kept); concat
//   [skip, up]; a 32-filter top conv and a 3x3x3 logits conv (softmax dropped: we return logits).
//   Keras he_normal (truncated) kernels, zero biases.
//
// `width` scales every filter count (rounded, at least 1). Odd sizes: the input is zero-padded at
// the far end of D, H, W to a multiple of size_multiple() (8 for cicek, 16 for thesis) and the
// logits are cropped back. BN in training mode needs more than one value per channel at the
// bottom, so training with batch 1 needs an input larger than size_multiple() along some axis.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/conv3d.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

struct Unet3dOptions {
  std::string variant = "cicek";      // "cicek" (Cicek 2016) or "thesis" (Spider unet_3d)
  double width = 1.0;                 // multiplies every filter count (rounded, at least 1)
  std::optional<double> bn_momentum;  // PyTorch convention; unset: the variant's default
                                      // (cicek 0.1, thesis 0.01 = Keras 0.99)
  int64_t in_channels = 1;            // image channels (from ModelShape)
  int64_t num_classes = 2;            // logits, background included (from ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static Unet3dOptions from_json(const nlohmann::json& j);
};

class Unet3dImpl : public SegmentationModelImpl {
 public:
  explicit Unet3dImpl(const Unet3dOptions& options);
  // (B, C, D, H, W) -> (B, K, D, H, W) logits.
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kPatch3d; }
  int64_t size_multiple() const override;

 private:
  int64_t in_channels_;
  std::vector<TwoConv3d> down_;            // encoder levels, shallowest first
  torch::nn::Sequential bottom_{nullptr};  // one (thesis) or two (cicek) ConvBlock3d
  std::vector<UpCat3d> up_;                // deepest first
  std::vector<TwoConv3d> up_conv_;         // deepest first
  ConvBlock3d top_{nullptr};               // thesis's 32-filter conv; null for cicek
  torch::nn::Conv3d logits_{nullptr};
};

ModelKind unet3d_kind();

}  // namespace orch
