// The elastic B-spline field and the composition of spatial steps into one sampling grid.
//
// ITK geometry (RandomElasticDeformation: BSplineTransformInitializer with mesh size
// num_control_points - 3, cubic). The transform domain spans the voxel corners widened by
// epsilon = 1/8 voxel per side: index -0.5 - 1/8 .. n - 0.5 + 1/8 (itkBSplineTransformInitializer),
// so the grid spacing is gs = (n + 1/4) / mesh voxels, control point m sits at index
// -0.5 - 1/8 + (m - 1) gs, and the displacement at t = (u + 0.5 + 1/8) / gs is
// sum_m beta3(t + 1 - m) C_m with the centred cubic B-spline beta3. The field is evaluated
// separably: one small matrix of weights per axis, one matmul per axis, never a full-size
// smoothing. TorchIO's parameters are coefficient images in LPS whose grid origin is the domain's
// minimum LPS corner; orch lays control index m along increasing voxel index and components along
// +i, +j, +k. The coarse field is symmetric (U(-D, D), borders locked symmetrically), so the two
// conventions give the same distribution.
#include <chrono>
#include <cmath>

#include "worker/data/transforms_grid.h"

namespace orch {

namespace {

double beta3(double x) {
  x = std::fabs(x);
  if (x < 1) return 2.0 / 3.0 - x * x + x * x * x / 2.0;
  if (x < 2) return (2 - x) * (2 - x) * (2 - x) / 6.0;
  return 0.0;
}

// Evaluates coefficients K (n0, n1, n2, 3), float64 CPU, at every voxel: (1, Z, Y, X, 3).
torch::Tensor spline_grid(const torch::Tensor& k, const std::array<int64_t, 3>& dims,
                          const torch::TensorOptions& options) {
  const int64_t n0 = k.size(0), n1 = k.size(1), n2 = k.size(2);
  const int64_t ni = dims[0], nj = dims[1], nk = dims[2];
  const auto bx = bspline_basis(ni, n0), by = bspline_basis(nj, n1), bz = bspline_basis(nk, n2);
  // Contract the k control axis, then j: (nk, n0, n1, 3) -> (nk, nj, n0, 3); both small.
  const auto t1 = bz.mm(k.permute({2, 0, 1, 3}).reshape({n2, -1})).view({nk, n0, n1, 3});
  const auto t2 = by.mm(t1.permute({2, 0, 1, 3}).reshape({n1, -1}))
                      .view({nj, nk, n0, 3})
                      .permute({1, 0, 2, 3})
                      .reshape({nk * nj, n0 * 3});
  // The i axis: one (Z*Y, n0) x (n0, X) GEMM per component, each writing one plane of planar
  // (1, 3, Z, Y, X) storage that is returned as a (1, Z, Y, X, 3) view (see affine_grids).
  const auto t2d = t2.to(options).view({nk * nj, n0, 3});
  const auto bxt = bx.t().contiguous().to(options);
  auto out = torch::empty({1, 3, nk, nj, ni}, options);
  for (int64_t c = 0; c < 3; ++c) {
    auto plane = out[0][c].view({nk * nj, ni});
    torch::mm_out(plane, t2d.select(2, c), bxt);
  }
  return out.permute({0, 2, 3, 4, 1});
}

// The control points as coefficients in grid units: position (identity map) + displacement.
torch::Tensor grid_coefficients(const ElasticParams& p, const std::array<int64_t, 3>& dims,
                                const std::array<double, 3>& spacing, bool with_positions) {
  auto k = p.control_points.to(torch::kFloat64).clone();
  for (int a = 0; a < 3; ++a) {
    const int64_t n = dims[a], m = k.size(a);
    auto comp = k.select(3, a);
    if (n <= 1) {
      comp.zero_();
      continue;
    }
    const double to_grid = 2.0 / static_cast<double>(n - 1);
    comp.mul_(to_grid / spacing[a]);
    if (!with_positions) continue;
    const double gs = (static_cast<double>(n) + 0.25) / static_cast<double>(m - 3);
    auto pos = (torch::arange(m, torch::kFloat64) - 1) * gs - 0.625;  // voxel index
    std::vector<int64_t> shape = {1, 1, 1};
    shape[static_cast<size_t>(a)] = m;
    comp.add_((pos * to_grid - 1).view(shape));
  }
  return k;
}

}  // namespace

torch::Tensor bspline_basis(int64_t n, int64_t control) {
  auto w = torch::zeros({n, control}, torch::kFloat64);
  auto acc = w.accessor<double, 2>();
  const double gs = (static_cast<double>(n) + 0.25) / static_cast<double>(control - 3);
  for (int64_t u = 0; u < n; ++u) {
    const double t = (static_cast<double>(u) + 0.625) / gs;
    for (int64_t m = 0; m < control; ++m) acc[u][m] = beta3(t + 1.0 - static_cast<double>(m));
  }
  return w;
}

torch::Tensor elastic_displacement(const ElasticParams& p, const std::array<int64_t, 3>& dims,
                                   const std::array<double, 3>& spacing,
                                   const torch::TensorOptions& options) {
  auto k = p.control_points.to(torch::kFloat64).clone();
  for (int a = 0; a < 3; ++a) k.select(3, a).div_(spacing[a]);
  return spline_grid(k, dims, options).squeeze(0).contiguous();
}

namespace detail {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

torch::Tensor apply_map(const torch::Tensor& points, const Mat34& m) {
  auto a = torch::empty({3, 3}, torch::kFloat64), b = torch::empty({3}, torch::kFloat64);
  for (int i = 0; i < 3; ++i) {
    b[i] = m[i][3];
    for (int j = 0; j < 3; ++j) a[i][j] = m[i][j];
  }
  const auto opts = points.options();
  return torch::addmm(b.to(opts), points.reshape({-1, 3}), a.t().to(opts)).view(points.sizes());
}

// A flip-only map diag(+-1) with no offset is an exact index reversal: applies it with
// torch::flip and returns true; returns false (and leaves `s` alone) for any other map.
bool apply_as_flip(Subject& s, const Mat34& m) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      if (i == j ? std::fabs(m[i][j]) != 1.0 : m[i][j] != 0.0) return false;
  std::vector<int64_t> di, dl;
  for (int64_t a = 0; a < 3; ++a) {
    if (m[a][a] > 0) continue;
    di.push_back(3 - a);
    if (s.label.defined()) dl.push_back(s.label.dim() - 1 - a);
  }
  s.image = torch::flip(s.image, di);
  if (s.label.defined()) s.label = torch::flip(s.label, dl);
  return true;
}

}  // namespace

