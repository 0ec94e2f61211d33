#include "worker/infer/surface_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/status.h"

namespace orch {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::size_t voxel_count(const Dims3& d) { return static_cast<std::size_t>(d[0] * d[1] * d[2]); }

void check_geometry(const Dims3& dims, const Spacing3& spacing) {
  for (int a = 0; a < 3; ++a) {
    if (dims[a] <= 0)
      throw Error("surface metrics: dimension " + std::to_string(a) + " is " +
                  std::to_string(dims[a]) + ", must be positive");
    if (!(spacing[a] > 0) || !std::isfinite(spacing[a]))
      throw Error("surface metrics: spacing " + std::to_string(a) + " is " +
                  std::to_string(spacing[a]) + " mm, must be positive and finite");
  }
}

// Scratch for the 1-D lower-envelope pass, sized for the longest line and reused over lines.
struct Envelope {
  std::vector<std::int64_t> site;  // indices of the parabolas forming the lower envelope
  std::vector<double> from;        // position (mm) where each of them becomes the lowest
  std::vector<double> line;        // a copy of the line being transformed
  explicit Envelope(std::int64_t n)
      : site(static_cast<std::size_t>(n)),
        from(static_cast<std::size_t>(n)),
        line(static_cast<std::size_t>(n)) {}
};

// f[p] <- min_q ((p - q) w)^2 + f[q] along one line of n values `stride` apart (Felzenszwalb &
// Huttenlocher 2012, with positions in mm). +inf entries are not sites; a line without sites
// stays +inf.
void envelope_pass(double* f, std::int64_t n, std::int64_t stride, double w, Envelope& e) {
  for (std::int64_t p = 0; p < n; ++p) e.line[p] = f[p * stride];
  std::int64_t k = -1;
  for (std::int64_t q = 0; q < n; ++q) {
    const double fq = e.line[q];
    if (fq == kInf) continue;
    const double xq = static_cast<double>(q) * w;
    double s = -kInf;
    while (k >= 0) {  // drop parabolas that the new one hides entirely
      const std::int64_t v = e.site[k];
      const double xv = static_cast<double>(v) * w;
      s = ((fq + xq * xq) - (e.line[v] + xv * xv)) / (2.0 * (xq - xv));
      if (s > e.from[k]) break;
      --k;
    }
    if (k < 0) s = -kInf;
    e.site[++k] = q;
    e.from[k] = s;
  }
  if (k < 0) return;
  std::int64_t j = 0;
  for (std::int64_t p = 0; p < n; ++p) {
    const double xp = static_cast<double>(p) * w;
    while (j < k && e.from[j + 1] <= xp) ++j;
    const double dx = static_cast<double>(p - e.site[j]) * w;
    f[p * stride] = dx * dx + e.line[e.site[j]];
  }
}

// Foreground bounding box [lo, hi] per axis of pred|ref; false when both are empty.
template <class Fg>
bool union_box(const std::uint8_t* pred, const std::uint8_t* ref, Fg fg, const Dims3& d, Dims3& lo,
               Dims3& hi) {
  lo = d;
  hi = {-1, -1, -1};
  std::size_t idx = 0;
  for (std::int64_t k = 0; k < d[2]; ++k)
    for (std::int64_t j = 0; j < d[1]; ++j)
      for (std::int64_t i = 0; i < d[0]; ++i, ++idx) {
        if (!fg(pred[idx]) && !fg(ref[idx])) continue;
        const std::int64_t c[3] = {i, j, k};
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::min(lo[a], c[a]);
          hi[a] = std::max(hi[a], c[a]);
        }
      }
  return hi[0] >= 0;
}

// The 0/1 mask fg(src) inside the box starting at `lo` with dims `cd`.
template <class Fg>
std::vector<std::uint8_t> crop(const std::uint8_t* src, Fg fg, const Dims3& d, const Dims3& lo,
                               const Dims3& cd) {
  std::vector<std::uint8_t> out(voxel_count(cd));
  std::size_t o = 0;
  for (std::int64_t k = 0; k < cd[2]; ++k)
    for (std::int64_t j = 0; j < cd[1]; ++j) {
      const std::uint8_t* row = src + ((lo[2] + k) * d[1] + lo[1] + j) * d[0] + lo[0];
      for (std::int64_t i = 0; i < cd[0]; ++i) out[o++] = fg(row[i]) ? 1 : 0;
    }
  return out;
}

// sqrt of `sq_dist` at every nonzero voxel of `border`.
std::vector<double> distances_at(const std::vector<std::uint8_t>& border,
                                 const std::vector<double>& sq_dist) {
  std::vector<double> out;
  for (std::size_t v = 0; v < border.size(); ++v)
    if (border[v]) out.push_back(std::sqrt(sq_dist[v]));
  return out;
}

SurfaceMetrics from_distances(std::vector<double> d_pr, std::vector<double> d_rp, double tol) {
  SurfaceMetrics m;
  const double n = static_cast<double>(d_pr.size() + d_rp.size());
  double sum = 0, within = 0;
  for (const auto* d : {&d_pr, &d_rp})
    for (double v : *d) {
      sum += v;
      within += v <= tol ? 1 : 0;
    }
  m.assd = sum / n;
  m.nsd = within / n;
  m.hd95 = std::max(quantile_linear(d_pr, 0.95), quantile_linear(d_rp, 0.95));
  return m;
}

