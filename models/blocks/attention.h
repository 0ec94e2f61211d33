// 2D attention blocks compared in the lung-nodule RB-CBAM paper (docs/MODELS.md section 9): SE,
// the attention gate of Attention U-Net (Oktay 2018), BAM and CBAM. Each follows the public code
// named in docs/MODELS.md; where that code and its paper disagree the choice is stated at the
// block. Every block maps (B, C, H, W) -> (B, C, H, W) for any H, W >= 1 and any batch size.
#pragma once

#include <torch/torch.h>

namespace orch {

// Bilinear (align_corners = false) up-sampling of a coarse map onto an (h, w) grid that was
// pooled with ceil mode: the coarse map is doubled, then cropped, so coarse pixel j keeps covering
// fine pixels 2j and 2j + 1. A coarse map that is not the ceil-mode half of (h, w) is resized to
// (h, w) directly.
torch::Tensor upsample_to(const torch::Tensor& coarse, int64_t h, int64_t w);

// BatchNorm that takes batch statistics only when each channel has two values or more; a training
// batch of one sample on a 1x1 map (a global pool, a reduction MLP) is normalised with the running
// statistics instead of failing. `bn` is a BatchNorm1d/2d module holder.
template <typename Bn>
torch::Tensor norm_any_batch(Bn& bn, const torch::Tensor& x, bool training) {
  const bool batch_stats = training && x.numel() / x.size(1) > 1;
  return torch::batch_norm(x, bn->weight, bn->bias, bn->running_mean, bn->running_var, batch_stats,
                           bn->options.momentum().value_or(0.1), bn->options.eps(),
                           /*cudnn_enabled=*/true);
}

// Hidden width of a reduction MLP: channels / reduction, at least 1 (narrow models).
int64_t reduced(int64_t channels, int64_t reduction);

// Squeeze-and-excitation (rishikksh20 `Squeeze_Excite_Block`): GAP -> Linear(C, C/r, no bias) ->
// ReLU -> Linear(C/r, C, no bias) -> sigmoid -> x * s.
struct SqueezeExciteImpl : torch::nn::Module {
  SqueezeExciteImpl(int64_t channels, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SqueezeExcite);

// Additive attention gate (ozan-oktay `GridAttentionBlock2D`, concatenation mode, sub-sample 2):
// theta = Conv(x, k = s = 2, no bias) puts x on the gate's grid, phi = Conv1x1(g) is resized to
// theta's grid, alpha = sigmoid(Conv1x1(ReLU(theta + phi))) is up-sampled to x, and the output is
// W(alpha * x) with W = Conv1x1 + BN. x of odd size is zero-padded to even before theta, so theta
// lands on the ceil-mode grid the U-Net's gate g lives on. inter = C_x / 2 (at least 1).
struct AttentionGateImpl : torch::nn::Module {
  AttentionGateImpl(int64_t x_channels, int64_t g_channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& g);
  // alpha in (0, 1) on x's grid, (B, 1, H, W), from the last forward.
  const torch::Tensor& last_alpha() const { return alpha_; }
  torch::nn::Conv2d theta{nullptr}, phi{nullptr}, psi{nullptr}, w{nullptr};
  torch::nn::BatchNorm2d w_bn{nullptr};

 private:
  torch::Tensor alpha_;
};
TORCH_MODULE(AttentionGate);

// How BAM joins its channel map Mc (B, C, 1, 1) and spatial map Ms (B, 1, H, W).
enum class BamCombine {
  kSum,      // the BAM paper: M = sigmoid(Mc + Ms), the variant its ablation favours
  kProduct,  // Jongchan/attention-module bam.py: M = sigmoid(Mc * Ms)
};

// Bottleneck attention module (Jongchan `bam.py`), out = (1 + M) * x.
// Channel: GAP -> Linear(C, C/r) -> BN1d -> ReLU -> Linear(C/r, C).
// Spatial: Conv1x1(C -> C/r) + BN + ReLU -> 2 x [Conv3x3 dilation 4 + BN + ReLU] -> Conv1x1(-> 1).
// BN1d cannot take training statistics from one sample: see norm_any_batch.
struct BamImpl : torch::nn::Module {
  BamImpl(int64_t channels, int64_t reduction, BamCombine combine, int64_t dilation = 4);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor channel_map(const torch::Tensor& x);  // Mc, (B, C, 1, 1)
  torch::Tensor spatial_map(const torch::Tensor& x);  // Ms, (B, 1, H, W)
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::BatchNorm1d fc_bn{nullptr};
  torch::nn::Sequential spatial{nullptr};
  BamCombine combine;
};
TORCH_MODULE(Bam);

// CBAM's channel gate (Jongchan `cbam.py`): a shared MLP Linear(C, C/r) -> ReLU -> Linear(C/r, C)
// (with biases) on the full-map average and max pools, summed, sigmoid: x * Mc.
struct ChannelGateImpl : torch::nn::Module {
  ChannelGateImpl(int64_t channels, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ChannelGate);

// [max, mean] over channels: (B, C, H, W) -> (B, 2, H, W), max first as in cbam.py's ChannelPool.
torch::Tensor channel_pool(const torch::Tensor& x);

// CBAM's spatial gate: ChannelPool -> Conv7x7 (2 -> 1, pad 3, no bias) -> BN (eps 1e-5, momentum
// 0.01, no ReLU) -> sigmoid: x * Ms.
struct SpatialGateImpl : torch::nn::Module {
  explicit SpatialGateImpl(int64_t kernel = 7);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(SpatialGate);

// CBAM: the channel gate, then the spatial gate, in sequence.
struct CbamImpl : torch::nn::Module {
  CbamImpl(int64_t channels, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);
  ChannelGate channel{nullptr};
  SpatialGate spatial{nullptr};
};
TORCH_MODULE(Cbam);

}  // namespace orch
