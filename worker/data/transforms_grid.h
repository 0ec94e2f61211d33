// Internal to the transforms: sampling-grid geometry shared by flip, affine, elastic and motion.
//
// Coordinates. Grids use grid_sample's normalised coordinates with align_corners=true: along an
// axis of n voxels, g = 2u / (n - 1) - 1 for voxel index u, so g = -1 and +1 are the centres of
// the first and last voxels (ITK's voxel-centre convention). Components are (x, y, z) = (i, j, k).
// A map sends an OUTPUT point to the INPUT point it reads from (ITK's resampling convention).
#pragma once

#include <torch/torch.h>

#include <array>
#include <variant>
#include <vector>

#include "worker/data/transforms.h"

namespace orch::detail {

// g_in = M[:, 0:3] g_out + M[:, 3].
using Mat34 = std::array<std::array<double, 4>, 3>;

Mat34 identity34();
Mat34 compose(const Mat34& outer, const Mat34& inner);  // p -> outer(inner(p))
bool is_identity(const Mat34& m);

Mat34 flip_matrix(const FlipParams& p);
// RandomAffine's inverse composite (scale about the centre, then Euler ZXY), see the .cpp.
Mat34 affine_matrix(const AffineParams& p, const std::array<int64_t, 3>& dims,
                    const std::array<double, 3>& spacing);
// One motion: x_in = R (x_out - c) + c + t, used as is (not inverted), as TorchIO's Motion does.
Mat34 rigid_matrix(const std::array<double, 3>& degrees, const std::array<double, 3>& translation,
                   const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing);

// grid_sample over one (C, Z, Y, X) volume and N grids (N, Z, Y, X, 3): (N, C, Z, Y, X). On CPU
// the output is cut into slabs along Z so that the batch-parallel kernel uses every thread.
torch::Tensor grid_sample_volume(const torch::Tensor& volume, const torch::Tensor& grid,
                                 bool nearest, bool border);
// Trilinear, ITK's rules: inside [-0.5, n - 0.5] edge voxels extend, outside is the channel's
// minimum (TorchIO's default_pad_value 'minimum'). image (C, Z, Y, X) -> (N, C, Z, Y, X).
torch::Tensor resample_image(const torch::Tensor& image, const torch::Tensor& grid);
// Nearest neighbour, 0 outside; keeps the label's shape and dtype.
torch::Tensor resample_label(const torch::Tensor& label, const torch::Tensor& grid);
// (N, Z, Y, X, 3) grids of affine maps.
torch::Tensor affine_grids(const std::vector<Mat34>& maps, const std::array<int64_t, 3>& dims,
                           const torch::TensorOptions& options);

// Collects spatial steps in pipeline order and resamples the subject once with their
// composition. Consecutive affine maps fold into one matrix; an elastic step that acts first on
// the output grid (the usual flip, affine, elastic order) folds the outer affine maps into its
// B-spline coefficients, so the whole grid is one separable spline evaluation.
class GridComposer {
 public:
  void add(const Mat34& map) { steps_.emplace_back(map); }
  void add(const ElasticParams& p) { steps_.emplace_back(p); }
  bool empty() const { return steps_.empty(); }
  Subject resample(Subject s, std::vector<StageTime>* times) const;

 private:
  std::vector<std::variant<Mat34, ElasticParams>> steps_;
};

// dims (ni, nj, nk) of a (C, Z, Y, X) image.
inline std::array<int64_t, 3> dims_of(const torch::Tensor& image) {
  return {image.size(3), image.size(2), image.size(1)};
}

}  // namespace orch::detail
