// TOF-MRA phantom in the TopCoW layout: an axial slab through the head with a Circle-of-Willis
// loop (ICAs and basilar from below, A1/Acom/P1/Pcom around the circle) and its outflow (MCA, A2,
// P2, sometimes a third A2) growing distal branches until vessels fill a per-case 0.45-0.75% of
// the volume (under 1%, as in real TOF-MRA). Axes as an ITK-written LPS image stored in NIfTI:
// i towards the patient's left, j posterior, k superior; RAS affine diag(-sx, -sy, sz). Geometry
// is in the metric space of phantom/geometry.h, where zs = sz / sx keeps it physical. Spacing is
// a 180-230 mm field of view over ni voxels and a 60-100 mm slab over nk slices, so larger
// volumes approach TopCoW's sub-millimetre voxels. Intensities: dark air, bright scalp fat, dark
// skull and CSF, mid-grey brain with a mild texture, bright vessels that dim towards the top of
// the slab (inflow saturation); then a smooth multiplicative bias field and Rician noise.
// Vessel radii scale with the volume (1 voxel at 64 wide, up to 4), so the vessel fraction does
// not depend on the size. Labels are TopCoW segment values; distal branches inherit theirs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>

#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/datasets/mra/mra.h"
#include "datastore/formats/nifti.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {
using namespace phantom;

constexpr int kMaxSegments = 6000;

struct Head {  // elliptic cross-section narrowing superiorly; layer thicknesses in voxels
  double ci, cj, ai, aj, taper, scalp, skull, csf;
};

struct Wave {
  double amp, fi, fj, fk, phase;
};

struct Scene {
  Grid g;
  double Z = 1;  // metric height of the slab
  Head head{};
  double air = 0, fat = 0, bone = 0, csf = 0, brain = 0, vessel = 0, inflow_loss = 0, noise = 0;
  double bias_slope = 0, r0 = 1, target = 0.006;
  Wave bias[3]{}, texture[5]{};
};

struct Vessels {  // occupancy, segment label of the strongest capsule, labelled voxel count
  std::vector<float> occ;
  std::vector<std::uint8_t> seg;
  std::int64_t count = 0;
};

struct Tip {
  V3 p, dir;
  double r;
  std::uint8_t label;
};

double head_dist(const Head& h, double i, double j, int k, int nk) {  // voxels inside the skin
  const double s = 1.0 - h.taper * k / std::max(1, nk - 1);
  return ellipse_depth(i, j, h.ci, h.cj, h.ai, h.aj, s);
}

template <std::size_t N>
double waves(const Wave (&w)[N], const Grid& g, int i, int j, int k) {
  double sum = 0;
  for (const Wave& t : w)
    sum +=
        t.amp * std::sin(kTwoPi * (t.fi * i / g.ni + t.fj * j / g.nj + t.fk * k / g.nk) + t.phase);
  return sum;
}

void add_capsule(const Grid& g, Vessels& v, V3 a, V3 b, double ra, double rb, std::uint8_t label) {
  const double m = std::max(ra, rb) + 1.0;
  for_box(g, vmin(a, b) - V3{m, m, m}, vmax(a, b) + V3{m, m, m},
          [&](std::int64_t n, int i, int j, int k) {
            const float o = float(capsule_occupancy(g.metric(i, j, k), a, b, ra, rb));
            if (o <= v.occ[n]) return;
            if (o >= 0.5f) {
              v.count += v.occ[n] < 0.5f;
              v.seg[n] = label;
            }
            v.occ[n] = o;
          });
}

// Adds a polyline of capsules with radius r (at least one voxel).
void add_path(const Scene& s, Vessels& v, const std::vector<V3>& pts, double r,
              std::uint8_t label) {
  r = std::max(1.0, r);
  for (std::size_t n = 0; n + 1 < pts.size(); ++n)
    add_capsule(s.g, v, pts[n], pts[n + 1], r, r, label);
}

