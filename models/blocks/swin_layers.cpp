#include "models/blocks/swin_layers.h"

#include <string>

#include "common/status.h"

namespace orch {

namespace F = torch::nn::functional;

torch::Tensor DropPathImpl::forward(const torch::Tensor& x) {
  if (p == 0.0 || !is_training()) return x;
  const double keep = 1.0 - p;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  auto keep_mask = torch::empty(shape, x.options()).bernoulli_(keep);
  if (keep > 0.0) keep_mask.div_(keep);
  return x * keep_mask;
}

SwinMlpImpl::SwinMlpImpl(int64_t dim, int64_t hidden, double p) {
  linear1 = register_module("linear1", torch::nn::Linear(dim, hidden));
  linear2 = register_module("linear2", torch::nn::Linear(hidden, dim));
  drop = register_module("drop", torch::nn::Dropout(p));
}

torch::Tensor SwinMlpImpl::forward(const torch::Tensor& x) {
  return drop(linear2(drop(torch::gelu(linear1(x)))));
}

SwinTransformerBlockImpl::SwinTransformerBlockImpl(const SwinBlockOptions& o) : options(o) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim})));
  WindowAttentionOptions a;
  a.dim = o.dim;
  a.num_heads = o.num_heads;
  a.window = o.window;
  a.qkv_bias = o.qkv_bias;
  a.attn_drop = o.attn_drop;
  a.proj_drop = o.drop;
  attn = register_module("attn", WindowAttention(a));
  drop_path = register_module("drop_path", DropPath(o.drop_path));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim})));
  const auto hidden = static_cast<int64_t>(static_cast<double>(o.dim) * o.mlp_ratio);
  mlp = register_module("mlp", SwinMlp(o.dim, hidden, o.drop));
}

namespace {

bool any_positive(const Size3& s) { return s[0] > 0 || s[1] > 0 || s[2] > 0; }

}  // namespace

torch::Tensor SwinTransformerBlockImpl::attention_branch(torch::Tensor x,
                                                         const torch::Tensor& mask) {
  x = norm1(x);
  const int64_t b = x.size(0), c = x.size(4);
  const Size3 size = {x.size(1), x.size(2), x.size(3)};
  const auto [window, shift] = get_window_size(size, options.window, options.shift);
  Size3 pad, padded;
  for (int a = 0; a < 3; ++a) {
    pad[a] = (window[a] - size[a] % window[a]) % window[a];
    padded[a] = size[a] + pad[a];
  }
  // F.pad's list runs from the last dim: C untouched, then W, H, D, each padded at the end.
  x = torch::constant_pad_nd(x, {0, 0, 0, pad[2], 0, pad[1], 0, pad[0]});
  const bool shifted = any_positive(shift);
  if (shifted) x = torch::roll(x, {-shift[0], -shift[1], -shift[2]}, {1, 2, 3});
  auto windows = attn(window_partition(x, window), shifted ? mask : torch::Tensor());
  windows = windows.view({-1, window[0], window[1], window[2], c});
  x = window_reverse(windows, window, b, padded);
  if (shifted) x = torch::roll(x, {shift[0], shift[1], shift[2]}, {1, 2, 3});
  if (any_positive(pad))
    x = x.slice(1, 0, size[0]).slice(2, 0, size[1]).slice(3, 0, size[2]).contiguous();
  return x;
}

torch::Tensor SwinTransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto y = x + drop_path(attention_branch(x, mask));
  return y + drop_path(mlp(norm2(y)));
}

PatchMergingImpl::PatchMergingImpl(int64_t dim) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({8 * dim})));
  reduction = register_module(
      "reduction", torch::nn::Linear(torch::nn::LinearOptions(8 * dim, 2 * dim).bias(false)));
}

