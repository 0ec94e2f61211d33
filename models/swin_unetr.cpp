#include "models/swin_unetr.h"

#include <string>

#include "common/status.h"
#include "models/options.h"

namespace orch {

namespace {

using nlohmann::json;

std::vector<int64_t> read_stages(const ModelOption& v) {
  std::vector<int64_t> out;
  for (const auto& x : v.list(4, 4, "4 positive integers, one per stage"))
    out.push_back(x.int_at_least(1));
  return out;
}

// Cross-field rules, checked after every key is read.
void check_consistency(const SwinUnetrOptions& o) {
  if (o.depths.size() != 4 || o.num_heads.size() != 4)
    throw Error::Option("depths", "depths and num_heads need one entry per stage (4)");
  if (o.window_size < 1) throw Error::Option("window_size", "expected an integer >= 1");
  if (o.feature_size < 12 || o.feature_size % 12 != 0)
    throw Error::Option("feature_size", "must be a positive multiple of 12 (MONAI's rule), got " +
                                            std::to_string(o.feature_size));
  for (size_t i = 0; i < 4; ++i) {
    const int64_t dim = o.feature_size << i;
    if (dim % o.num_heads[i] != 0)
      throw Error::Option("num_heads", "stage " + std::to_string(i + 1) + " has " +
                                           std::to_string(dim) + " channels, not divisible by " +
                                           std::to_string(o.num_heads[i]) + " heads");
  }
}

}  // namespace

SwinUnetrOptions SwinUnetrOptions::from_json(const json& j) {
  SwinUnetrOptions o;
  ModelOptionReader reader("swin_unetr");
  reader.on("feature_size", [&](const ModelOption& v) { o.feature_size = v.int_at_least(12); });
  reader.on("depths", [&](const ModelOption& v) { o.depths = read_stages(v); });
  reader.on("num_heads", [&](const ModelOption& v) { o.num_heads = read_stages(v); });
  reader.on("window_size", [&](const ModelOption& v) { o.window_size = v.int_at_least(1); });
  reader.on("patch_size", [&](const ModelOption& v) {
    if (v.int_at_least(1) != 2) v.fail("only 2 works (the decoder up-samples the embedding once)");
  });
  reader.on("mlp_ratio",
            [&](const ModelOption& v) { o.mlp_ratio = v.number_in(0, 16, Ends::kOpenClosed); });
  reader.on("qkv_bias", [&](const ModelOption& v) { o.qkv_bias = v.boolean(); });
  reader.on("normalize", [&](const ModelOption& v) { o.normalize = v.boolean(); });
  reader.on("drop_rate",
            [&](const ModelOption& v) { o.drop_rate = v.number_in(0, 1, Ends::kClosed); });
  reader.on("attn_drop_rate",
            [&](const ModelOption& v) { o.attn_drop_rate = v.number_in(0, 1, Ends::kClosed); });
  reader.on("dropout_path_rate",
            [&](const ModelOption& v) { o.dropout_path_rate = v.number_in(0, 1, Ends::kClosed); });
  reader.read(j);
  check_consistency(o);
  return o;
}

SwinUnetrImpl::SwinUnetrImpl(const SwinUnetrOptions& o) : options_(o) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw Error("swin_unetr needs in_channels >= 1 and num_classes >= 2");
  check_consistency(o);
  SwinTransformerOptions s;
  s.in_channels = o.in_channels;
  s.embed_dim = o.feature_size;
  s.window = {o.window_size, o.window_size, o.window_size};
  s.patch_size = o.patch_size;
  s.depths = o.depths;
  s.num_heads = o.num_heads;
  s.mlp_ratio = o.mlp_ratio;
  s.qkv_bias = o.qkv_bias;
  s.drop_rate = o.drop_rate;
  s.attn_drop_rate = o.attn_drop_rate;
  s.drop_path_rate = o.dropout_path_rate;
  swin_vit_ = register_module("swinViT", SwinTransformer(s));
  const int64_t f = o.feature_size;
  encoder1_ = register_module("encoder1", UnetResBlock(o.in_channels, f));
  encoder2_ = register_module("encoder2", UnetResBlock(f, f));
  encoder3_ = register_module("encoder3", UnetResBlock(2 * f, 2 * f));
  encoder4_ = register_module("encoder4", UnetResBlock(4 * f, 4 * f));
  encoder10_ = register_module("encoder10", UnetResBlock(16 * f, 16 * f));
  decoder5_ = register_module("decoder5", UnetrUpBlock(16 * f, 8 * f));
  decoder4_ = register_module("decoder4", UnetrUpBlock(8 * f, 4 * f));
  decoder3_ = register_module("decoder3", UnetrUpBlock(4 * f, 2 * f));
  decoder2_ = register_module("decoder2", UnetrUpBlock(2 * f, f));
  decoder1_ = register_module("decoder1", UnetrUpBlock(f, f));
  // MONAI UnetOutBlock: a 1x1x1 conv with bias, default init.
  out_ = register_module("out", torch::nn::Conv3d(torch::nn::Conv3dOptions(f, o.num_classes, 1)));
}

torch::Tensor SwinUnetrImpl::forward_padded(const torch::Tensor& x) {
  const auto hs = swin_vit_(x, options_.normalize);
  const auto enc0 = encoder1_(x);
  const auto enc1 = encoder2_(hs[0]);
  const auto enc2 = encoder3_(hs[1]);
  const auto enc3 = encoder4_(hs[2]);
  const auto dec4 = encoder10_(hs[4]);
  const auto dec3 = decoder5_(dec4, hs[3]);
  const auto dec2 = decoder4_(dec3, enc3);
  const auto dec1 = decoder3_(dec2, enc2);
  const auto dec0 = decoder2_(dec1, enc1);
  return out_(decoder1_(dec0, enc0));
}

torch::Tensor SwinUnetrImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 5, "swin_unetr expects (B, C, D, H, W), got ", x.sizes());
  const int64_t m = size_multiple();
  const int64_t d = x.size(2), h = x.size(3), w = x.size(4);
  auto pad = [m](int64_t n) { return (m - n % m) % m; };
  const bool padded = pad(d) || pad(h) || pad(w);
  if (padded) x = torch::constant_pad_nd(x, {0, pad(w), 0, pad(h), 0, pad(d)});
  auto y = forward_padded(x);
  if (padded) y = y.slice(2, 0, d).slice(3, 0, h).slice(4, 0, w);
  return y;
}

ModelKind swin_unetr_kind() {
  ModelKind k;
  k.name = "swin_unetr";
  k.summary = "Swin UNETR as MONAI's swin_unetr.py v1 (3D patches, sizes padded to 32)";
  k.form = InputForm::kPatch3d;
  k.check = [](const json& j) { SwinUnetrOptions::from_json(j); };
  k.make = [](const json& j, const ModelShape& s) -> SegmentationModel {
    SwinUnetrOptions o = SwinUnetrOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<SwinUnetrImpl>(o);
  };
  return k;
}

}  // namespace orch
