#include "models/blocks/attention.h"

#include <algorithm>
#include <vector>

namespace orch {

namespace F = torch::nn::functional;
using torch::nn::BatchNorm2d;
using torch::nn::BatchNormOptions;
using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using torch::nn::Linear;
using torch::nn::LinearOptions;

torch::Tensor upsample_to(const torch::Tensor& coarse, int64_t h, int64_t w) {
  const int64_t ch = coarse.size(2), cw = coarse.size(3);
  const bool half = ch == (h + 1) / 2 && cw == (w + 1) / 2;
  const std::vector<int64_t> size =
      half ? std::vector<int64_t>{2 * ch, 2 * cw} : std::vector<int64_t>{h, w};
  auto up = F::interpolate(
      coarse, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
  return up.slice(2, 0, h).slice(3, 0, w);
}

int64_t reduced(int64_t channels, int64_t reduction) {
  return std::max<int64_t>(1, channels / reduction);
}

// ---- SE -------------------------------------------------------------------------------------

SqueezeExciteImpl::SqueezeExciteImpl(int64_t channels, int64_t reduction) {
  const int64_t hidden = reduced(channels, reduction);
  fc1 = register_module("fc1", Linear(LinearOptions(channels, hidden).bias(false)));
  fc2 = register_module("fc2", Linear(LinearOptions(hidden, channels).bias(false)));
}

torch::Tensor SqueezeExciteImpl::forward(const torch::Tensor& x) {
  const auto s = torch::sigmoid(fc2(torch::relu(fc1(x.mean({2, 3})))));
  return x * s.unsqueeze(-1).unsqueeze(-1);
}

// ---- attention gate ---------------------------------------------------------------------------

AttentionGateImpl::AttentionGateImpl(int64_t x_channels, int64_t g_channels) {
  const int64_t inter = std::max<int64_t>(1, x_channels / 2);
  theta =
      register_module("theta", Conv2d(Conv2dOptions(x_channels, inter, 2).stride(2).bias(false)));
  phi = register_module("phi", Conv2d(Conv2dOptions(g_channels, inter, 1)));
  psi = register_module("psi", Conv2d(Conv2dOptions(inter, 1, 1)));
  w = register_module("w", Conv2d(Conv2dOptions(x_channels, x_channels, 1)));
  w_bn = register_module("w_bn", BatchNorm2d(x_channels));
  // Oktay's init_weights: Kaiming normal (fan_in) on the convs.
  for (auto* conv : {&theta, &phi, &psi, &w})
    torch::nn::init::kaiming_normal_((*conv)->weight, 0.0, torch::kFanIn);
}

torch::Tensor AttentionGateImpl::forward(const torch::Tensor& x, const torch::Tensor& g) {
  const int64_t h = x.size(2), wd = x.size(3);
  const auto even = F::pad(x, F::PadFuncOptions({0, wd % 2, 0, h % 2}));
  const auto th = theta(even);
  auto ph = phi(g);
  if (ph.sizes() != th.sizes())
    ph = F::interpolate(ph, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{th.size(2), th.size(3)})
                                .mode(torch::kBilinear)
                                .align_corners(false));
  const auto a = torch::sigmoid(psi(torch::relu(th + ph)));
  alpha_ = upsample_to(a, h, wd);
  return w_bn(w(alpha_ * x));
}

// ---- BAM --------------------------------------------------------------------------------------

BamImpl::BamImpl(int64_t channels, int64_t reduction, BamCombine how, int64_t dilation)
    : combine(how) {
  const int64_t hidden = reduced(channels, reduction);
  fc1 = register_module("fc1", Linear(channels, hidden));
  fc_bn = register_module("fc_bn", torch::nn::BatchNorm1d(hidden));
  fc2 = register_module("fc2", Linear(hidden, channels));
  torch::nn::Sequential s;
  s->push_back(Conv2d(Conv2dOptions(channels, hidden, 1)));
  s->push_back(BatchNorm2d(hidden));
  s->push_back(torch::nn::ReLU());
  for (int i = 0; i < 2; ++i) {
    s->push_back(Conv2d(Conv2dOptions(hidden, hidden, 3).padding(dilation).dilation(dilation)));
    s->push_back(BatchNorm2d(hidden));
    s->push_back(torch::nn::ReLU());
  }
  s->push_back(Conv2d(Conv2dOptions(hidden, 1, 1)));
  spatial = register_module("spatial", s);
}

torch::Tensor BamImpl::channel_map(const torch::Tensor& x) {
  const auto z = norm_any_batch(fc_bn, fc1(x.mean({2, 3})), is_training());
  return fc2(torch::relu(z)).unsqueeze(-1).unsqueeze(-1);
}

torch::Tensor BamImpl::spatial_map(const torch::Tensor& x) { return spatial->forward(x); }

torch::Tensor BamImpl::forward(const torch::Tensor& x) {
  const auto mc = channel_map(x);
  const auto ms = spatial_map(x);
  const auto m = combine == BamCombine::kSum ? mc + ms : mc * ms;
  return (1 + torch::sigmoid(m)) * x;
}

// ---- CBAM -------------------------------------------------------------------------------------

ChannelGateImpl::ChannelGateImpl(int64_t channels, int64_t reduction) {
  const int64_t hidden = reduced(channels, reduction);
  fc1 = register_module("fc1", Linear(channels, hidden));
  fc2 = register_module("fc2", Linear(hidden, channels));
}

torch::Tensor ChannelGateImpl::forward(const torch::Tensor& x) {
  const auto avg = x.mean({2, 3});
  const auto max = x.amax({2, 3});
  const auto mc = torch::sigmoid(fc2(torch::relu(fc1(avg))) + fc2(torch::relu(fc1(max))));
  return x * mc.unsqueeze(-1).unsqueeze(-1);
}

torch::Tensor channel_pool(const torch::Tensor& x) {
  return torch::cat({x.amax(1, /*keepdim=*/true), x.mean(1, /*keepdim=*/true)}, 1);
}

SpatialGateImpl::SpatialGateImpl(int64_t kernel) {
  conv = register_module("conv",
                         Conv2d(Conv2dOptions(2, 1, kernel).padding((kernel - 1) / 2).bias(false)));
  bn = register_module("bn", BatchNorm2d(BatchNormOptions(1).eps(1e-5).momentum(0.01)));
}

torch::Tensor SpatialGateImpl::forward(const torch::Tensor& x) {
  return x * torch::sigmoid(bn(conv(channel_pool(x))));
}

CbamImpl::CbamImpl(int64_t channels, int64_t reduction) {
  channel = register_module("channel", ChannelGate(channels, reduction));
  spatial = register_module("spatial", SpatialGate(7));
}

torch::Tensor CbamImpl::forward(const torch::Tensor& x) { return spatial(channel(x)); }

}  // namespace orch