Subject GridComposer::resample(Subject s, std::vector<StageTime>* times) const {
  const double t0 = now();
  const auto dims = dims_of(s.image);
  const auto opts = s.image.options();
  // Evaluate p -> M_1(M_2(...M_n(p))) from the innermost (last) step outwards.
  enum class Kind { kAffine, kSpline, kDense } kind = Kind::kAffine;
  Mat34 outer = identity34();
  torch::Tensor coef, dense;
  auto materialise = [&]() -> torch::Tensor {
    if (kind == Kind::kAffine) return affine_grids({outer}, dims, opts);
    if (kind == Kind::kSpline) return spline_grid(apply_map(coef, outer), dims, opts);
    return apply_map(dense, outer);
  };
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (const auto* m = std::get_if<Mat34>(&*it)) {
      outer = compose(*m, outer);
      continue;
    }
    const auto& e = std::get<ElasticParams>(*it);
    if (kind == Kind::kAffine && is_identity(outer)) {
      coef = grid_coefficients(e, dims, s.spacing, /*with_positions=*/true);
      kind = Kind::kSpline;
      continue;
    }
    // An elastic step after other maps: sample its dense field at the mapped points.
    auto g = materialise();
    const auto field = spline_grid(grid_coefficients(e, dims, s.spacing, false), dims, opts);
    const auto moved = grid_sample_volume(field.squeeze(0).permute({3, 0, 1, 2}), g, false, true);
    dense = g + moved.permute({0, 2, 3, 4, 1});
    kind = Kind::kDense;
    outer = identity34();
  }
  if (kind == Kind::kAffine) {
    if (is_identity(outer)) return s;
    if (apply_as_flip(s, outer)) {
      if (times) times->push_back({"flip", now() - t0});
      return s;
    }
  }
  const auto grid = materialise();
  const double t1 = now();
  s.image = resample_image(s.image, grid).squeeze(0);
  const double t2 = now();
  if (s.label.defined()) s.label = resample_label(s.label, grid);
  if (times) {
    times->push_back({"grid", t1 - t0});
    times->push_back({"resample_image", t2 - t1});
    if (s.label.defined()) times->push_back({"resample_label", now() - t2});
  }
  return s;
}

}  // namespace detail
}  // namespace orch
