#include "models/blocks/aspp.h"

#include <string>

#include "common/status.h"
#include "models/blocks/attention.h"

namespace orch {

namespace F = torch::nn::functional;

namespace {

// conv (no bias) -> BN -> ReLU.
torch::nn::Sequential conv_bn_relu(int64_t in, int64_t out, int64_t kernel, int64_t dilation) {
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                     .padding(dilation * (kernel - 1) / 2)
                                                     .dilation(dilation)
                                                     .bias(false)),
                               torch::nn::BatchNorm2d(out), torch::nn::ReLU());
}

}  // namespace

AsppImpl::AsppImpl(int64_t in_channels, int64_t out_channels, const AsppOptions& o) {
  if (in_channels < 1 || out_channels < 1) throw Error("aspp: channels must be >= 1");
  branches.push_back(register_module("b0", conv_bn_relu(in_channels, out_channels, 1, 1)));
  for (size_t i = 0; i < o.rates.size(); ++i) {
    if (o.rates[i] < 1) throw Error::Option("aspp_rates", "rates must be >= 1");
    branches.push_back(register_module("b" + std::to_string(i + 1),
                                       conv_bn_relu(in_channels, out_channels, 3, o.rates[i])));
  }
  int64_t concat = out_channels * static_cast<int64_t>(branches.size());
  if (o.image_pooling) {
    pool_conv = register_module(
        "pool_conv",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).bias(false)));
    pool_bn = register_module("pool_bn", torch::nn::BatchNorm2d(out_channels));
    concat += out_channels;
  }
  project = register_module("project", conv_bn_relu(concat, out_channels, 1, 1));
}

torch::Tensor AsppImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> outs;
  for (auto& b : branches) outs.push_back(b->forward(x));
  if (pool_conv) {
    const auto pooled = pool_conv(x.mean({2, 3}, /*keepdim=*/true));
    const auto p = torch::relu(norm_any_batch(pool_bn, pooled, is_training()));
    outs.push_back(F::interpolate(p, F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                         .mode(torch::kBilinear)
                                         .align_corners(false)));
  }
  return project->forward(torch::cat(outs, 1));
}

}  // namespace orch
