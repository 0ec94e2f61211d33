// MONAI's dynunet convolution blocks as Swin UNETR uses them (norm_name "instance", res_block
// True, kernel 3, stride 1): UnetResBlock and UnetrUpBlock, 3D. Convs have no bias, the norm is
// InstanceNorm3d with MONAI's defaults (affine = False, no running statistics, eps 1e-5) and the
// activation LeakyReLU(0.01). Tensors are (B, C, D, H, W).
#pragma once

#include <torch/torch.h>

namespace orch {

// conv3x3x3 -> IN -> LeakyReLU -> conv3x3x3 -> IN, plus a shortcut (conv1x1x1 -> IN when the
// channel count changes, else the input), added, then LeakyReLU. Padding 1 keeps the size.
struct UnetResBlockImpl : torch::nn::Module {
  UnetResBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv3d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};  // conv3: shortcut or null
  torch::nn::InstanceNorm3d norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(UnetResBlock);

// ConvTranspose3d(in -> out, kernel 2, stride 2, no bias), concatenate [up, skip] on channels
// (up first), then UnetResBlock(2 * out -> out). `skip` must have out channels and twice x's size.
struct UnetrUpBlockImpl : torch::nn::Module {
  UnetrUpBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);
  torch::nn::ConvTranspose3d transp_conv{nullptr};
  UnetResBlock conv_block{nullptr};
};
TORCH_MODULE(UnetrUpBlock);

}  // namespace orch
