#include "models/blocks/conv.h"

#include <cmath>

namespace orch {

namespace F = torch::nn::functional;

void he_normal_(torch::Tensor weight) {
  torch::NoGradGuard no_grad;
  // Keras's fan_in is kernel area x kernel.shape[-2]: the input channels of a Conv2D and the
  // filters of a Conv2DTranspose. LibTorch keeps both at weight dim 1 ((out, in, ...) for Conv2d,
  // (in, out, ...) for ConvTranspose2d).
  const auto sizes = weight.sizes();
  int64_t receptive = 1;
  for (size_t d = 2; d < sizes.size(); ++d) receptive *= sizes[d];
  const double fan_in = static_cast<double>(sizes[1] * receptive);
  const double std = std::sqrt(2.0 / fan_in) / 0.87962566103423978;
  auto t = torch::randn(weight.sizes());
  // Resample the tails beyond two standard deviations, as a truncated normal does.
  for (auto out = t.abs() > 2; out.any().item<bool>(); out = t.abs() > 2)
    t = torch::where(out, torch::randn(weight.sizes()), t);
  weight.copy_(t * std);
}

ConvReluBnImpl::ConvReluBnImpl(int64_t in, int64_t out, const BnOptions& opts) {
  conv =
      register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
  bn = register_module("bn",
                       torch::nn::BatchNorm2d(
                           torch::nn::BatchNormOptions(out).eps(opts.eps).momentum(opts.momentum)));
  he_normal_(conv->weight);
  torch::nn::init::zeros_(conv->bias);
}

torch::Tensor ConvReluBnImpl::forward(const torch::Tensor& x) { return bn(torch::relu(conv(x))); }

TwoConvImpl::TwoConvImpl(int64_t in, int64_t out, const BnOptions& bn) {
  first = register_module("first", ConvReluBn(in, out, bn));
  second = register_module("second", ConvReluBn(out, out, bn));
}

torch::Tensor TwoConvImpl::forward(const torch::Tensor& x) { return second(first(x)); }

UpCatImpl::UpCatImpl(int64_t in, int64_t out) {
  deconv = register_module("deconv", torch::nn::ConvTranspose2d(
                                         torch::nn::ConvTranspose2dOptions(in, out, 2).stride(2)));
  he_normal_(deconv->weight);
  torch::nn::init::zeros_(deconv->bias);
}

torch::Tensor UpCatImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  auto up = torch::relu(deconv(x));
  up = up.slice(2, 0, skip.size(2)).slice(3, 0, skip.size(3));
  return torch::cat({skip, up}, 1);
}

}  // namespace orch
