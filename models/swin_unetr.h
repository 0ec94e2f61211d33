// swin_unetr: Swin UNETR exactly as MONAI's networks/nets/swin_unetr.py (v1: use_v2 False,
// downsample "merging", patch_norm False, norm_name "instance"), docs/MODELS.md section 6. The
// paper (Hatamizadeh et al. 2022) has no separate code; MONAI's module is the reference.
//
// MONAI quirks reproduced on purpose (tested in window_attention_test / swin_unetr_test):
//  - every encoder stage, the last included, ends in PatchMerging, so hs4 is at 1/32 size;
//  - PatchMerging v1 concatenates sub-grids in the order (0,0,0), (1,0,0), (0,1,0), (0,0,1),
//    (1,1,0), (1,0,1), (0,1,1), (1,1,1) on (d, h, w), and its Linear has no bias;
//  - get_window_size: an axis no larger than the window shrinks the window to its size and drops
//    that axis's shift; the shrunk window still indexes the bias table with
//    relative_position_index[:n, :n] of the full 7^3 window;
//  - compute_mask labels regions with Python slices, so an unshifted axis ([-0:] = everything)
//    gets a single label; the mask is -100 between different labels, built once per stage on
//    the window-padded size;
//  - the encoder returns affine-free LayerNorm'd copies (normalize), but feeds the next stage
//    the raw tensor; hs3 reaches decoder5 with no encoder block; the up-block concatenates
//    [up, skip] in that order;
//  - only the bias tables are trunc-normal (std 0.02); all else keeps PyTorch's default init;
//  - the MLP applies one dropout module twice ("swin" mode); DropPath rises linearly over blocks.
// Where orch differs: MONAI rejects spatial sizes that are not multiples of 32; orch zero-pads the
// end of D, H, W up to multiples of size_multiple() = 32 and crops the logits back. (Instance
// norm statistics then include the padding, so a padded patch is not bit-equal to MONAI on the
// cropped size, which MONAI would refuse anyway.) There is no `width`: feature_size scales the
// whole network (the quick profile uses 12).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/swin_layers.h"
#include "models/blocks/unetr_blocks.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

struct SwinUnetrOptions {
  int64_t feature_size = 24;                        // embed dim; divisible by 12 (BTCV: 48)
  std::vector<int64_t> depths = {2, 2, 2, 2};       // Swin blocks per stage
  std::vector<int64_t> num_heads = {3, 6, 12, 24};  // heads per stage; divide fs * 2^stage
  int64_t window_size = 7;                          // cubic attention window
  int64_t patch_size = 2;          // patch embedding; only 2 works (the last up-block doubles once)
  double mlp_ratio = 4.0;          // MLP hidden = int(dim * mlp_ratio)
  bool qkv_bias = true;            // bias on q, k, v
  double drop_rate = 0.0;          // dropout after embedding, attention proj and in MLPs
  double attn_drop_rate = 0.0;     // dropout on attention weights
  double dropout_path_rate = 0.0;  // stochastic depth, linear from 0 over all blocks
  bool normalize = true;           // LayerNorm the encoder's hidden states
  int64_t in_channels = 1;         // image channels (from ModelShape)
  int64_t num_classes = 2;         // logits, background included (from ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static SwinUnetrOptions from_json(const nlohmann::json& j);
};

class SwinUnetrImpl : public SegmentationModelImpl {
 public:
  explicit SwinUnetrImpl(const SwinUnetrOptions& options);
  // (B, C, D, H, W) -> (B, K, D, H, W), any D, H, W >= 1 (padded to 32 inside).
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kPatch3d; }
  int64_t size_multiple() const override { return 16 * options_.patch_size; }

 private:
  torch::Tensor forward_padded(const torch::Tensor& x);

  SwinUnetrOptions options_;
  SwinTransformer swin_vit_{nullptr};
  UnetResBlock encoder1_{nullptr}, encoder2_{nullptr}, encoder3_{nullptr}, encoder4_{nullptr},
      encoder10_{nullptr};
  UnetrUpBlock decoder5_{nullptr}, decoder4_{nullptr}, decoder3_{nullptr}, decoder2_{nullptr},
      decoder1_{nullptr};
  torch::nn::Conv3d out_{nullptr};
};

ModelKind swin_unetr_kind();

}  // namespace orch
