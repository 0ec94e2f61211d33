// Geometry helpers shared by the phantom generators (datasets/<kind>/phantom.cpp): constants,
// 3-vectors, a voxel grid with a "metric" z stretch, bounded box iteration, elliptic sections and
// partial-volume occupancies. An occupancy is in [0, 1], falls off over about one voxel across a
// surface (partial volume) and its 0.5 level is the label boundary.
//
// The phantoms' bytes depend on every expression here: keep each one's operands and their order
// as they are, and add a separately named function for a variant rather than changing one.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "common/rng.h"

namespace orch::phantom {

constexpr double kPi = 3.141592653589793;
constexpr double kTwoPi = 6.283185307179586;

struct V3 {
  double x = 0, y = 0, z = 0;
};
inline V3 operator+(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline V3 operator-(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline V3 operator*(V3 a, double s) { return {a.x * s, a.y * s, a.z * s}; }
inline double dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline double norm(V3 a) { return std::sqrt(dot(a, a)); }
inline V3 cross(V3 a, V3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
// a / |a|, or `fallback` when a is (nearly) zero.
inline V3 unit_or(V3 a, V3 fallback) {
  const double n = norm(a);
  return n > 1e-12 ? a * (1.0 / n) : fallback;
}
inline V3 unit(V3 a) { return unit_or(a, V3{1, 0, 0}); }
inline V3 vmin(V3 a, V3 b) { return {std::min(a.x, b.x), std::min(a.y, b.y), std::min(a.z, b.z)}; }
inline V3 vmax(V3 a, V3 b) { return {std::max(a.x, b.x), std::max(a.y, b.y), std::max(a.z, b.z)}; }
inline double clamp01(double v) { return std::min(1.0, std::max(0.0, v)); }
inline double lerp(double a, double b, double t) { return a + (b - a) * t; }
inline V3 random_unit(Rng& rng) { return unit({rng.normal(), rng.normal(), rng.normal()}); }

// Occupancy at a signed depth (> 0 inside, any unit) below a surface, falling off over `width`
// (one voxel, in the same unit): 0.5 on the surface.
inline double occupancy(double depth, double width) { return clamp01(depth / width + 0.5); }

// Approximate depth (> 0 inside, in the units of the semi-axes) of (x, y) below the edge of the
// ellipse with centre (cx, cy) and semi-axes (ax, ay), both scaled by s: exact on a circle.
inline double ellipse_depth(double x, double y, double cx, double cy, double ax, double ay,
                            double s = 1.0) {
  const double dx = (x - cx) / (ax * s), dy = (y - cy) / (ay * s);
  return (1.0 - std::sqrt(dx * dx + dy * dy)) * std::min(ax, ay) * s;
}

// Voxel grid in NIfTI memory order; metric coordinates are (i, j, k * zs).
struct Grid {
  int ni = 0, nj = 0, nk = 0;
  double zs = 1;  // metric units per slice
  std::int64_t size() const { return std::int64_t(ni) * nj * nk; }
  std::int64_t at(int i, int j, int k) const { return (std::int64_t(k) * nj + j) * ni + i; }
  V3 metric(int i, int j, int k) const { return {double(i), double(j), k * zs}; }
  V3 whole() const { return {ni - 1.0, nj - 1.0, (nk - 1.0) * zs}; }
};

// Calls fn(index, i, j, k) for every voxel whose metric position lies in the box [lo, hi].
template <typename Fn>
void for_box(const Grid& g, V3 lo, V3 hi, Fn&& fn) {
  auto first = [](double v, int n) { return std::max(0, std::min(n, int(std::floor(v)))); };
  auto last = [](double v, int n) { return std::max(-1, std::min(n - 1, int(std::ceil(v)))); };
  for (int k = first(lo.z / g.zs, g.nk); k <= last(hi.z / g.zs, g.nk); ++k)
    for (int j = first(lo.y, g.nj); j <= last(hi.y, g.nj); ++j)
      for (int i = first(lo.x, g.ni); i <= last(hi.x, g.ni); ++i) fn(g.at(i, j, k), i, j, k);
}

// Occupancy of a tapered capsule from a (radius ra) to b (radius rb) at metric point p.
inline double capsule_occupancy(V3 p, V3 a, V3 b, double ra, double rb) {
  const V3 ab = b - a;
  const double t = clamp01(dot(p - a, ab) / std::max(1e-12, dot(ab, ab)));
  return clamp01(ra + (rb - ra) * t - norm(p - (a + ab * t)) + 0.5);
}

// An ellipsoid (centre c, semi-axes a, metric units) with a smooth low-order angular deformation
// d (each coefficient about +-0.15 keeps it convex-looking). level() is < 1 inside, 1 on the
// surface; occupancy() turns that into a ~1 voxel partial-volume ramp.
struct Ellipsoid {
  V3 c, a;
  std::array<double, 4> d{};

  double level(V3 p) const {
    const V3 q{(p.x - c.x) / a.x, (p.y - c.y) / a.y, (p.z - c.z) / a.z};
    const double r = norm(q);
    if (r < 1e-9) return 0.0;
    const V3 u = q * (1.0 / r);
    return r /
           (1.0 + d[0] * u.x * u.y + d[1] * u.x * u.z + d[2] * u.y * u.z + d[3] * u.x * u.x * u.x);
  }
  double occupancy(V3 p) const {
    return clamp01((1.0 - level(p)) * std::min(a.x, std::min(a.y, a.z)) + 0.5);
  }
  V3 lo() const {  // bounding box, with room for the deformation and the ramp
    const double s = 1.0 + std::fabs(d[0]) + std::fabs(d[1]) + std::fabs(d[2]) + std::fabs(d[3]);
    return c - V3{a.x * s + 1.5, a.y * s + 1.5, a.z * s + 1.5};
  }
  V3 hi() const { return c + (c - lo()); }
};

inline std::array<double, 4> random_deformation(Rng& rng, double amount) {
  std::array<double, 4> d{};
  for (double& v : d) v = rng.uniform(-amount, amount);
  return d;
}

}  // namespace orch::phantom
