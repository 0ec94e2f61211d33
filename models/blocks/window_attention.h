// 3D shifted-window attention, as in MONAI's swin_unetr.py (itself after Liu et al.'s Swin
// Transformer): window partition and reverse, the window-size rule, the relative position index,
// the shifted-window attention mask and the window attention module. Tensors here are
// channels-last, (B, D, H, W, C), as in MONAI's blocks; the layers in swin_layers.h convert.
#pragma once

#include <torch/torch.h>

#include <array>

namespace orch {

using Size3 = std::array<int64_t, 3>;  // (d, h, w)

// MONAI's get_window_size: along every axis whose size is <= the window, the window becomes the
// size and the shift becomes 0. So a 6x6x6 grid with window 7 gets one 6x6x6 window, unshifted.
struct WindowShift {
  Size3 window;
  Size3 shift;
};
WindowShift get_window_size(const Size3& size, const Size3& window, const Size3& shift);

// (B, D, H, W, C) with D, H, W multiples of the window -> (B * windows, wd * wh * ww, C). Windows
// are ordered batch-major, then d, h, w; tokens inside a window d, h, w (row-major).
torch::Tensor window_partition(const torch::Tensor& x, const Size3& window);

// The inverse of window_partition for a (B, D, H, W, C) result.
torch::Tensor window_reverse(const torch::Tensor& windows, const Size3& window, int64_t batch,
                             const Size3& size);

// (n, n) int64 with n = wd * wh * ww: for tokens i, j at (zi, yi, xi) and (zj, yj, xj) inside a
// window, ((zi - zj) + wd - 1) * (2wh - 1) * (2ww - 1) + ((yi - yj) + wh - 1) * (2ww - 1) +
// ((xi - xj) + ww - 1): a row of the (2wd - 1)(2wh - 1)(2ww - 1)-entry bias table.
torch::Tensor relative_position_index(const Size3& window);

// MONAI's compute_mask for a grid already padded to multiples of the window: label 27 regions
// with the Python slices [:-w], [-w:-s], [-s:] per axis (so an axis with shift 0 gets one label:
// [-0:] is the whole axis), partition the labels into windows and return (windows, n, n) with 0
// where two tokens share a label and -100 where they differ. Float32, on `device`.
torch::Tensor compute_mask(const Size3& padded, const Size3& window, const Size3& shift,
                           torch::Device device = torch::kCPU);

struct WindowAttentionOptions {
  int64_t dim = 48;          // channels C
  int64_t num_heads = 3;     // must divide dim
  Size3 window = {7, 7, 7};  // the full window; the bias table has (2w - 1)^3 rows
  bool qkv_bias = true;      // bias on the q, k, v projection
  double attn_drop = 0.0;    // dropout on the attention weights
  double proj_drop = 0.0;    // dropout after the output projection
};

// Multi-head self-attention inside each window with a learned relative position bias.
// Quirk kept from MONAI: a window shrunk by get_window_size (n < full n tokens) indexes the bias
// table with relative_position_index[:n, :n] of the FULL window, not an index built for the
// shrunk window.
struct WindowAttentionImpl : torch::nn::Module {
  explicit WindowAttentionImpl(const WindowAttentionOptions& options);
  // x: (B * windows, n, C); mask: undefined or (windows, n, n), added per window before softmax.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  WindowAttentionOptions options;
  double scale;                                // head_dim^-0.5
  torch::Tensor relative_position_bias_table;  // ((2w-1)^3, heads), trunc-normal std 0.02
  torch::Tensor relative_position_index;       // buffer, (full n, full n)
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::nn::Dropout attn_drop{nullptr}, proj_drop{nullptr};
};
TORCH_MODULE(WindowAttention);

}  // namespace orch
