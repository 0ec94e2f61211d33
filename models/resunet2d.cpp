#include "models/resunet2d.h"

#include <cmath>
#include <string>

#include "common/status.h"
#include "models/options.h"

namespace orch {

namespace {

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

}  // namespace

ResUnet2dOptions ResUnet2dOptions::from_json(const nlohmann::json& j) {
  ResUnet2dOptions o;
  ModelOptionReader reader("resunet2d");
  reader.on("filters",
            [&](const ModelOption& v) { o.filters = v.positive_ints(4, "4 filter counts"); });
  reader.on("width", [&](const ModelOption& v) { o.width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("shortcut", [&](const ModelOption& v) {
    o.shortcut = v.one_of({"projection1x1", "conv3x3"}, Quote::kSingle) == "conv3x3"
                     ? ResidualShortcut::kConv3x3
                     : ResidualShortcut::kProjection1x1;
  });
  reader.on("upsample", [&](const ModelOption& v) {
    o.upsample = v.one_of({"nearest", "deconv"}, Quote::kSingle) == "deconv"
                     ? ResUpsample::kDeconv
                     : ResUpsample::kNearest;
  });
  reader.read(j);
  return o;
}

ResUnet2dImpl::ResUnet2dImpl(const ResUnet2dOptions& o) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw Error("resunet2d needs in_channels >= 1 and num_classes >= 2");
  if (o.filters.size() != 4) throw Error::Option("filters", "expected 4 filter counts");
  std::vector<int64_t> f;
  for (int64_t x : o.filters) f.push_back(scaled(x, o.width));
  input_ = register_module("input", ResidualInputUnit(o.in_channels, f[0], o.shortcut));
  for (int level = 1; level < 4; ++level) {
    const std::string name = level == 3 ? "bridge" : "down" + std::to_string(level);
    down_.push_back(register_module(name, ResidualUnit(f[level - 1], f[level], 2, o.shortcut)));
  }
  for (int level = 2; level >= 0; --level) {
    const int64_t deep = f[level + 1];  // channels arriving from below
    if (o.upsample == ResUpsample::kDeconv)
      deconv_.push_back(register_module(
          "deconv" + std::to_string(level),
          torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(deep, deep, 2).stride(2))));
    up_.push_back(register_module("up" + std::to_string(level),
                                  ResidualUnit(deep + f[level], f[level], 1, o.shortcut)));
  }
  logits_ = register_module("logits",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(f[0], o.num_classes, 1)));
}

torch::Tensor ResUnet2dImpl::forward(torch::Tensor x) {
  x = input_(x);
  std::vector<torch::Tensor> skips = {x};
  for (auto& unit : down_) {
    x = unit(x);
    skips.push_back(x);
  }
  skips.pop_back();  // the bridge's output is no skip
  for (size_t i = 0; i < up_.size(); ++i) {
    const auto& skip = skips[skips.size() - 1 - i];
    x = deconv_.empty() ? torch::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)})
                        : deconv_[i](x);
    // A stride-2 conv rounds odd sizes up, so the upsampled map may be one pixel larger.
    x = x.slice(2, 0, skip.size(2)).slice(3, 0, skip.size(3));
    x = up_[i](torch::cat({x, skip}, 1));
  }
  return logits_(x);
}

ModelKind resunet2d_kind() {
  ModelKind k;
  k.name = "resunet2d";
  k.summary = "deep residual U-Net (Zhang 2018): pre-activation units, 64-128-256-512";
  k.form = InputForm::kSlice2d;
  k.check = [](const nlohmann::json& j) { ResUnet2dOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    ResUnet2dOptions o = ResUnet2dOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<ResUnet2dImpl>(o);
  };
  return k;
}

}  // namespace orch