torch::Tensor PatchMergingImpl::forward(torch::Tensor x) {
  const int64_t d = x.size(1), h = x.size(2), w = x.size(3);
  if (d % 2 == 1 || h % 2 == 1 || w % 2 == 1)
    x = torch::constant_pad_nd(x, {0, 0, 0, w % 2, 0, h % 2, 0, d % 2});
  // Sub-grid offsets (d, h, w) in MONAI v1's order, which is not itertools.product's.
  static const int64_t kOrder[8][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                       {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
  std::vector<torch::Tensor> parts;
  for (const auto& o : kOrder)
    parts.push_back(x.slice(1, o[0], torch::indexing::None, 2)
                        .slice(2, o[1], torch::indexing::None, 2)
                        .slice(3, o[2], torch::indexing::None, 2));
  return reduction(norm(torch::cat(parts, -1)));
}

BasicLayerImpl::BasicLayerImpl(const BasicLayerOptions& o) : options(o) {
  blocks = register_module("blocks", torch::nn::ModuleList());
  const Size3 half = {o.window[0] / 2, o.window[1] / 2, o.window[2] / 2};
  for (int64_t i = 0; i < o.depth; ++i) {
    SwinBlockOptions b;
    b.dim = o.dim;
    b.num_heads = o.num_heads;
    b.window = o.window;
    b.shift = i % 2 == 0 ? Size3{0, 0, 0} : half;
    b.mlp_ratio = o.mlp_ratio;
    b.qkv_bias = o.qkv_bias;
    b.drop = o.drop;
    b.attn_drop = o.attn_drop;
    b.drop_path = o.drop_path.empty() ? 0.0 : o.drop_path.at(static_cast<size_t>(i));
    blocks->push_back(SwinTransformerBlock(b));
  }
  downsample = register_module("downsample", PatchMerging(o.dim));
}

torch::Tensor BasicLayerImpl::forward(const torch::Tensor& input) {
  const Size3 size = {input.size(2), input.size(3), input.size(4)};
  const Size3 half = {options.window[0] / 2, options.window[1] / 2, options.window[2] / 2};
  const auto [window, shift] = get_window_size(size, options.window, half);
  Size3 padded;
  for (int a = 0; a < 3; ++a) padded[a] = (size[a] + window[a] - 1) / window[a] * window[a];
  // Only odd blocks use the mask; a one-block layer never needs it.
  const auto mask =
      options.depth > 1 ? compute_mask(padded, window, shift, input.device()) : torch::Tensor();
  auto x = input.permute({0, 2, 3, 4, 1});
  for (const auto& blk : *blocks) x = blk->as<SwinTransformerBlock>()->forward(x, mask);
  return downsample(x).permute({0, 4, 1, 2, 3});
}

SwinTransformerImpl::SwinTransformerImpl(const SwinTransformerOptions& o) : options(o) {
  if (o.depths.size() != 4 || o.num_heads.size() != 4)
    throw Error("SwinTransformer: depths and num_heads need 4 stages each");
  patch_embed = register_module(
      "patch_embed",
      torch::nn::Conv3d(
          torch::nn::Conv3dOptions(o.in_channels, o.embed_dim, o.patch_size).stride(o.patch_size)));
  pos_drop = register_module("pos_drop", torch::nn::Dropout(o.drop_rate));
  int64_t total = 0;
  for (int64_t d : o.depths) total += d;
  // torch.linspace(0, rate, total): the block index's share of the rate.
  std::vector<double> dpr;
  for (int64_t i = 0; i < total; ++i)
    dpr.push_back(total > 1
                      ? o.drop_path_rate * static_cast<double>(i) / static_cast<double>(total - 1)
                      : 0.0);
  size_t first = 0;
  for (size_t i = 0; i < 4; ++i) {
    BasicLayerOptions l;
    l.dim = o.embed_dim << i;
    l.depth = o.depths[i];
    l.num_heads = o.num_heads[i];
    l.window = o.window;
    l.drop_path.assign(dpr.begin() + static_cast<std::ptrdiff_t>(first),
                       dpr.begin() + static_cast<std::ptrdiff_t>(first + o.depths[i]));
    first += static_cast<size_t>(o.depths[i]);
    l.mlp_ratio = o.mlp_ratio;
    l.qkv_bias = o.qkv_bias;
    l.drop = o.drop_rate;
    l.attn_drop = o.attn_drop_rate;
    layers.push_back(register_module("layers" + std::to_string(i + 1), BasicLayer(l)));
  }
}

namespace {

// proj_out: affine-free LayerNorm over the channels of (B, C, D, H, W).
torch::Tensor channel_layer_norm(const torch::Tensor& x) {
  const auto last = x.permute({0, 2, 3, 4, 1});
  return torch::layer_norm(last, {x.size(1)}).permute({0, 4, 1, 2, 3});
}

}  // namespace

std::vector<torch::Tensor> SwinTransformerImpl::forward(const torch::Tensor& input,
                                                        bool normalize) {
  // PatchEmbed zero-pads the end of an axis that the patch does not divide (W, then H, then D).
  const int64_t p = options.patch_size;
  auto x =
      torch::constant_pad_nd(input, {0, (p - input.size(4) % p) % p, 0, (p - input.size(3) % p) % p,
                                     0, (p - input.size(2) % p) % p});
  x = pos_drop(patch_embed(x));
  std::vector<torch::Tensor> out;
  out.push_back(normalize ? channel_layer_norm(x) : x);
  for (auto& layer : layers) {
    x = layer(x.contiguous());
    out.push_back(normalize ? channel_layer_norm(x) : x);
  }
  return out;
}

}  // namespace orch
