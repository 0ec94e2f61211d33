#include "models/blocks/conv3d.h"

#include <cmath>

#include "common/status.h"

namespace orch {

namespace F = torch::nn::functional;

void init_conv3d_(torch::Tensor weight, torch::Tensor bias, bool keras_init) {
  torch::NoGradGuard no_grad;
  if (keras_init) {
    he_normal_(weight);
  } else {
    // He et al.: N(0, sqrt(2 / fan_in)), fan_in = weight dim 1 x kernel volume. For a
    // transposed conv (weight (in, out, k...)) that is out x k^3, the same convention as Keras.
    const auto sizes = weight.sizes();
    int64_t receptive = 1;
    for (size_t d = 2; d < sizes.size(); ++d) receptive *= sizes[d];
    weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(sizes[1] * receptive)));
  }
  if (bias.defined()) bias.zero_();
}

ConvBlock3dImpl::ConvBlock3dImpl(int64_t in, int64_t out, const ConvBlock3dOptions& o)
    : bn_before_relu(o.bn_before_relu) {
  conv =
      register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, 3).padding(1)));
  bn = register_module("bn",
                       torch::nn::BatchNorm3d(
                           torch::nn::BatchNormOptions(out).eps(o.bn.eps).momentum(o.bn.momentum)));
  init_conv3d_(conv->weight, conv->bias, o.keras_init);
}

torch::Tensor ConvBlock3dImpl::forward(const torch::Tensor& x) {
  return bn_before_relu ? torch::relu(bn(conv(x))) : bn(torch::relu(conv(x)));
}

TwoConv3dImpl::TwoConv3dImpl(int64_t in, int64_t mid, int64_t out, const ConvBlock3dOptions& o) {
  first = register_module("first", ConvBlock3d(in, mid, o));
  second = register_module("second", ConvBlock3d(mid, out, o));
}

torch::Tensor TwoConv3dImpl::forward(const torch::Tensor& x) { return second(first(x)); }

UpCat3dImpl::UpCat3dImpl(int64_t in, int64_t out, bool relu_after, bool keras_init)
    : relu(relu_after) {
  deconv = register_module("deconv", torch::nn::ConvTranspose3d(
                                         torch::nn::ConvTranspose3dOptions(in, out, 2).stride(2)));
  init_conv3d_(deconv->weight, deconv->bias, keras_init);
}

torch::Tensor UpCat3dImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  auto up = deconv(x);
  if (relu) up = torch::relu(up);
  return torch::cat({skip, up}, 1);
}

// ---- Isensee-2017 pieces ---------------------------------------------------------------------

torch::nn::Conv3d conv3d_no_bias(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv3d(
      torch::nn::Conv3dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

torch::Tensor leaky_relu_001(const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }

torch::Tensor instance_norm_lrelu(const torch::Tensor& x) {
  return leaky_relu_001(F::instance_norm(x, F::InstanceNormFuncOptions().eps(1e-5)));
}

torch::Tensor upsample_nearest2(const torch::Tensor& x) {
  return torch::upsample_nearest3d(x, {2 * x.size(2), 2 * x.size(3), 2 * x.size(4)});
}

ResidualContext3dImpl::ResidualContext3dImpl(int64_t in, int64_t out, double p, bool shared)
    : dropout(p) {
  down = register_module("down", conv3d_no_bias(in, out, 3, 2));
  conv_a = register_module("conv_a", conv3d_no_bias(out, out, 3));
  // A shared conv_b is the same module object: one weight set, registered once.
  conv_b = shared ? conv_a : register_module("conv_b", conv3d_no_bias(out, out, 3));
}

torch::Tensor ResidualContext3dImpl::forward(const torch::Tensor& x) {
  const auto r = down(x);
  auto y = conv_a(instance_norm_lrelu(r));
  y = F::dropout3d(y, F::Dropout3dFuncOptions().p(dropout).training(is_training()));
  y = conv_b(instance_norm_lrelu(y));
  return y + r;
}

Upscale3dImpl::Upscale3dImpl(int64_t in, int64_t out) {
  conv = register_module("conv", conv3d_no_bias(in, out, 3));
}

torch::Tensor Upscale3dImpl::forward(const torch::Tensor& x) {
  return instance_norm_lrelu(conv(upsample_nearest2(instance_norm_lrelu(x))));
}

// ---- padding ---------------------------------------------------------------------------------

void check_patch_input(const torch::Tensor& x, int64_t in_channels, const std::string& model) {
  if (x.dim() != 5 || x.size(1) != in_channels || x.size(2) < 1 || x.size(3) < 1 || x.size(4) < 1) {
    throw Error(model + ": expected a (B, " + std::to_string(in_channels) +
                ", D, H, W) patch, got " + std::to_string(x.dim()) + "-D input of sizes " +
                c10::str(x.sizes()));
  }
}

torch::Tensor pad_to_multiple_3d(const torch::Tensor& x, int64_t multiple) {
  auto extra = [&](int64_t n) { return (multiple - n % multiple) % multiple; };
  const int64_t pd = extra(x.size(2)), ph = extra(x.size(3)), pw = extra(x.size(4));
  if (pd == 0 && ph == 0 && pw == 0) return x;
  // F::pad lists the last dim first: (W before, W after, H before, H after, D before, D after).
  return F::pad(x, F::PadFuncOptions({0, pw, 0, ph, 0, pd}));
}

torch::Tensor crop_like_3d(const torch::Tensor& y, const torch::Tensor& like) {
  return y.slice(2, 0, like.size(2)).slice(3, 0, like.size(3)).slice(4, 0, like.size(4));
}

}  // namespace orch
