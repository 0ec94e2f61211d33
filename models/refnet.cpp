#include "models/refnet.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "common/status.h"

namespace orch {

namespace {

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

int64_t positive_int(const std::string& key, const nlohmann::json& value, int64_t max) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > max)
    throw std::invalid_argument(key + ": expected an integer in 1.." + std::to_string(max));
  return value.get<int64_t>();
}

// Class indices as int64; throws unless every value is an integer in 0..num_classes-1.
torch::Tensor label_indices(const torch::Tensor& x, int64_t num_classes) {
  if (x.dim() != 4 || x.size(1) != 1)
    throw Error("refnet: expected a (B, 1, H, W) label map, got " + std::to_string(x.dim()) +
                "-d input with sizes " + c10::str(x.sizes()));
  torch::NoGradGuard no_grad;
  const auto xd = x.to(torch::kFloat64);
  const auto ok = (xd >= 0) & (xd <= num_classes - 1) & (xd == xd.round());
  if (!ok.all().item<bool>()) {
    const double bad = xd.masked_select(~ok).index({0}).item<double>();
    throw Error("refnet: input must hold class indices 0.." + std::to_string(num_classes - 1) +
                " (num_classes " + std::to_string(num_classes) + "), found " + c10::str(bad));
  }
  return xd.to(torch::kInt64).squeeze(1);
}

}  // namespace

RefNetOptions RefNetOptions::from_json(const nlohmann::json& j) {
  RefNetOptions o;
  for (const auto& [key, value] : j.items()) {
    if (key == "embed_dim") {
      o.embed_dim = positive_int(key, value, 1024);
    } else if (key == "base_filters") {
      o.base_filters = positive_int(key, value, 1024);
    } else if (key == "depth") {
      o.depth = positive_int(key, value, 6);
    } else if (key == "width") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 4)
        throw std::invalid_argument("width: expected a number in (0, 4]");
      o.width = value.get<double>();
    } else if (key == "upsample") {
      if (!value.is_string() || (value != "deconv" && value != "bilinear"))
        throw std::invalid_argument("upsample: expected 'deconv' or 'bilinear'");
      o.bilinear = value == "bilinear";
    } else {
      throw std::invalid_argument(key +
                                  ": unknown option for refnet; expected one of: embed_dim, "
                                  "base_filters, depth, width, upsample");
    }
  }
  return o;
}

RefNetImpl::RefNetImpl(const RefNetOptions& o) : num_classes_(o.num_classes) {
  if (o.num_classes < 2) throw std::invalid_argument("refnet needs num_classes >= 2");
  if (o.embed_dim < 1 || o.base_filters < 1 || o.depth < 1 || o.depth > 6)
    throw std::invalid_argument("refnet needs embed_dim, base_filters >= 1 and depth in 1..6");
  embed_ = register_module("embed", torch::nn::Embedding(o.num_classes, o.embed_dim));
  std::vector<int64_t> f;
  for (int64_t level = 0; level <= o.depth; ++level)
    f.push_back(scaled(o.base_filters << level, o.width));
  int64_t in = o.embed_dim;
  for (int64_t level = 0; level <= o.depth; ++level) {
    down_.push_back(
        register_module("down" + std::to_string(level), DoubleConvBnRelu(in, f[level])));
    in = f[level];
  }
  for (int64_t level = o.depth - 1; level >= 0; --level) {
    up_.push_back(register_module("up" + std::to_string(level),
                                  UpDoubleConv(in, f[level], f[level], o.bilinear)));
    in = f[level];
  }
  logits_ = register_module("logits",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(f[0], o.num_classes, 1)));
}

torch::Tensor RefNetImpl::forward(torch::Tensor x) {
  // (B, H, W) indices -> (B, H, W, E) -> (B, E, H, W)
  x = embed_(label_indices(x, num_classes_)).permute({0, 3, 1, 2}).contiguous();
  std::vector<torch::Tensor> skips;
  for (size_t level = 0; level < down_.size(); ++level) {
    if (level > 0) x = torch::max_pool2d(x, 2, 2, 0, 1, /*ceil_mode=*/true);
    x = down_[level](x);
    skips.push_back(x);
  }
  for (size_t i = 0; i < up_.size(); ++i) x = up_[i](x, skips[skips.size() - 2 - i]);
  return logits_(x);
}

ModelKind refnet_kind() {
  ModelKind k;
  k.name = "refnet";
  k.summary = "RefNet: label-map embedding + 2D U-Net that refines another model's labels";
  k.form = InputForm::kSlice2d;
  k.reads_labels = true;
  k.check = [](const nlohmann::json& j) { RefNetOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    RefNetOptions o = RefNetOptions::from_json(j);
    if (s.in_channels != 1)
      throw std::invalid_argument(
          "in_channels: refnet reads one label map, so the input needs "
          "1 channel, got " +
          std::to_string(s.in_channels));
    o.num_classes = s.num_classes;
    return std::make_shared<RefNetImpl>(o);
  };
  return k;
}

}  // namespace orch