// The circle and its inflow and outflow; returns the growing tips of the outflow.
std::vector<Tip> add_circle(const Scene& s, Rng& rng, Vessels& v) {
  const Head& h = s.head;
  const double R = 0.22 * h.ai * rng.uniform(0.9, 1.1), zc = rng.uniform(0.3, 0.42) * s.Z;
  const V3 c{h.ci + rng.uniform(-0.04, 0.04) * h.ai, h.cj - rng.uniform(0.0, 0.1) * h.aj, zc};
  const double below = -zc / R - 0.3;           // under the slab
  auto P = [&](double x, double y, double z) {  // circle-relative point, jittered
    return c + V3{x + rng.uniform(-0.08, 0.08), y + rng.uniform(-0.08, 0.08),
                  z + rng.uniform(-0.08, 0.08)} *
                   R;
  };
  const double r0 = s.r0;
  const V3 tip_ba = P(0, 0.6, 0);
  add_path(s, v, {P(0, 1.0, below), P(0, 0.85, -0.8), tip_ba}, 0.9 * r0, 1);  // basilar
  std::vector<Tip> tips;
  V3 a1_end[2];
  for (int side : {-1, 1}) {  // -1: patient's right, +1: left
    const bool left = side > 0;
    const std::uint8_t ica = left ? 6 : 4, mca = left ? 7 : 5, pcom = left ? 9 : 8,
                       aca = left ? 12 : 11, pca = left ? 3 : 2;
    const V3 t = P(side * 0.8, -0.1, 0), j = P(side * 0.7, 0.7, 0.05);
    add_path(s, v,
             {P(side * 0.9, 0.1, below), P(side * 1.0, -0.5, -0.6), P(side * 0.85, -0.2, -0.25), t},
             r0, ica);
    add_path(s, v, {tip_ba, j}, 0.7 * r0, pca);  // P1
    add_path(s, v, {t, j}, 0.5 * r0, pcom);
    const V3 p2 = P(side * 1.5, 2.6, 0.4), m1 = P(side * 2.6, -0.1, 0.3);
    add_path(s, v, {j, P(side * 1.6, 1.7, 0.2), p2}, 0.65 * r0, pca);
    add_path(s, v, {t, P(side * 1.8, -0.3, 0.1), m1}, 0.85 * r0, mca);
    a1_end[left] = P(side * 0.25, -0.9, 0.05);
    const V3 a2 = P(side * 0.12, -2.6, 1.4);
    add_path(s, v, {t, a1_end[left]}, 0.65 * r0, aca);
    add_path(s, v, {a1_end[left], P(side * 0.15, -1.8, 0.6), a2}, 0.6 * r0, aca);
    tips.push_back({p2, unit(p2 - j), 0.55 * r0, pca});
    tips.push_back({m1, V3{double(side), 0, 0.3}, 0.7 * r0, mca});
    tips.push_back({a2, V3{0, -0.3, 1}, 0.5 * r0, aca});
  }
  add_path(s, v, {a1_end[0], a1_end[1]}, 0.5 * r0, 10);  // Acom
  if (rng.uniform() < 0.3) {                             // a third (median) A2 from the Acom
    const V3 from = (a1_end[0] + a1_end[1]) * 0.5, to = P(0, -2.7, 1.5);
    add_path(s, v, {from, P(0, -1.9, 0.7), to}, 0.5 * r0, 15);
    tips.push_back({to, V3{0, -0.2, 1}, 0.45 * r0, 15});
  }
  return tips;
}

bool in_brain(const Scene& s, V3 p) {
  const int k = int(std::lround(p.z / s.g.zs));
  if (k < 0 || k >= s.g.nk) return false;
  const Head& h = s.head;
  return head_dist(h, p.x, p.y, k, s.g.nk) > h.scalp + h.skull + h.csf + 1.5;
}

