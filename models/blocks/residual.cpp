#include "models/blocks/residual.h"

namespace orch {

namespace {

// A conv that feeds a BatchNorm directly has no bias: BN's shift absorbs it, and its gradient
// would be zero up to rounding.
torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias = true) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(bias));
}

}  // namespace

torch::nn::Sequential residual_shortcut(int64_t in, int64_t out, int64_t stride,
                                        ResidualShortcut kind, bool bn_after_conv3x3) {
  torch::nn::Sequential s;
  if (kind == ResidualShortcut::kConv3x3) {
    s->push_back("conv", conv(in, out, 3, stride, /*bias=*/!bn_after_conv3x3));
    if (bn_after_conv3x3) s->push_back("bn", torch::nn::BatchNorm2d(out));
  } else if (in != out || stride != 1) {
    s->push_back("conv", conv(in, out, 1, stride));
  }
  return s;
}

ResidualUnitImpl::ResidualUnitImpl(int64_t in, int64_t out, int64_t stride, ResidualShortcut kind) {
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(in));
  conv1 = register_module("conv1", conv(in, out, 3, stride, /*bias=*/false));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
  conv2 = register_module("conv2", conv(out, out, 3, 1));
  shortcut = register_module("shortcut", residual_shortcut(in, out, stride, kind, /*bn=*/true));
}

torch::Tensor ResidualUnitImpl::forward(const torch::Tensor& x) {
  auto y = conv1(torch::relu(bn1(x)));
  y = conv2(torch::relu(bn2(y)));
  return y + (shortcut->is_empty() ? x : shortcut->forward(x));
}

ResidualInputUnitImpl::ResidualInputUnitImpl(int64_t in, int64_t out, ResidualShortcut kind) {
  conv1 = register_module("conv1", conv(in, out, 3, 1, /*bias=*/false));
  bn = register_module("bn", torch::nn::BatchNorm2d(out));
  conv2 = register_module("conv2", conv(out, out, 3, 1));
  shortcut = register_module("shortcut", residual_shortcut(in, out, 1, kind, /*bn=*/false));
}

torch::Tensor ResidualInputUnitImpl::forward(const torch::Tensor& x) {
  const auto y = conv2(torch::relu(bn(conv1(x))));
  return y + (shortcut->is_empty() ? x : shortcut->forward(x));
}

}  // namespace orch
