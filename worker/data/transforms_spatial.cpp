// Sampling-grid geometry and resampling for the spatial transforms (see transforms_grid.h).
//
// Physical frame. A point's centred physical coordinate along axis a is
// x_a = (u_a - c_a) * spacing_a with c_a = (n_a - 1) / 2 (TorchIO's Image.get_center), so
// x = K g with K = diag((n_a - 1) / 2 * spacing_a). Every map below is built in x and converted
// to g; an axis of one voxel (a 2-D slice's k) gets K = spacing so that K stays invertible, and
// the 2-D rules (no z scaling, rotation about k only) keep it from mixing with the others.
//
// RandomAffine. TorchIO builds CompositeTransform([Scale(s, c), Euler3D(R_lps, t_lps, c)]) in LPS
// (ITK applies the last-added transform first, so T(x) = Scale(Rigid(x))) and resamples with
// T^-1: x_in = R_lps^T ((x_out - c) / s - t_lps) + c. The RAS->LPS step negates angles and
// translations on the first two axes: R_lps = Rz(g) Rx(-a) Ry(-b), t_lps = (-t0, -t1, t2).
// Conjugating by P = diag(-1, -1, 1) (the LPS axes of a RAS+ image) undoes both negations:
// P Rx(-a) P = Rx(a), P Ry(-b) P = Ry(b), P Rz(g) P = Rz(g). So in the voxel frame of a RAS+
// canonical image, x_in' = R^T (x_out' / s - t) with R = Rz(g) Rx(a) Ry(b) (ITK's ZXY Euler
// order) built from TorchIO's own angles and translation. Positive g turns content from +i
// towards +j.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "worker/data/transforms_grid.h"

namespace orch::detail {

namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 matmul(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[i][j] += a[i][k] * b[k][j];
  return r;
}

Mat3 transpose(const Mat3& a) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[i][j] = a[j][i];
  return r;
}

// ITK Euler3DTransform with ComputeZYX off: R = Rz(gamma) Rx(alpha) Ry(beta), angles in degrees.
Mat3 euler_zxy(const std::array<double, 3>& degrees) {
  const double kRad = M_PI / 180.0;
  const double ca = std::cos(degrees[0] * kRad), sa = std::sin(degrees[0] * kRad);
  const double cb = std::cos(degrees[1] * kRad), sb = std::sin(degrees[1] * kRad);
  const double cg = std::cos(degrees[2] * kRad), sg = std::sin(degrees[2] * kRad);
  const Mat3 rx{{{1, 0, 0}, {0, ca, -sa}, {0, sa, ca}}};
  const Mat3 ry{{{cb, 0, sb}, {0, 1, 0}, {-sb, 0, cb}}};
  const Mat3 rz{{{cg, -sg, 0}, {sg, cg, 0}, {0, 0, 1}}};
  return matmul(rz, matmul(rx, ry));
}

// Physical half-extent per axis: x = K g.
std::array<double, 3> half_extent(const std::array<int64_t, 3>& dims,
                                  const std::array<double, 3>& spacing) {
  std::array<double, 3> k{};
  for (int a = 0; a < 3; ++a) k[a] = (dims[a] > 1 ? (dims[a] - 1) / 2.0 : 1.0) * spacing[a];
  return k;
}

// g_in = K^-1 (L K g_out + v): a linear map L and offset v written in the physical frame.
Mat34 from_physical(const Mat3& l, const std::array<double, 3>& v, const std::array<double, 3>& k) {
  Mat34 m{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m[i][j] = l[i][j] * k[j] / k[i];
    m[i][3] = v[i] / k[i];
  }
  return m;
}

}  // namespace

Mat34 identity34() { return {{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}}; }

Mat34 compose(const Mat34& outer, const Mat34& inner) {
  Mat34 r{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      double v = j == 3 ? outer[i][3] : 0.0;
      for (int k = 0; k < 3; ++k) v += outer[i][k] * inner[k][j];
      r[i][j] = v;
    }
  }
  return r;
}

bool is_identity(const Mat34& m) { return m == identity34(); }

Mat34 flip_matrix(const FlipParams& p) {
  Mat34 m = identity34();
  for (int a = 0; a < 3; ++a)
    if (p.flip[a]) m[a][a] = -1;  // u -> n - 1 - u is g -> -g
  return m;
}

Mat34 affine_matrix(const AffineParams& p, const std::array<int64_t, 3>& dims,
                    const std::array<double, 3>& spacing) {
  const Mat3 rt = transpose(euler_zxy(p.degrees));
  Mat3 l{};  // R^T diag(1 / s)
  std::array<double, 3> v{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      l[i][j] = rt[i][j] / p.scales[j];
      v[i] -= rt[i][j] * p.translation[j];
    }
  }
  return from_physical(l, v, half_extent(dims, spacing));
}

