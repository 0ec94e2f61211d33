// Grid sampling for patch-wise inference and its aggregation back into a volume, after TorchIO's
// GridSampler and GridAggregator (docs/MODELS.md §11), plus nnU-Net's Gaussian importance
// weighting.
//
// Axes as in worker/data/samplers.h: shapes, patch sizes, overlaps and locations are (i, j, k) =
// (X, Y, Z); tensors are (C, Z, Y, X). Locations are in the coordinates of the padded volume.
//
// Typical use:
//   GridOptions opts;
//   opts.patch = {96, 96, 96};
//   opts.overlap = {48, 48, 48};
//   GridSampler grid(volume_shape, opts);
//   auto padded = grid.pad(image);                      // (C, Z', Y', X'); no copy when unpadded
//   GridAggregator agg(grid, OverlapMode::kGaussian);
//   for (auto& loc : grid.locations()) agg.add(model(grid.crop(padded, loc)), loc);
//   torch::Tensor out = agg.output();                   // (K, Z, Y, X), the original shape
#pragma once

#include <torch/torch.h>

#include <vector>

#include "worker/data/samplers.h"

namespace orch {

enum class GridPadding {
  kNone,      // no padding; a volume smaller than the patch on some axis is an error
  kConstant,  // pad with GridOptions::pad_value
  kEdge,      // repeat the border voxel (numpy 'edge', torch 'replicate')
};

struct GridOptions {
  Index3 patch{};           // (i, j, k), each >= 1
  Index3 overlap{0, 0, 0};  // (i, j, k), even and < patch
  GridPadding padding = GridPadding::kNone;
  double pad_value = 0;  // for kConstant
};

// Starts along one axis: range(0, L - p + 1, p - overlap), plus L - p if not already there.
std::vector<int64_t> grid_starts(int64_t length, int64_t patch, int64_t overlap);

class GridSampler {
 public:
  // `volume_shape` is (i, j, k). With padding, the volume is padded by overlap/2 on each side,
  // and further (floor half before, the rest after) on any axis still shorter than the patch.
  GridSampler(Index3 volume_shape, GridOptions options);

  // Every 3-D combination of the per-axis starts, deduplicated and sorted by (i, j, k).
  const std::vector<PatchLocation>& locations() const { return locations_; }
  const GridOptions& options() const { return options_; }
  Index3 volume_shape() const { return shape_; }
  Index3 padded_shape() const { return padded_; }
  Index3 pad_before() const { return before_; }
  bool padded() const { return options_.padding != GridPadding::kNone; }

  // (C, Z, Y, X) -> the padded volume the locations refer to (the input itself when unpadded).
  torch::Tensor pad(const torch::Tensor& image) const;
  // The patch at `where` of a padded volume (C, Z, Y, X) or label (Z, Y, X): a view, no copy.
  static torch::Tensor crop(const torch::Tensor& padded, const PatchLocation& where);

 private:
  GridOptions options_;
  Index3 shape_{}, padded_{}, before_{}, after_{};
  std::vector<PatchLocation> locations_;
};

enum class OverlapMode {
  kCrop,      // crop overlap/2 off each side not on the volume border (all sides when padded),
              // then write, later patches overwriting earlier ones
  kAverage,   // sum and count, then divide
  kHann,      // weights: outer product of hann_window(p + 2, periodic=False)[1:-1]
  kGaussian,  // nnU-Net: Gaussian centred at p // 2, sigma p/8, truncated at 4 sigma, max 1
};

// The per-voxel weights of one patch for kHann / kGaussian, float32 (p_k, p_j, p_i).
torch::Tensor patch_weights(const Index3& patch, OverlapMode mode);

// Accumulates patch predictions (C, p_k, p_j, p_i) at grid locations into a volume. The output
// lives on the device of the first patch added, in float32. Not thread-safe.
class GridAggregator {
 public:
  GridAggregator(const GridSampler& sampler, OverlapMode mode);
  void add(const torch::Tensor& patch, const PatchLocation& where);
  // A batch (B, C, ...) of patches at where[0..B-1].
  void add_batch(const torch::Tensor& patches, const std::vector<PatchLocation>& where);
  // (C, Z, Y, X) of the original (unpadded) shape; throws before any add().
  torch::Tensor output() const;

 private:
  GridSampler sampler_;
  OverlapMode mode_;
  torch::Tensor sum_;     // (C, Z', Y', X')
  torch::Tensor weight_;  // (1, Z', Y', X'), unused for kCrop
  torch::Tensor kernel_;  // (1, p_k, p_j, p_i) for kHann / kGaussian
};

}  // namespace orch
