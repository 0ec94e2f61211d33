// The Swin Transformer encoder of MONAI's swin_unetr.py (v1: "merging" down-sampling, no v2
// conv blocks): DropPath, the "swin"-mode MLP, SwinTransformerBlock, PatchMerging, BasicLayer and
// SwinTransformer. Blocks and PatchMerging work channels-last, (B, D, H, W, C); BasicLayer and
// SwinTransformer take and return channels-first (B, C, D, H, W), as MONAI's do.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "models/blocks/window_attention.h"

namespace orch {

// Stochastic depth (MONAI DropPath, scale_by_keep): in training, zeroes whole samples with
// probability p and scales the rest by 1 / (1 - p); the identity in eval mode or when p = 0.
struct DropPathImpl : torch::nn::Module {
  explicit DropPathImpl(double p) : p(p) {}
  torch::Tensor forward(const torch::Tensor& x);
  double p;
};
TORCH_MODULE(DropPath);

// MONAI MLPBlock in "swin" dropout mode: Linear(C, hidden) -> GELU (erf) -> Dropout ->
// Linear(hidden, C) -> the same Dropout again.
struct SwinMlpImpl : torch::nn::Module {
  SwinMlpImpl(int64_t dim, int64_t hidden, double drop);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(SwinMlp);

struct SwinBlockOptions {
  int64_t dim = 48;          // channels C
  int64_t num_heads = 3;     // attention heads
  Size3 window = {7, 7, 7};  // the full window
  Size3 shift = {0, 0, 0};   // 0 or window / 2 per axis
  double mlp_ratio = 4.0;    // MLP hidden = int(dim * mlp_ratio)
  bool qkv_bias = true;      // bias on q, k, v
  double drop = 0.0;         // dropout after attention proj and in the MLP
  double attn_drop = 0.0;    // dropout on the attention weights
  double drop_path = 0.0;    // stochastic depth of this block
};

// Pre-norm block: x + DropPath(W-MSA(LN(x))), then x + DropPath(MLP(LN(x))). Inside the
// attention branch: pad D, H, W at the end to multiples of the (possibly shrunk) window; if any
// shift is non-zero roll by -shift and use `mask`; partition; attend; reverse; roll back; crop.
struct SwinTransformerBlockImpl : torch::nn::Module {
  explicit SwinTransformerBlockImpl(const SwinBlockOptions& options);
  // x: (B, D, H, W, C); mask: the layer's compute_mask, used only when this block shifts.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  torch::Tensor attention_branch(torch::Tensor x, const torch::Tensor& mask);

  SwinBlockOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  DropPath drop_path{nullptr};
  SwinMlp mlp{nullptr};
};
TORCH_MODULE(SwinTransformerBlock);

// MONAI v1 PatchMerging ("merging"): pad odd D, H, W at the end, concatenate the 8 sub-grids in
// the order (d, h, w) offsets x0 = (0,0,0), x1 = (1,0,0), x2 = (0,1,0), x3 = (0,0,1),
// x4 = (1,1,0), x5 = (1,0,1), x6 = (0,1,1), x7 = (1,1,1), then LayerNorm(8C) and
// Linear(8C -> 2C, no bias). (B, D, H, W, C) -> (B, ceil(D/2), ceil(H/2), ceil(W/2), 2C).
struct PatchMergingImpl : torch::nn::Module {
  explicit PatchMergingImpl(int64_t dim);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

struct BasicLayerOptions {
  int64_t dim = 48;               // channels C
  int64_t depth = 2;              // blocks; even ones unshifted, odd ones shifted by window / 2
  int64_t num_heads = 3;          // attention heads
  Size3 window = {7, 7, 7};       // the full window
  std::vector<double> drop_path;  // per block (empty: all 0)
  double mlp_ratio = 4.0;         // MLP hidden ratio
  bool qkv_bias = true;           // bias on q, k, v
  double drop = 0.0;              // dropout rate
  double attn_drop = 0.0;         // attention dropout rate
};

// One stage: the blocks, then PatchMerging (every stage, the last included, merges).
// (B, C, D, H, W) -> (B, 2C, ceil(D/2), ceil(H/2), ceil(W/2)). The shifted-window mask is
// computed once per call on D, H, W padded up to multiples of the (shrunk) window.
struct BasicLayerImpl : torch::nn::Module {
  explicit BasicLayerImpl(const BasicLayerOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  BasicLayerOptions options;
  torch::nn::ModuleList blocks{nullptr};
  PatchMerging downsample{nullptr};
};
TORCH_MODULE(BasicLayer);

struct SwinTransformerOptions {
  int64_t in_channels = 1;                          // image channels
  int64_t embed_dim = 24;                           // feature_size
  Size3 window = {7, 7, 7};                         // window size
  int64_t patch_size = 2;                           // patch embedding kernel and stride
  std::vector<int64_t> depths = {2, 2, 2, 2};       // blocks per stage (4 stages)
  std::vector<int64_t> num_heads = {3, 6, 12, 24};  // heads per stage
  double mlp_ratio = 4.0;                           // MLP hidden ratio
  bool qkv_bias = true;                             // bias on q, k, v
  double drop_rate = 0.0;                           // dropout (pos_drop, attention proj, MLP)
  double attn_drop_rate = 0.0;                      // attention-weight dropout
  double drop_path_rate = 0.0;                      // stochastic depth, linear 0..rate over blocks
};

// PatchEmbed (Conv3d k = s = patch, with bias, zero-padding the end of a non-divisible input; no
// norm, no position embedding), pos_drop, then layers1..layers4. forward returns the 5 hidden
// states [embedding, layers1, .., layers4], each passed through an affine-free LayerNorm over
// channels when `normalize`; the next stage takes the un-normalised tensor.
struct SwinTransformerImpl : torch::nn::Module {
  explicit SwinTransformerImpl(const SwinTransformerOptions& options);
  std::vector<torch::Tensor> forward(const torch::Tensor& x, bool normalize = true);
  SwinTransformerOptions options;
  torch::nn::Conv3d patch_embed{nullptr};
  torch::nn::Dropout pos_drop{nullptr};
  std::vector<BasicLayer> layers;
};
TORCH_MODULE(SwinTransformer);

}  // namespace orch
