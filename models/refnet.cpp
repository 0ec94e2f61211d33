#include "models/refnet.h"

#include <cmath>
#include <string>

#include "common/status.h"
#include "models/options.h"

namespace orch {

namespace {

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
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
  ModelOptionReader reader("refnet");
  reader.on("embed_dim", [&](const ModelOption& v) { o.embed_dim = v.int_in(1, 1024); });
  reader.on("base_filters", [&](const ModelOption& v) { o.base_filters = v.int_in(1, 1024); });
  reader.on("depth", [&](const ModelOption& v) { o.depth = v.int_in(1, 6); });
  reader.on("width", [&](const ModelOption& v) { o.width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("upsample", [&](const ModelOption& v) {
    o.bilinear = v.one_of({"deconv", "bilinear"}, Quote::kSingle) == "bilinear";
  });
  reader.read(j);
  return o;
}

RefNetImpl::RefNetImpl(const RefNetOptions& o) : num_classes_(o.num_classes) {
  if (o.num_classes < 2) throw Error("refnet needs num_classes >= 2");
  if (o.embed_dim < 1 || o.base_filters < 1 || o.depth < 1 || o.depth > 6)
    throw Error("refnet needs embed_dim, base_filters >= 1 and depth in 1..6");
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
      throw Error::Option("in_channels",
                          "refnet reads one label map, so the input needs 1 channel, got " +
                              std::to_string(s.in_channels));
    o.num_classes = s.num_classes;
    return std::make_shared<RefNetImpl>(o);
  };
  return k;
}

}  // namespace orch
