#include "models/attention_unet2d.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace orch {

namespace {

using nlohmann::json;

int64_t scaled(int64_t f, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(f) * width)));
}

const std::vector<std::pair<SkipAttentionKind, const char*>> kAttentionNames = {
    {SkipAttentionKind::kNone, "none"},
    {SkipAttentionKind::kSe, "se"},
    {SkipAttentionKind::kAttentionGate, "attention_gate"},
    {SkipAttentionKind::kBam, "bam"},
    {SkipAttentionKind::kCbam, "cbam"},
    {SkipAttentionKind::kRbCbam, "rb_cbam"}};

// The U-Net's stage: (Conv3x3 no bias -> BN -> ReLU) x 2, as milesial's DoubleConv. Named apart
// from blocks/conv.h's Conv -> ReLU -> BN (the Spider family's order).
torch::nn::Sequential conv_bn_relu_pair(int64_t in, int64_t out) {
  torch::nn::Sequential s;
  for (int64_t c : {in, out}) {
    s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, out, 3).padding(1).bias(false)));
    s->push_back(torch::nn::BatchNorm2d(out));
    s->push_back(torch::nn::ReLU());
  }
  return s;
}

bool get_bool(const json& v, const std::string& key) {
  if (!v.is_boolean()) throw std::invalid_argument(key + ": expected true or false");
  return v.get<bool>();
}

int64_t get_positive(const json& v, const std::string& key) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1)
    throw std::invalid_argument(key + ": expected a positive integer");
  return v.get<int64_t>();
}

SkipAttentionKind parse_attention(const json& v) {
  std::string names;
  for (const auto& [kind, name] : kAttentionNames) {
    if (v.is_string() && v.get<std::string>() == name) return kind;
    names += std::string(names.empty() ? "" : ", ") + name;
  }
  throw std::invalid_argument("attention: expected one of " + names);
}

std::vector<int64_t> parse_rates(const json& v) {
  if (!v.is_array() || v.empty() || v.size() > 8)
    throw std::invalid_argument("aspp_rates: expected a list of 1 to 8 dilation rates");
  std::vector<int64_t> rates;
  for (const auto& r : v) rates.push_back(get_positive(r, "aspp_rates"));
  return rates;
}

BamCombine parse_combine(const json& v) {
  if (v == "sum") return BamCombine::kSum;
  if (v == "product") return BamCombine::kProduct;
  throw std::invalid_argument("bam_combine: expected sum (BAM paper) or product (bam.py)");
}

// Keys that configure a part switched off by the other options.
void reject_unused(const AttentionUnet2dOptions& o, const json& j) {
  const std::string a = to_string(o.attention);
  for (const char* key : {"reverse", "boundary"})
    if (j.contains(key) && o.attention != SkipAttentionKind::kRbCbam)
      throw std::invalid_argument(std::string(key) +
                                  ": applies only to attention rb_cbam (attention is " + a + ")");
  if (j.contains("bam_combine") && o.attention != SkipAttentionKind::kBam)
    throw std::invalid_argument("bam_combine: applies only to attention bam (attention is " + a +
                                ")");
  for (const char* key : {"aspp_rates", "aspp_pooling"})
    if (j.contains(key) && !o.aspp)
      throw std::invalid_argument(std::string(key) + ": applies only with aspp: true");
}

}  // namespace

const char* to_string(SkipAttentionKind kind) {
  for (const auto& [k, name] : kAttentionNames)
    if (k == kind) return name;
  return "?";
}

bool AttentionUnet2dOptions::deep_supervision() const {
  return attention == SkipAttentionKind::kRbCbam && (reverse || boundary);
}

AttentionUnet2dOptions AttentionUnet2dOptions::from_json(const json& j) {
  if (!j.is_object() && !j.is_null()) throw std::invalid_argument("options: expected a mapping");
  AttentionUnet2dOptions o;
  for (const auto& [key, value] : j.items()) {
    if (key == "attention") {
      o.attention = parse_attention(value);
    } else if (key == "aspp") {
      o.aspp = get_bool(value, key);
    } else if (key == "reverse") {
      o.reverse = get_bool(value, key);
    } else if (key == "boundary") {
      o.boundary = get_bool(value, key);
    } else if (key == "aspp_rates") {
      o.aspp_rates = parse_rates(value);
    } else if (key == "aspp_pooling") {
      o.aspp_pooling = get_bool(value, key);
    } else if (key == "bam_combine") {
      o.bam_combine = parse_combine(value);
    } else if (key == "base_filters") {
      o.base_filters = get_positive(value, key);
    } else if (key == "width") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 4)
        throw std::invalid_argument("width: expected a number in (0, 4]");
      o.width = value.get<double>();
    } else if (key == "reduction") {
      o.reduction = get_positive(value, key);
    } else {
      throw std::invalid_argument(key +
                                  ": unknown option for attention_unet2d; expected one of: "
                                  "attention, aspp, reverse, boundary, aspp_rates, aspp_pooling, "
                                  "bam_combine, base_filters, width, reduction");
    }
  }
  reject_unused(o, j);
  return o;
}

