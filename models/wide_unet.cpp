#include "models/wide_unet.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace orch {

namespace {

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

}  // namespace

WideUnetOptions WideUnetOptions::from_json(const nlohmann::json& j) {
  WideUnetOptions o;
  for (const auto& [key, value] : j.items()) {
    if (key == "filters") {
      if (!value.is_array() || value.size() != 5)
        throw std::invalid_argument("filters: expected a list of 5 filter counts");
      o.filters.clear();
      for (const auto& f : value) {
        if (!f.is_number_integer() || f.get<int64_t>() < 1)
          throw std::invalid_argument("filters: expected positive integers");
        o.filters.push_back(f.get<int64_t>());
      }
    } else if (key == "width") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 4)
        throw std::invalid_argument("width: expected a number in (0, 4]");
      o.width = value.get<double>();
    } else if (key == "top_filters") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1)
        throw std::invalid_argument("top_filters: expected a positive integer");
      o.top_filters = value.get<int64_t>();
    } else if (key == "bn_momentum") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1)
        throw std::invalid_argument("bn_momentum: expected a number in (0, 1]");
      o.bn.momentum = value.get<double>();
    } else {
      throw std::invalid_argument(key +
                                  ": unknown option for wide_unet; expected one of: filters, "
                                  "width, top_filters, bn_momentum");
    }
  }
  return o;
}

WideUnetImpl::WideUnetImpl(const WideUnetOptions& o) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw std::invalid_argument("wide_unet needs in_channels >= 1 and num_classes >= 2");
  std::vector<int64_t> f;
  for (int64_t x : o.filters) f.push_back(scaled(x, o.width));
  int64_t in = o.in_channels;
  for (int level = 0; level < 4; ++level) {
    down_.push_back(register_module("down" + std::to_string(level), TwoConv(in, f[level], o.bn)));
    in = f[level];
  }
  bottleneck_ = register_module("bottleneck", ConvReluBn(f[3], f[4], o.bn));
  in = f[4];
  for (int level = 3; level >= 0; --level) {
    up_.push_back(register_module("up" + std::to_string(level), UpCat(in, f[level])));
    up_conv_.push_back(
        register_module("up_conv" + std::to_string(level), TwoConv(2 * f[level], f[level], o.bn)));
    in = f[level];
  }
  top_ = register_module("top", ConvReluBn(f[0], scaled(o.top_filters, o.width), o.bn));
  logits_ = register_module(
      "logits",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(scaled(o.top_filters, o.width), o.num_classes, 3).padding(1)));
  he_normal_(logits_->weight);
  torch::nn::init::zeros_(logits_->bias);
}

torch::Tensor WideUnetImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  for (size_t level = 0; level < down_.size(); ++level) {
    x = down_[level](x);
    skips.push_back(x);
    x = torch::max_pool2d(x, 2, 2, 0, 1, /*ceil_mode=*/true);
  }
  x = bottleneck_(x);
  for (size_t i = 0; i < up_.size(); ++i) {
    x = up_conv_[i](up_[i](x, skips[skips.size() - 1 - i]));
  }
  return logits_(top_(x));
}

}  // namespace orch
