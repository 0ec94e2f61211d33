// 3D convolution blocks for the kPatch3d models.
//  - U-Net blocks (unet3d): a 3x3x3 'same' conv with BN and ReLU in either order (Cicek 2016:
//    Conv -> BN -> ReLU; the Spider thesis's Keras code: Conv -> ReLU -> BN), two of them in a
//    row, and a 2x2x2 stride-2 transposed conv followed by the [skip, up] concatenation.
//  - Isensee-2017 "Modified 3D U-Net" pieces (resunet3d, docs/MODELS.md section 8): bias-free
//  convs,
//    InstanceNorm3d without affine parameters or running statistics, LeakyReLU 0.01, the
//    residual context module and the nearest-neighbour upscale module.
//  - Padding helpers: the models pad (B, C, D, H, W) to a multiple of their pooling factor and
//    crop the logits back, so that every spatial size >= 1 is accepted.
#pragma once

#include <torch/torch.h>

#include <string>

#include "models/blocks/conv.h"

namespace orch {

// Where BatchNorm sits relative to the ReLU, and how the conv weights start.
struct ConvBlock3dOptions {
  bool bn_before_relu = true;  // Cicek: Conv -> BN -> ReLU; false: Keras Conv -> ReLU -> BN
  BnOptions bn{1e-5, 0.1};     // PyTorch's defaults (the Keras code uses {1e-3, 0.01})
  bool keras_init = false;     // he_normal truncated at 2 sigma (Keras); else He's untruncated
                               // N(0, sqrt(2 / fan_in)) as in Ronneberger/Cicek. Biases start at 0.
};

// Initialises a conv or transposed-conv weight (LibTorch layout) and zeroes its bias if any.
void init_conv3d_(torch::Tensor weight, torch::Tensor bias, bool keras_init);

// One 3x3x3 'same' conv (with bias) plus BatchNorm3d and ReLU in the order of `options`.
struct ConvBlock3dImpl : torch::nn::Module {
  ConvBlock3dImpl(int64_t in, int64_t out, const ConvBlock3dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv3d conv{nullptr};
  torch::nn::BatchNorm3d bn{nullptr};
  bool bn_before_relu = true;
};
TORCH_MODULE(ConvBlock3d);

// Two ConvBlock3d: in -> mid -> out (Cicek doubles the channels in the second conv of a level).
struct TwoConv3dImpl : torch::nn::Module {
  TwoConv3dImpl(int64_t in, int64_t mid, int64_t out, const ConvBlock3dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  ConvBlock3d first{nullptr}, second{nullptr};
};
TORCH_MODULE(TwoConv3d);

// ConvTranspose3d 2x2x2 stride 2 (with bias), optionally followed by ReLU (the Keras code's
// activation='relu'; Cicek has none), then concat [skip, up] along channels. The caller
// guarantees that the up-sampled map has the skip's spatial size (it pads its input).
struct UpCat3dImpl : torch::nn::Module {
  UpCat3dImpl(int64_t in, int64_t out, bool relu, bool keras_init);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);
  torch::nn::ConvTranspose3d deconv{nullptr};
  bool relu = false;
};
TORCH_MODULE(UpCat3d);

// ---- Isensee-2017 pieces ---------------------------------------------------------------------

// Conv3d without bias, 'same' padding for odd kernels: (in, out, kernel, stride).
torch::nn::Conv3d conv3d_no_bias(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1);

// InstanceNorm3d(affine=False, eps 1e-5, no running stats) followed by LeakyReLU(0.01).
torch::Tensor instance_norm_lrelu(const torch::Tensor& x);

// LeakyReLU with PyTorch's default slope 0.01.
torch::Tensor leaky_relu_001(const torch::Tensor& x);

// The residual context module of levels 2-5 (pykao `conv3d_cN` + `norm_lrelu_conv_cN`):
//   r = conv3(in -> out, stride 2);  y = conv_a(IN-LReLU(r));  y = dropout3d(y);
//   y = conv_b(IN-LReLU(y));  return y + r.
// With `shared` (pykao's code) conv_b is conv_a: one weight set applied twice.
struct ResidualContext3dImpl : torch::nn::Module {
  ResidualContext3dImpl(int64_t in, int64_t out, double dropout, bool shared);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv3d down{nullptr}, conv_a{nullptr}, conv_b{nullptr};
  double dropout = 0.0;
};
TORCH_MODULE(ResidualContext3d);

// The upscale module (pykao `norm_lrelu_upscale_conv_norm_lrelu`):
// IN-LReLU -> nearest x2 -> conv3 (in -> out, no bias) -> IN-LReLU.
struct Upscale3dImpl : torch::nn::Module {
  Upscale3dImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv3d conv{nullptr};
};
TORCH_MODULE(Upscale3d);

// Nearest-neighbour x2 up-sampling of (B, C, D, H, W).
torch::Tensor upsample_nearest2(const torch::Tensor& x);

// ---- padding ---------------------------------------------------------------------------------

// Throws orch::Error naming `model` unless x is (B, in_channels, D, H, W), D,H,W >= 1.
void check_patch_input(const torch::Tensor& x, int64_t in_channels, const std::string& model);

// Zero-pads D, H and W at their far ends up to the next multiple of `multiple` (no copy when
// they already are multiples).
torch::Tensor pad_to_multiple_3d(const torch::Tensor& x, int64_t multiple);

// The first D, H, W voxels of y, with D, H, W taken from `like` (undoes pad_to_multiple_3d).
torch::Tensor crop_like_3d(const torch::Tensor& y, const torch::Tensor& like);

}  // namespace orch
