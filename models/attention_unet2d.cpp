#include "models/attention_unet2d.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "common/status.h"
#include "models/options.h"

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

SkipAttentionKind parse_attention(const ModelOption& v) {
  std::vector<std::string> names;
  for (const auto& entry : kAttentionNames) names.push_back(entry.second);
  const std::string name = v.one_of(names, Quote::kNone);
  for (const auto& [kind, n] : kAttentionNames)
    if (name == n) return kind;
  return SkipAttentionKind::kNone;  // not reached: one_of accepted a listed name
}

std::vector<int64_t> parse_rates(const ModelOption& v) {
  std::vector<int64_t> rates;
  for (const auto& r : v.list(1, 8, "1 to 8 dilation rates")) rates.push_back(r.positive_int());
  return rates;
}

BamCombine parse_combine(const ModelOption& v) {
  return v.one_of({"sum", "product"}, "sum (BAM paper) or product (bam.py)") == "sum"
             ? BamCombine::kSum
             : BamCombine::kProduct;
}

// Keys that configure a part switched off by the other options.
void reject_unused(const AttentionUnet2dOptions& o, const json& j) {
  const std::string a = to_string(o.attention);
  for (const char* key : {"reverse", "boundary"})
    if (j.contains(key) && o.attention != SkipAttentionKind::kRbCbam)
      throw Error::Option(key, "applies only to attention rb_cbam (attention is " + a + ")");
  if (j.contains("bam_combine") && o.attention != SkipAttentionKind::kBam)
    throw Error::Option("bam_combine", "applies only to attention bam (attention is " + a + ")");
  for (const char* key : {"aspp_rates", "aspp_pooling"})
    if (j.contains(key) && !o.aspp) throw Error::Option(key, "applies only with aspp: true");
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
  AttentionUnet2dOptions o;
  ModelOptionReader reader("attention_unet2d");
  reader.on("attention", [&](const ModelOption& v) { o.attention = parse_attention(v); });
  reader.on("aspp", [&](const ModelOption& v) { o.aspp = v.boolean(); });
  reader.on("reverse", [&](const ModelOption& v) { o.reverse = v.boolean(); });
  reader.on("boundary", [&](const ModelOption& v) { o.boundary = v.boolean(); });
  reader.on("aspp_rates", [&](const ModelOption& v) { o.aspp_rates = parse_rates(v); });
  reader.on("aspp_pooling", [&](const ModelOption& v) { o.aspp_pooling = v.boolean(); });
  reader.on("bam_combine", [&](const ModelOption& v) { o.bam_combine = parse_combine(v); });
  reader.on("base_filters", [&](const ModelOption& v) { o.base_filters = v.positive_int(); });
  reader.on("width", [&](const ModelOption& v) { o.width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("reduction", [&](const ModelOption& v) { o.reduction = v.positive_int(); });
  reader.read(j);
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
    throw Error("attention_unet2d needs in_channels >= 1 and num_classes >= 2");
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
