#include "models/unet3d.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/status.h"
#include "models/options.h"

namespace orch {

namespace {

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

// The layer list of one variant, before `width` scaling.
struct Plan {
  std::vector<std::pair<int64_t, int64_t>> down;  // (first, second) conv filters per level
  std::vector<int64_t> bottom;                    // filters of the bottom convs
  std::vector<int64_t> up;                        // up-conv filters, deepest first
  bool up_relu = false;                           // ReLU after the up-conv
  int64_t top = 0;                                // filters of a conv before the logits; 0: none
  int64_t logits_kernel = 1;
  ConvBlock3dOptions block;
};

Plan cicek_plan() {
  Plan p;
  p.down = {{32, 64}, {64, 128}, {128, 256}};
  p.bottom = {256, 512};
  p.up = {512, 256, 128};  // the up-conv keeps the channels (the paper's figure: 512+256 -> 256)
  return p;
}

Plan thesis_plan() {
  Plan p;
  p.down = {{64, 64}, {128, 128}, {196, 196}, {256, 256}};
  p.bottom = {512};
  p.up = {256, 256, 256, 256};  // f_num[3] for every up-conv, the code's quirk
  p.up_relu = true;
  p.top = 32;
  p.logits_kernel = 3;
  p.block.bn_before_relu = false;
  p.block.bn = BnOptions{};  // Keras: eps 1e-3, momentum 0.99
  p.block.keras_init = true;
  return p;
}

}  // namespace

Unet3dOptions Unet3dOptions::from_json(const nlohmann::json& j) {
  Unet3dOptions o;
  ModelOptionReader reader("unet3d");
  reader.on("variant", [&](const ModelOption& v) {
    o.variant = v.one_of({"cicek", "thesis"}, Quote::kDouble);
  });
  reader.on("width", [&](const ModelOption& v) { o.width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("bn_momentum",
            [&](const ModelOption& v) { o.bn_momentum = v.number_in(0, 1, Ends::kOpenClosed); });
  reader.read(j);
  return o;
}

Unet3dImpl::Unet3dImpl(const Unet3dOptions& o) : in_channels_(o.in_channels) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw Error("unet3d needs in_channels >= 1 and num_classes >= 2");
  if (o.variant != "cicek" && o.variant != "thesis")
    throw Error::Option("variant", "expected \"cicek\" or \"thesis\"");
  Plan p = o.variant == "cicek" ? cicek_plan() : thesis_plan();
  if (o.bn_momentum) p.block.bn.momentum = *o.bn_momentum;
  auto w = [&](int64_t f) { return scaled(f, o.width); };

  int64_t in = o.in_channels;
  std::vector<int64_t> skip;
  for (size_t l = 0; l < p.down.size(); ++l) {
    const auto [first, second] = p.down[l];
    down_.push_back(
        register_module("down" + std::to_string(l), TwoConv3d(in, w(first), w(second), p.block)));
    in = w(second);
    skip.push_back(in);
  }
  bottom_ = register_module("bottom", torch::nn::Sequential());
  for (int64_t f : p.bottom) {
    bottom_->push_back(ConvBlock3d(in, w(f), p.block));
    in = w(f);
  }
  for (size_t i = 0; i < p.up.size(); ++i) {
    const size_t level = p.down.size() - 1 - i;
    const std::string name = std::to_string(level);
    up_.push_back(
        register_module("up" + name, UpCat3d(in, w(p.up[i]), p.up_relu, p.block.keras_init)));
    // The decoder convs go back to the skip's channels.
    up_conv_.push_back(register_module(
        "up_conv" + name, TwoConv3d(skip[level] + w(p.up[i]), skip[level], skip[level], p.block)));
    in = skip[level];
  }
  if (p.top > 0) {
    top_ = register_module("top", ConvBlock3d(in, w(p.top), p.block));
    in = w(p.top);
  }
  logits_ = register_module(
      "logits", torch::nn::Conv3d(torch::nn::Conv3dOptions(in, o.num_classes, p.logits_kernel)
                                      .padding(p.logits_kernel / 2)));
  init_conv3d_(logits_->weight, logits_->bias, p.block.keras_init);
}

int64_t Unet3dImpl::size_multiple() const { return int64_t{1} << down_.size(); }

torch::Tensor Unet3dImpl::forward(torch::Tensor input) {
  check_patch_input(input, in_channels_, "unet3d");
  auto x = pad_to_multiple_3d(input, size_multiple());
  std::vector<torch::Tensor> skips;
  for (auto& level : down_) {
    x = level(x);
    skips.push_back(x);
    x = torch::max_pool3d(x, 2, 2);
  }
  x = bottom_->forward(x);
  for (size_t i = 0; i < up_.size(); ++i) {
    x = up_conv_[i](up_[i](x, skips[skips.size() - 1 - i]));
  }
  if (!top_.is_empty()) x = top_(x);
  return crop_like_3d(logits_(x), input);
}

ModelKind unet3d_kind() {
  ModelKind k;
  k.name = "unet3d";
  k.summary = "plain 3D U-Net: Cicek 2016 (default) or the Spider thesis's unet_3d (variant)";
  k.form = InputForm::kPatch3d;
  k.check = [](const nlohmann::json& j) { Unet3dOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    Unet3dOptions o = Unet3dOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<Unet3dImpl>(o);
  };
  return k;
}

}  // namespace orch
