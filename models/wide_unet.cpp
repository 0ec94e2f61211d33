#include "models/wide_unet.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace orch {

int64_t scale_filters(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

WideUnetOptions WideUnetOptions::from_json(const nlohmann::json& j) {
  WideUnetOptions o;
  for (const auto& [key, value] : j.items()) {
    if (!o.read_option(key, value))
      throw std::invalid_argument(key +
                                  ": unknown option for wide_unet; expected one of: filters, "
                                  "width, top_filters, bn_momentum");
  }
  return o;
}

bool WideUnetOptions::read_option(const std::string& key, const nlohmann::json& value) {
  if (key == "filters") {
    if (!value.is_array() || value.size() != 5)
      throw std::invalid_argument("filters: expected a list of 5 filter counts");
    filters.clear();
    for (const auto& f : value) {
      if (!f.is_number_integer() || f.get<int64_t>() < 1)
        throw std::invalid_argument("filters: expected positive integers");
      filters.push_back(f.get<int64_t>());
    }
  } else if (key == "width") {
    if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 4)
      throw std::invalid_argument("width: expected a number in (0, 4]");
    width = value.get<double>();
  } else if (key == "top_filters") {
    if (!value.is_number_integer() || value.get<int64_t>() < 1)
      throw std::invalid_argument("top_filters: expected a positive integer");
    top_filters = value.get<int64_t>();
  } else if (key == "bn_momentum") {
    if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1)
      throw std::invalid_argument("bn_momentum: expected a number in (0, 1]");
    bn.momentum = value.get<double>();
  } else {
    return false;
  }
  return true;
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
    throw std::invalid_argument("wide_unet needs in_channels >= 1 and num_classes >= 2");
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
