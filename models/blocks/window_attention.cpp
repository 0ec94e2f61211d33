#include "models/blocks/window_attention.h"

#include <algorithm>
#include <string>

#include "common/status.h"

namespace orch {

WindowShift get_window_size(const Size3& size, const Size3& window, const Size3& shift) {
  WindowShift ws{window, shift};
  for (int i = 0; i < 3; ++i) {
    if (size[i] <= window[i]) {
      ws.window[i] = size[i];
      ws.shift[i] = 0;
    }
  }
  return ws;
}

torch::Tensor window_partition(const torch::Tensor& x, const Size3& w) {
  const int64_t b = x.size(0), d = x.size(1), h = x.size(2), wd = x.size(3), c = x.size(4);
  return x.view({b, d / w[0], w[0], h / w[1], w[1], wd / w[2], w[2], c})
      .permute({0, 1, 3, 5, 2, 4, 6, 7})
      .contiguous()
      .view({-1, w[0] * w[1] * w[2], c});
}

torch::Tensor window_reverse(const torch::Tensor& windows, const Size3& w, int64_t batch,
                             const Size3& size) {
  const auto [d, h, wd] = size;
  return windows.view({batch, d / w[0], h / w[1], wd / w[2], w[0], w[1], w[2], -1})
      .permute({0, 1, 4, 2, 5, 3, 6, 7})
      .contiguous()
      .view({batch, d, h, wd, -1});
}

torch::Tensor relative_position_index(const Size3& w) {
  // coords: (3, n), token t at (z, y, x) in row-major order.
  const auto grids =
      torch::meshgrid({torch::arange(w[0]), torch::arange(w[1]), torch::arange(w[2])},
                      /*indexing=*/"ij");
  const auto coords = torch::stack(grids).flatten(1);
  auto rel = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).contiguous();
  for (int a = 0; a < 3; ++a) rel.select(2, a).add_(w[a] - 1);
  rel.select(2, 0).mul_((2 * w[1] - 1) * (2 * w[2] - 1));
  rel.select(2, 1).mul_(2 * w[2] - 1);
  return rel.sum(-1);
}

namespace {

// Python's slice(start, stop) on an axis of length n, as [begin, end); `none` means omitted.
// Only the negative and zero bounds compute_mask uses are needed; -0 is 0, as in Python.
constexpr int64_t kNone = INT64_MIN;
std::pair<int64_t, int64_t> py_slice(int64_t start, int64_t stop, int64_t n) {
  auto norm = [n](int64_t v, int64_t dflt) {
    if (v == kNone) return dflt;
    return v < 0 ? std::max<int64_t>(0, n + v) : std::min(v, n);
  };
  const int64_t begin = norm(start, 0), end = norm(stop, n);
  return {begin, std::max(begin, end)};
}

// The three slices per axis, in MONAI's order: [:-w], [-w:-s], [-s:].
std::array<std::pair<int64_t, int64_t>, 3> region_slices(int64_t n, int64_t w, int64_t s) {
  return {py_slice(kNone, -w, n), py_slice(-w, -s, n), py_slice(-s, kNone, n)};
}

}  // namespace

torch::Tensor compute_mask(const Size3& padded, const Size3& window, const Size3& shift,
                           torch::Device device) {
  auto img = torch::zeros({1, padded[0], padded[1], padded[2], 1});
  std::array<std::array<std::pair<int64_t, int64_t>, 3>, 3> s;
  for (int a = 0; a < 3; ++a) s[a] = region_slices(padded[a], window[a], shift[a]);
  double label = 0;
  // Later regions overwrite earlier ones where slices overlap (shift 0: [-0:] is everything).
  for (const auto& [d0, d1] : s[0])
    for (const auto& [h0, h1] : s[1])
      for (const auto& [w0, w1] : s[2]) {
        img.slice(1, d0, d1).slice(2, h0, h1).slice(3, w0, w1).fill_(label);
        label += 1;
      }
  const auto labels = window_partition(img, window).squeeze(-1);  // (windows, n)
  const auto diff = labels.unsqueeze(1) - labels.unsqueeze(2);
  return torch::where(diff != 0, torch::full({}, -100.0), torch::zeros({})).to(device);
}

WindowAttentionImpl::WindowAttentionImpl(const WindowAttentionOptions& o) : options(o) {
  if (o.dim < 1 || o.num_heads < 1 || o.dim % o.num_heads != 0)
    throw Error("WindowAttention: num_heads " + std::to_string(o.num_heads) + " must divide dim " +
                std::to_string(o.dim));
  scale = 1.0 / std::sqrt(static_cast<double>(o.dim / o.num_heads));
  const auto& w = o.window;
  relative_position_bias_table = register_parameter(
      "relative_position_bias_table",
      torch::zeros({(2 * w[0] - 1) * (2 * w[1] - 1) * (2 * w[2] - 1), o.num_heads}));
  relative_position_index =
      register_buffer("relative_position_index", orch::relative_position_index(w));
  qkv = register_module(
      "qkv", torch::nn::Linear(torch::nn::LinearOptions(o.dim, 3 * o.dim).bias(o.qkv_bias)));
  attn_drop = register_module("attn_drop", torch::nn::Dropout(o.attn_drop));
  proj = register_module("proj", torch::nn::Linear(o.dim, o.dim));
  proj_drop = register_module("proj_drop", torch::nn::Dropout(o.proj_drop));
  // MONAI's trunc_normal_(std=0.02) truncates at +-2 absolute (100 sigma): a plain normal.
  torch::NoGradGuard no_grad;
  relative_position_bias_table.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2), heads = options.num_heads;
  const auto qkv_ = qkv(x).reshape({b, n, 3, heads, c / heads}).permute({2, 0, 3, 1, 4});
  const auto q = qkv_[0] * scale, k = qkv_[1], v = qkv_[2];
  auto attn = torch::matmul(q, k.transpose(-2, -1));
  // The quirk: [:n, :n] of the full window's index, even when the window has shrunk.
  const auto index = relative_position_index.slice(0, 0, n).slice(1, 0, n).reshape(-1);
  const auto bias = relative_position_bias_table.index_select(0, index)
                        .reshape({n, n, -1})
                        .permute({2, 0, 1})
                        .contiguous();
  // In-place adds: attn is (windows x heads) n x n, the largest tensor here, and matmul's
  // backward does not need its output.
  attn.add_(bias.unsqueeze(0));
  if (mask.defined()) {
    const int64_t windows = mask.size(0);
    attn.view({b / windows, windows, heads, n, n}).add_(mask.unsqueeze(1));
  }
  attn = attn_drop(torch::softmax(attn, -1));
  const auto out = torch::matmul(attn, v).transpose(1, 2).reshape({b, n, c});
  return proj_drop(proj(out));
}

}  // namespace orch