Mat34 rigid_matrix(const std::array<double, 3>& degrees, const std::array<double, 3>& translation,
                   const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing) {
  return from_physical(euler_zxy(degrees), translation, half_extent(dims, spacing));
}

torch::Tensor affine_grids(const std::vector<Mat34>& maps, const std::array<int64_t, 3>& dims,
                           const torch::TensorOptions& options) {
  // Planar (N, 3, Z, Y, X) storage viewed as (N, Z, Y, X, 3): each coordinate plane is
  // A_r0 g_x + (A_r1 g_y + A_r2 g_z + b_r), one broadcast add from a small (Z, Y, 1) term, and
  // grid_sample reads grids through their strides. (affine_grid's base-grid bmm costs ~6x more.)
  const auto n = static_cast<int64_t>(maps.size());
  const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
  auto lin = [&](int64_t len) {
    return len > 1 ? torch::linspace(-1.0, 1.0, len, torch::kFloat64)
                   : torch::zeros({len}, torch::kFloat64);
  };
  const auto gx = lin(nx).view({1, 1, nx}), gy = lin(ny).view({1, ny, 1});
  const auto gz = lin(nz).view({nz, 1, 1});
  auto out = torch::empty({n, 3, nz, ny, nx}, options);
  for (int64_t b = 0; b < n; ++b) {
    const auto& m = maps[static_cast<size_t>(b)];
    for (int r = 0; r < 3; ++r) {
      const auto zy = (gy * m[r][1] + gz * m[r][2] + m[r][3]).to(options);
      auto plane = out[b][r];
      torch::add_out(plane, zy, (gx * m[r][0]).to(options));
    }
  }
  return out.permute({0, 2, 3, 4, 1});
}

torch::Tensor grid_sample_volume(const torch::Tensor& volume, const torch::Tensor& grid,
                                 bool nearest, bool border) {
  const int64_t n = grid.size(0), z = grid.size(1), y = grid.size(2), x = grid.size(3);
  const int64_t c = volume.size(0);
  if (z == 1 && volume.size(1) == 1) {  // a 2-D slice: the vectorised 2-D kernel, (x, y) only
    const auto input = volume.squeeze(1).unsqueeze(0).expand({n, c, y, x});
    const auto g2 = grid.select(1, 0).narrow(-1, 0, 2);
    return torch::grid_sampler(input, g2, nearest ? 1 : 0, border ? 1 : 0, true).unsqueeze(2);
  }
  // The CPU 3-D kernel parallelises over the batch only: q slabs per grid feed every thread.
  int64_t q = 1;
  if (volume.device().is_cpu()) {
    q = std::min<int64_t>((at::get_num_threads() + n - 1) / n, z);
    while (q > 1 && z % q != 0) --q;
  }
  const auto input =
      volume.unsqueeze(0).expand({n * q, c, volume.size(1), volume.size(2), volume.size(3)});
  const auto out = torch::grid_sampler(input, grid.reshape({n * q, z / q, y, x, 3}),
                                       nearest ? 1 : 0, border ? 1 : 0, true);
  if (q == 1) return out;
  return out.view({n, q, c, z / q, y, x}).permute({0, 2, 1, 3, 4, 5}).reshape({n, c, z, y, x});
}

torch::Tensor resample_image(const torch::Tensor& image, const torch::Tensor& grid) {
  const auto pad = image.amin({1, 2, 3}, true);  // (C, 1, 1, 1)
  auto out = grid_sample_volume(image, grid, /*nearest=*/false, /*border=*/true);
  // ITK's IsInsideBuffer: continuous index in [-0.5, n - 0.5]; |g| <= 1 + 1 / (n - 1).
  const std::array<int64_t, 3> dims = {image.size(3), image.size(2), image.size(1)};
  torch::Tensor inside;
  for (int a = 0; a < 3; ++a) {
    if (dims[a] <= 1) continue;  // a 2-D slice's k: grid_sample reads index 0 whatever g is
    const double bound = 1.0 + 1.0 / static_cast<double>(dims[a] - 1);
    auto m = grid.select(-1, a).abs() <= bound;
    inside = inside.defined() ? inside.logical_and_(m) : m;
  }
  if (!inside.defined()) return out;
  return torch::where(inside.unsqueeze(1), out, pad);
}

torch::Tensor resample_label(const torch::Tensor& label, const torch::Tensor& grid) {
  const auto sizes = label.sizes().vec();
  const auto volume =
      label.reshape({1, grid.size(1), grid.size(2), grid.size(3)}).to(torch::kFloat);
  // Nearest with zero padding reads index round(u) when it lies in [0, n - 1]: ITK's buffer
  // rule for nearest neighbour, with TorchIO's label pad 0.
  const auto out = grid_sample_volume(volume, grid, /*nearest=*/true, /*border=*/false);
  return out.to(label.scalar_type()).reshape(sizes);
}

}  // namespace orch::detail