// Breadth-first distal branching from the outflow tips until the vessel target is reached.
void grow_branches(const Scene& s, Rng& rng, Vessels& v, std::vector<Tip> start) {
  std::deque<Tip> tips(start.begin(), start.end());
  const double target = s.target * double(s.g.size());
  const double step = 0.09 * s.head.ai;
  for (int n = 0; n < kMaxSegments && !tips.empty() && double(v.count) < target; ++n) {
    Tip t = tips.front();
    tips.pop_front();
    bool inside = true;
    for (int c = 0; c < 3 && inside && double(v.count) < target; ++c) {
      t.dir = unit(t.dir + random_unit(rng) * 0.35);
      V3 next = t.p + t.dir * (step * rng.uniform(0.7, 1.3));
      if (!in_brain(s, next)) {  // turn back towards the brain's axis and upwards, once
        const V3 axis{s.head.ci, s.head.cj, t.p.z};
        t.dir = unit(t.dir + unit(axis - t.p) * 0.8 + V3{0, 0, 0.3});
        next = t.p + t.dir * step;
      }
      inside = in_brain(s, next);
      if (!inside) break;
      const double r1 = std::max(1.0, t.r * 0.95);
      add_capsule(s.g, v, t.p, next, std::max(1.0, t.r), r1, t.label);
      t.p = next;
      t.r = r1;
    }
    if (!inside) continue;
    const V3 side = unit(cross(t.dir, random_unit(rng)));
    for (double sign : {-1.0, 1.0})
      tips.push_back({t.p, unit(t.dir + side * (sign * rng.uniform(0.5, 1.0))),
                      t.r * rng.uniform(0.75, 0.9), t.label});
  }
}

Scene draw_scene(const Grid& grid, Rng& rng) {
  Scene s;
  s.g = grid;
  const auto u = [&rng](double lo, double hi) { return rng.uniform(lo, hi); };
  s.head = {grid.ni * (0.5 + u(-0.02, 0.02)),
            grid.nj * (0.5 + u(-0.02, 0.02)),
            grid.ni * u(0.34, 0.39),
            grid.nj * u(0.41, 0.46),
            u(0.05, 0.15),
            std::max(1.0, grid.ni * u(0.02, 0.03)),
            std::max(1.0, grid.ni * u(0.02, 0.03)),
            std::max(0.8, grid.ni * u(0.008, 0.015))};
  s.air = u(0, 5);
  s.fat = u(280, 380);
  s.bone = u(30, 60);
  s.csf = u(60, 100);
  s.brain = u(180, 240);
  s.vessel = u(650, 1000);
  s.inflow_loss = u(0.1, 0.3);
  s.noise = u(8, 15);
  s.bias_slope = u(-0.15, 0.15);
  for (Wave& w : s.bias) w = {u(0.03, 0.07), u(0.2, 0.8), u(0.2, 0.8), u(0.1, 0.5), u(0, kTwoPi)};
  for (Wave& w : s.texture)  // random orientations, so that the sum is blotchy, not striped
    w = {u(0.02, 0.04), u(-8, 8), u(-8, 8), u(-4, 4), u(0, kTwoPi)};
  s.r0 = std::min(4.0, std::max(1.0, grid.ni / 64.0 * u(1.0, 1.2)));
  s.target = u(0.0045, 0.0075);
  return s;
}

void draw_geometry(Scene& s, Rng& rng, std::array<double, 3>& spacing, Affine& affine) {
  const Grid& g = s.g;
  const double sx = std::round(rng.uniform(180, 230) / g.ni * 1024) / 1024;
  const double sz = std::round(rng.uniform(60, 100) / g.nk * 1024) / 1024;
  spacing = {sx, sx, sz};
  s.g.zs = sz / sx;
  s.Z = g.nk * s.g.zs;
  const double x0 = std::round((sx * (g.ni - 1) / 2 + rng.uniform(-8, 8)) * 64) / 64;
  const double y0 = std::round((sx * (g.nj - 1) / 2 + rng.uniform(-15, 5)) * 64) / 64;
  const double z0 = -std::round(rng.uniform(20, 50) * 64) / 64;
  affine = {{{-sx, 0, 0, x0}, {0, -sx, 0, y0}, {0, 0, sz, z0}, {0, 0, 0, 1}}};
}