// Cropping to the union box plus one voxel (clipped at the image) keeps every value: foreground
// never touches the crop's edge except where the crop's edge is the image's, and outside the
// image counts as background for the erosion either way; every border voxel lies in the crop, so
// the exact EDT over the crop equals the one over the image at those voxels.
template <class Fg>
SurfaceMetrics compute(const std::uint8_t* pred, const std::uint8_t* ref, Fg fg, const Dims3& dims,
                       const Spacing3& spacing, double tol) {
  check_geometry(dims, spacing);
  if (!(tol >= 0) || !std::isfinite(tol))
    throw Error("surface metrics: tolerance " + std::to_string(tol) +
                " mm must be finite and >= 0");
  Dims3 lo, hi, cd;
  if (!union_box(pred, ref, fg, dims, lo, hi)) return {};  // both empty: undefined
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::max<std::int64_t>(lo[a] - 1, 0);
    hi[a] = std::min<std::int64_t>(hi[a] + 1, dims[a] - 1);
    cd[a] = hi[a] - lo[a] + 1;
  }
  const auto border_p = border_voxels(crop(pred, fg, dims, lo, cd).data(), cd);
  const auto border_r = border_voxels(crop(ref, fg, dims, lo, cd).data(), cd);
  const bool empty_p = std::find(border_p.begin(), border_p.end(), 1) == border_p.end();
  const bool empty_r = std::find(border_r.begin(), border_r.end(), 1) == border_r.end();
  if (empty_p || empty_r) return {kInf, kInf, 0.0};  // exactly one is empty
  auto d_pr = distances_at(border_p, squared_edt(border_r.data(), cd, spacing));
  auto d_rp = distances_at(border_r, squared_edt(border_p.data(), cd, spacing));
  return from_distances(std::move(d_pr), std::move(d_rp), tol);
}

}  // namespace

std::vector<std::uint8_t> border_voxels(const std::uint8_t* mask, const Dims3& d) {
  std::vector<std::uint8_t> out(voxel_count(d), 0);
  const std::int64_t sj = d[0], sk = d[0] * d[1];
  // A foreground voxel stays in the 6-cross erosion only when all six neighbours exist and are
  // foreground.
  const auto fg = [&](std::int64_t idx) { return mask[idx] != 0; };
  std::int64_t idx = 0;
  for (std::int64_t k = 0; k < d[2]; ++k)
    for (std::int64_t j = 0; j < d[1]; ++j)
      for (std::int64_t i = 0; i < d[0]; ++i, ++idx) {
        if (!fg(idx)) continue;
        const bool interior = i > 0 && i + 1 < d[0] && j > 0 && j + 1 < d[1] && k > 0 &&
                              k + 1 < d[2] && fg(idx - 1) && fg(idx + 1) && fg(idx - sj) &&
                              fg(idx + sj) && fg(idx - sk) && fg(idx + sk);
        out[static_cast<std::size_t>(idx)] = interior ? 0 : 1;
      }
  return out;
}

std::vector<double> squared_edt(const std::uint8_t* sites, const Dims3& d,
                                const Spacing3& spacing) {
  check_geometry(d, spacing);
  const std::size_t n = voxel_count(d);
  std::vector<double> f(n);
  for (std::size_t v = 0; v < n; ++v) f[v] = sites[v] ? 0.0 : kInf;
  Envelope e(std::max({d[0], d[1], d[2]}));
  const std::int64_t sj = d[0], sk = d[0] * d[1];
  for (std::int64_t k = 0; k < d[2]; ++k)  // along i: contiguous rows
    for (std::int64_t j = 0; j < d[1]; ++j)
      envelope_pass(&f[k * sk + j * sj], d[0], 1, spacing[0], e);
  for (std::int64_t k = 0; k < d[2]; ++k)  // along j
    for (std::int64_t i = 0; i < d[0]; ++i) envelope_pass(&f[k * sk + i], d[1], sj, spacing[1], e);
  for (std::int64_t j = 0; j < d[1]; ++j)  // along k
    for (std::int64_t i = 0; i < d[0]; ++i) envelope_pass(&f[j * sj + i], d[2], sk, spacing[2], e);
  return f;
}

double quantile_linear(std::vector<double>& values, double q) {
  if (values.empty()) return nan_value();
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double v_lo = values[lo];
  if (lo + 1 >= values.size()) return v_lo;
  // After nth_element everything past `lo` is >= v_lo, so the next order statistic is their min.
  const double v_hi =
      *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return v_lo + (v_hi - v_lo) * (pos - static_cast<double>(lo));
}

SurfaceMetrics surface_metrics(const std::uint8_t* pred, const std::uint8_t* ref, const Dims3& dims,
                               const Spacing3& spacing, double tolerance_mm) {
  return compute(
      pred, ref, [](std::uint8_t v) { return v != 0; }, dims, spacing, tolerance_mm);
}

SurfaceMetrics surface_metrics_for_label(const std::uint8_t* pred_labels,
                                         const std::uint8_t* ref_labels, std::uint8_t label,
                                         const Dims3& dims, const Spacing3& spacing,
                                         double tolerance_mm) {
  return compute(
      pred_labels, ref_labels, [label](std::uint8_t v) { return v == label; }, dims, spacing,
      tolerance_mm);
}

}  // namespace orch
