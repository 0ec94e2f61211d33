// resunet3d: the MS paper's "Residual 3D U-Net" (seed 003, docs/MODELS.md section 8), built as
// Isensee et al. 2017's "Modified 3D U-Net" in the form of pykao/Modified-3D-UNet-Pytorch
// (model.py), the public code closest to the paper's description (residual encoder blocks,
// InstanceNorm, LeakyReLU, dropout, nearest-neighbour upsampling, 1x1x1 decoder convs).
//
// Layers (f = base filters; convs bias-free; IN = InstanceNorm3d affine=False; LReLU 0.01):
//   L1: r = conv3(in->f); y = conv3(LReLU(r)); dropout3d; y = conv3(LReLU(y)); s = y + r;
//       ctx1 = LReLU(s); the path goes on with IN-LReLU(s).
//   L2..L4 (2f, 4f, 8f): ResidualContext3d (stride-2 conv3, then [IN-LReLU-conv3], dropout3d,
//       [IN-LReLU-conv3], plus the stride-2 output); ctx = IN-LReLU(sum).
//   L5 (16f): the same block; Upscale3d(16f->8f); conv1(8f->8f); IN-LReLU.
//   Decoder at 8f, 4f, 2f: concat [x, ctx]; conv3 + IN-LReLU (ds2 and ds3 taken here at the 2nd
//       and 3rd); conv1 halving; Upscale3d.
//   Top: concat [x, ctx1]; conv3(2f->2f) + IN-LReLU; conv1(2f->K).
//   Deep supervision: K = num_classes 1x1 heads on ds2 (8f) and ds3 (4f); up(ds2) + ds3, up again,
//       added to the top's output. The result is K logits (softmax is the loss's business; for
//       BCE+Dice with one sigmoid channel the loss takes the foreground logit).
//
// Paper versus code: the paper gives neither the base filter count nor the dropout rate, and its
// "encoder block 2 runs three convolutions" matches the code's L2-L4 (stride conv + the context
// module's conv applied twice). So the code's choices are the defaults: f = 8, p = 0.6, and the
// code's weight sharing (`shared_context_conv`: L2-L5 apply one conv module twice; Isensee's
// paper has two distinct convs, `shared_context_conv: false`). Isensee's paper uses f = 16 and
// p = 0.3 [M], selectable through the options.
//
// Odd sizes: the input is zero-padded at the far end of D, H, W to a multiple of 16 (four
// stride-2 convs) and the logits are cropped back. A padded side of 16 leaves the bottom one voxel
// wide, where InstanceNorm zeroes everything; real patches (144^3 in the paper) are far larger.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/conv3d.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

struct Resunet3dOptions {
  int64_t base_filters = 8;         // f: pykao's default (the paper gives none; Isensee: 16)
  double width = 1.0;               // multiplies base_filters (rounded, at least 1)
  double dropout = 0.6;             // Dropout3d p in L1-L5 (pykao; Isensee: 0.3)
  bool shared_context_conv = true;  // L2-L5 apply one conv twice (pykao's quirk)
  int64_t in_channels = 1;          // image channels (from ModelShape)
  int64_t num_classes = 2;          // logits, background included (from ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static Resunet3dOptions from_json(const nlohmann::json& j);
};

class Resunet3dImpl : public SegmentationModelImpl {
 public:
  explicit Resunet3dImpl(const Resunet3dOptions& options);
  // (B, C, D, H, W) -> (B, K, D, H, W) logits.
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kPatch3d; }
  int64_t size_multiple() const override { return 16; }

 private:
  // Runs L1-L5 and the bottom's up-sampling; returns the up-sampled bottom and fills ctx[0..3].
  torch::Tensor encode(const torch::Tensor& x, std::vector<torch::Tensor>& ctx);

  int64_t in_channels_;
  double dropout_;
  torch::nn::Conv3d c1_first_{nullptr}, c1_second_{nullptr}, c1_third_{nullptr};
  std::vector<ResidualContext3d> context_;  // L2..L5
  Upscale3d bottom_up_{nullptr};
  torch::nn::Conv3d bottom_conv_{nullptr};
  std::vector<torch::nn::Conv3d> local_conv_;  // 3x3x3 localization convs, deepest first
  std::vector<torch::nn::Conv3d> local_half_;  // 1x1x1 halving convs (l1-l3)
  std::vector<Upscale3d> local_up_;            // l1-l3
  torch::nn::Conv3d out_{nullptr}, ds2_{nullptr}, ds3_{nullptr};
};

ModelKind resunet3d_kind();

}  // namespace orch