// Noise-free TOF intensity of voxel n.
double intensity(const Scene& s, const Vessels& v, std::int64_t n, int i, int j, int k) {
  const Head& h = s.head;
  const double d = head_dist(h, i, j, k, s.g.nk);
  double x = s.air + (s.fat - s.air) * clamp01(d + 0.5);
  x += (s.bone - x) * clamp01(d - h.scalp + 0.5);
  x += (s.csf - x) * clamp01(d - h.scalp - h.skull + 0.5);
  const double brain = s.brain * (1.0 + waves(s.texture, s.g, i, j, k));
  x += (brain - x) * clamp01(d - h.scalp - h.skull - h.csf + 0.5);
  const double vessel = s.vessel * (1.0 - s.inflow_loss * k / std::max(1, s.g.nk - 1));
  x += (vessel - x) * v.occ[n];
  return x * (1.0 + s.bias_slope * (double(k) / s.g.nk - 0.5) + waves(s.bias, s.g, i, j, k));
}

void check_options(const PhantomOptions& o) {
  const auto& z = o.size;
  if (z[0] < 32 || z[1] < 32 || z[2] < 8 || z[0] > 1024 || z[1] > 1024 || z[2] > 1024)
    throw Error("mra phantom: size must be from 32x32x8 to 1024x1024x1024 voxels, got " +
                std::to_string(z[0]) + "x" + std::to_string(z[1]) + "x" + std::to_string(z[2]));
  if (o.cases < 1)
    throw Error("mra phantom: cases must be at least 1, got " + std::to_string(o.cases));
}

std::string case_id(int id) {  // 3 digits like TopCoW, wider when needed
  char buf[32];
  std::snprintf(buf, sizeof buf, "topcow_mr_%03d", id);
  return buf;
}

}  // namespace

MraPhantomCase make_mra_case(const PhantomOptions& options, int id) {
  check_options(options);
  const std::uint64_t seed = Rng::derive(options.seed, static_cast<std::uint64_t>(id));
  Rng rng(seed);
  const Grid grid{options.size[0], options.size[1], options.size[2], 1.0};
  MraPhantomCase out;
  Scene s = draw_scene(grid, rng);
  draw_geometry(s, rng, out.image.spacing, out.image.affine);
  Vessels v{std::vector<float>(grid.size(), 0.0f), std::vector<std::uint8_t>(grid.size(), 0), 0};
  grow_branches(s, rng, v, add_circle(s, rng, v));
  out.image.dims = {grid.ni, grid.nj, grid.nk};
  out.image.data.resize(grid.size());
  Rng noise(Rng::derive(seed, 1));
  for_box(s.g, {0, 0, 0}, s.g.whole(), [&](std::int64_t n, int i, int j, int k) {
    const double x = intensity(s, v, n, i, j, k);
    const double re = x + s.noise * noise.normal(), im = s.noise * noise.normal();  // Rician
    out.image.data[n] = float(std::min(32767.0, std::round(std::sqrt(re * re + im * im))));
  });
  out.label = std::move(v.seg);
  return out;
}

int write_mra_phantom(const std::filesystem::path& root, const PhantomOptions& options) {
  check_options(options);
  for (const char* dir : {"imagesTr", "cow_seg_labelsTr"})
    std::filesystem::create_directories(root / dir);
  NiftiWriteOptions w;
  w.description = "orch phantom TopCoW MR";
  ProgressTask progress = start_progress("phantom mra", options.cases, "case");
  for (int id = 1; id <= options.cases; ++id) {
    const MraPhantomCase c = make_mra_case(options, id);
    const Volume& v = c.image;
    const std::vector<std::int64_t> shape(v.dims.begin(), v.dims.end());
    w.dtype = "int16";
    write_nifti((root / "imagesTr" / (case_id(id) + "_0000.nii.gz")).string(), shape, v.data,
                v.spacing, v.affine, w);
    w.dtype = "uint8";
    const std::vector<float> label(c.label.begin(), c.label.end());
    write_nifti((root / "cow_seg_labelsTr" / (case_id(id) + ".nii.gz")).string(), shape, label,
                v.spacing, v.affine, w);
    progress.advance();
  }
  progress.finish();
  return options.cases;
}

}  // namespace orch
