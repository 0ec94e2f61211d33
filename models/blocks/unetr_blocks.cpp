#include "models/blocks/unetr_blocks.h"

namespace orch {

namespace {

torch::nn::Conv3d conv_no_bias(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv3d(
      torch::nn::Conv3dOptions(in, out, kernel).padding(kernel / 2).bias(false));
}

// MONAI get_norm_layer("instance"): nn.InstanceNorm3d(channels), affine False.
torch::nn::InstanceNorm3d instance_norm(int64_t channels) {
  return torch::nn::InstanceNorm3d(
      torch::nn::InstanceNorm3dOptions(channels).affine(false).track_running_stats(false));
}

torch::Tensor leaky(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }

}  // namespace

UnetResBlockImpl::UnetResBlockImpl(int64_t in, int64_t out) {
  conv1 = register_module("conv1", conv_no_bias(in, out, 3));
  conv2 = register_module("conv2", conv_no_bias(out, out, 3));
  norm1 = register_module("norm1", instance_norm(out));
  norm2 = register_module("norm2", instance_norm(out));
  if (in != out) {
    conv3 = register_module("conv3", conv_no_bias(in, out, 1));
    norm3 = register_module("norm3", instance_norm(out));
  }
}

torch::Tensor UnetResBlockImpl::forward(const torch::Tensor& x) {
  auto y = norm2(conv2(leaky(norm1(conv1(x)))));
  const auto residual = conv3 ? norm3(conv3(x)) : x;
  return leaky(y + residual);
}

UnetrUpBlockImpl::UnetrUpBlockImpl(int64_t in, int64_t out) {
  transp_conv = register_module(
      "transp_conv", torch::nn::ConvTranspose3d(
                         torch::nn::ConvTranspose3dOptions(in, out, 2).stride(2).bias(false)));
  conv_block = register_module("conv_block", UnetResBlock(2 * out, out));
}

torch::Tensor UnetrUpBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  return conv_block(torch::cat({transp_conv(x), skip}, 1));
}

}  // namespace orch
