#include "models/wide_unet.h"

#include <cmath>
#include <string>

#include "common/status.h"

namespace orch {

int64_t scale_filters(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

WideUnetOptions WideUnetOptions::from_json(const nlohmann::json& j) {
  WideUnetOptions o;
  ModelOptionReader reader("wide_unet");
  o.add_options(reader);
  reader.read(j);
  return o;
}

void WideUnetOptions::add_options(ModelOptionReader& reader) {
  reader.on("filters",
            [this](const ModelOption& v) { filters = v.positive_ints(5, "5 filter counts"); });
  reader.on("width",
            [this](const ModelOption& v) { width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("top_filters", [this](const ModelOption& v) { top_filters = v.positive_int(); });
  reader.on("bn_momentum",
            [this](const ModelOption& v) { bn.momentum = v.number_in(0, 1, Ends::kOpenClosed); });
}

WideUnetEncoder::WideUnetEncoder(torch::nn::Module& owner, int64_t in,
                                 const std::vector<int64_t>& f, const BnOptions& bn) {
  for (int level = 0; level < 4; ++level) {
    down_.push_back(
        owner.register_module("down" + std::to_string(level), TwoConv(in, f[level], bn)));
    in = f[level];
  }
}

torch::Tensor WideUnetEncoder::forward(torch::Tensor x, std::vector<torch::Tensor>& skips) {
  for (auto& down : down_) {
    x = down(x);
    skips.push_back(x);
    x = torch::max_pool2d(x, 2, 2, 0, 1, /*ceil_mode=*/true);
  }
  return x;
}

WideUnetDecoder::WideUnetDecoder(torch::nn::Module& owner, int64_t in,
                                 const std::vector<int64_t>& f, const BnOptions& bn) {
  for (int level = 3; level >= 0; --level) {
    up_.push_back(owner.register_module("up" + std::to_string(level), UpCat(in, f[level])));
    up_conv_.push_back(owner.register_module("up_conv" + std::to_string(level),
                                             TwoConv(2 * f[level], f[level], bn)));
    in = f[level];
  }
}

torch::Tensor WideUnetDecoder::forward(torch::Tensor x, const std::vector<torch::Tensor>& skips) {
  for (size_t i = 0; i < up_.size(); ++i) x = up_conv_[i](up_[i](x, skips[skips.size() - 1 - i]));
  return x;
}

torch::nn::Conv2d make_logits_conv(int64_t in, int64_t num_classes) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, num_classes, 3).padding(1));
  he_normal_(conv->weight);
  torch::nn::init::zeros_(conv->bias);
  return conv;
}

WideUnetImpl::WideUnetImpl(const WideUnetOptions& o) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw Error("wide_unet needs in_channels >= 1 and num_classes >= 2");
  std::vector<int64_t> f;
  for (int64_t x : o.filters) f.push_back(scale_filters(x, o.width));
  encoder_ = WideUnetEncoder(*this, o.in_channels, f, o.bn);
  bottleneck_ = register_module("bottleneck", ConvReluBn(f[3], f[4], o.bn));
  decoder_ = WideUnetDecoder(*this, f[4], f, o.bn);
  const int64_t top = scale_filters(o.top_filters, o.width);
  top_ = register_module("top", ConvReluBn(f[0], top, o.bn));
  logits_ = register_module("logits", make_logits_conv(top, o.num_classes));
}

torch::Tensor WideUnetImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  x = bottleneck_(encoder_.forward(x, skips));
  return logits_(top_(decoder_.forward(x, skips)));
}

ModelKind wide_unet_kind() {
  ModelKind k;
  k.name = "wide_unet";
  k.summary = "the Spider thesis's 2D U-Net (filters 64-128-196-256-512, Conv-ReLU-BN)";
  k.form = InputForm::kSlice2d;
  k.check = [](const nlohmann::json& j) { WideUnetOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    WideUnetOptions o = WideUnetOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<WideUnetImpl>(o);
  };
  return k;
}

}  // namespace orch