// ---- one skip's attention ---------------------------------------------------------------------

SkipAttentionImpl::SkipAttentionImpl(const AttentionUnet2dOptions& o, int64_t channels,
                                     int64_t gate_channels)
    : kind_(o.attention), out_channels_(channels) {
  switch (kind_) {
    case SkipAttentionKind::kNone:
      break;
    case SkipAttentionKind::kSe:
      se_ = register_module("se", SqueezeExcite(channels, o.reduction));
      break;
    case SkipAttentionKind::kAttentionGate:
      gate_ = register_module("gate", AttentionGate(channels, gate_channels));
      break;
    case SkipAttentionKind::kBam:
      bam_ = register_module("bam", Bam(channels, o.reduction, o.bam_combine));
      break;
    case SkipAttentionKind::kCbam:
      cbam_ = register_module("cbam", Cbam(channels, o.reduction));
      break;
    case SkipAttentionKind::kRbCbam:
      rb_ = register_module("rb_cbam", RbCbam(channels, o.reduction, o.reverse, o.boundary));
      out_channels_ = rb_->out_channels();
      break;
  }
}

torch::Tensor SkipAttentionImpl::forward(const torch::Tensor& skip, const torch::Tensor& gate,
                                         const torch::Tensor& logit) {
  switch (kind_) {
    case SkipAttentionKind::kNone:
      return skip;
    case SkipAttentionKind::kSe:
      return se_(skip);
    case SkipAttentionKind::kAttentionGate:
      return gate_(skip, gate);
    case SkipAttentionKind::kBam:
      return bam_(skip);
    case SkipAttentionKind::kCbam:
      return cbam_(skip);
    case SkipAttentionKind::kRbCbam:
      return rb_(skip, logit);
  }
  return skip;
}

// ---- the U-Net ----------------------------------------------------------------------------------

AttentionUnet2dImpl::AttentionUnet2dImpl(const AttentionUnet2dOptions& o) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw std::invalid_argument("attention_unet2d needs in_channels >= 1 and num_classes >= 2");
  std::vector<int64_t> f;  // levels 0-3 and the bottleneck
  for (int level = 0; level <= 4; ++level) f.push_back(scaled(o.base_filters << level, o.width));
  int64_t in = o.in_channels;
  for (int level = 0; level <= 4; ++level) {
    down_.push_back(
        register_module("down" + std::to_string(level), conv_bn_relu_pair(in, f[level])));
    in = f[level];
  }
  const AsppOptions aspp{o.aspp_rates, o.aspp_pooling};
  for (int level = 0; level < 4; ++level) {
    const std::string l = std::to_string(level);
    if (o.aspp) aspp_.push_back(register_module("aspp" + l, Aspp(f[level], f[level], aspp)));
    attention_.push_back(
        register_module("attention" + l, SkipAttention(o, f[level], f[level + 1])));
    up_.push_back(register_module(
        "up" + l, torch::nn::ConvTranspose2d(
                      torch::nn::ConvTranspose2dOptions(f[level + 1], f[level], 2).stride(2))));
    up_conv_.push_back(register_module(
        "up_conv" + l, conv_bn_relu_pair(attention_.back()->out_channels() + f[level], f[level])));
    if (o.deep_supervision())
      aux_heads_.push_back(register_module("aux" + std::to_string(level + 1),
                                           torch::nn::Conv2d(f[level + 1], 1, 1)));
  }
  logits_ = register_module("logits", torch::nn::Conv2d(f[0], o.num_classes, 1));
}

torch::Tensor AttentionUnet2dImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  for (size_t level = 0; level < 4; ++level) {
    x = down_[level]->forward(x);
    skips.push_back(x);
    x = torch::max_pool2d(x, 2, 2, 0, 1, /*ceil_mode=*/true);
  }
  x = down_[4]->forward(x);  // the bottleneck: the deepest "decoder" feature
  aux_.clear();
  for (int level = 3; level >= 0; --level) {
    torch::Tensor p;
    if (!aux_heads_.empty()) {
      p = aux_heads_[level]->forward(x);
      aux_.push_back(p);
    }
    auto skip = skips[level];
    if (!aspp_.empty()) skip = aspp_[level]->forward(skip);
    skip = attention_[level]->forward(skip, x, p);
    auto up = up_[level]->forward(x).slice(2, 0, skip.size(2)).slice(3, 0, skip.size(3));
    x = up_conv_[level]->forward(torch::cat({skip, up}, 1));
  }
  return logits_(x);
}

ModelKind attention_unet2d_kind() {
  ModelKind k;
  k.name = "attention_unet2d";
  k.summary = "lung-nodule U-Net with ASPP skips and SE/AG/BAM/CBAM/RB-CBAM attention";
  k.form = InputForm::kSlice2d;
  k.check = [](const nlohmann::json& j) { AttentionUnet2dOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    AttentionUnet2dOptions o = AttentionUnet2dOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<AttentionUnet2dImpl>(o);
  };
  return k;
}

}  // namespace orch
