#include "models/blocks/conv_bn_relu.h"

namespace orch {

namespace F = torch::nn::functional;

DoubleConvBnReluImpl::DoubleConvBnReluImpl(int64_t in, int64_t out) {
  const auto conv3x3 = [](int64_t i, int64_t o) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(i, o, 3).padding(1).bias(false));
  };
  conv1 = register_module("conv1", conv3x3(in, out));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2 = register_module("conv2", conv3x3(out, out));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
}

torch::Tensor DoubleConvBnReluImpl::forward(const torch::Tensor& x) {
  return torch::relu(bn2(conv2(torch::relu(bn1(conv1(x))))));
}

UpDoubleConvImpl::UpDoubleConvImpl(int64_t in, int64_t skip, int64_t out, bool bilinear) {
  if (!bilinear)
    deconv = register_module(
        "deconv",
        torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in, out, 2).stride(2)));
  conv = register_module("conv", DoubleConvBnRelu(skip + (bilinear ? in : out), out));
}

torch::Tensor UpDoubleConvImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  torch::Tensor up;
  if (deconv) {
    up = deconv(x);
  } else {
    up = F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{2 * x.size(2), 2 * x.size(3)})
                               .mode(torch::kBilinear)
                               .align_corners(true));
  }
  up = up.slice(2, 0, skip.size(2)).slice(3, 0, skip.size(3));
  return conv(torch::cat({skip, up}, 1));
}

}  // namespace orch
