// ISBI 2015 MS phantom: skull-stripped brain MRI in the real data's MNI grid (181 x 217 x 181 mm
// from (-90, -126, -72) mm, RAS, spacing FOV / size), four channels and two rater masks per
// timepoint. Geometry is modelled in world millimetres, so it does not depend on the grid size:
//   brain    a deformed ellipsoid; outside it every channel is exactly 0, as in the _pp files;
//   CSF      a thin outer layer, sulci (zero-level sheets of a sum of plane waves, down to a fixed
//            depth), the interhemispheric fissure, butterfly-shaped lateral ventricles (tilted,
//            bent ellipsoids that enlarge slightly over time) and a slit-like third ventricle;
//   GM       a ribbon of fixed thickness along every CSF boundary, plus the thalami;
//   WM       the rest; lesions are ovoid, mostly periventricular and elongated away from the
//            ventricles (Dawson's fingers), in white matter, and persist and grow over time.
// Each structure's occupancy falls off over one voxel (partial volume); intensities mix the
// tissue means by occupancy, then a smooth multiplicative bias field and Rician noise are applied.
// Rater 1 marks lesion occupancy >= 0.5; rater 2 sees each lesion 12% smaller to 12% larger and
// sometimes misses a small one.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/datasets/isbi_ms/isbi_ms.h"
#include "datastore/formats/nifti.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {
// By name: this phantom's Grid (world millimetres) and Ellipsoid (oriented axes) are its own.
// occupancy(depth, h): of a structure at a signed depth (mm, > 0 inside), over one voxel.
using phantom::cross;
using phantom::dot;
using phantom::kTwoPi;
using phantom::norm;
using phantom::occupancy;
using phantom::unit_or;
using phantom::V3;

constexpr std::array<double, 3> kFov = {181.0, 217.0, 181.0};      // mm, the real 1 mm grid
constexpr std::array<double, 3> kOrigin = {-90.0, -126.0, -72.0};  // world of voxel (0, 0, 0)

enum Tissue { kCsf, kGm, kWm, kLesion };
// Mean intensity per channel (isbi_channels() order: flair, mprage, t2, pd) and tissue. Relative
// contrasts of clinical MS scans: FLAIR CSF dark, GM > WM, lesions bright; MPRAGE CSF dark,
// GM < WM, lesions hypointense; T2 CSF brightest, lesions bright; PD CSF bright, lesions bright.
// The MPRAGE and PD lesions stand further from GM and CSF than on clinical scans (200, not ~GM;
// 900, not ~CSF), so that the quick profile's few voxels per lesion can be learnt on every
// channel; FLAIR keeps the largest contrast to its surroundings, as the MS paper found.
constexpr double kIntensity[4][4] = {
    {60, 380, 300, 620}, {120, 420, 640, 200}, {950, 560, 400, 780}, {720, 640, 520, 900}};

// a / |a|, falling back to +z (the shared unit() falls back to +x).
V3 unit_z(V3 a) { return unit_or(a, V3{0, 0, 1}); }

struct Grid {
  std::array<int, 3> n{};
  std::array<double, 3> s{};  // spacing, mm
  double h = 1;               // partial-volume falloff width: the mean spacing
  std::int64_t size() const { return std::int64_t(n[0]) * n[1] * n[2]; }
  std::int64_t at(int i, int j, int k) const { return (std::int64_t(k) * n[1] + j) * n[0] + i; }
  V3 world(int i, int j, int k) const {
    return {kOrigin[0] + s[0] * i, kOrigin[1] + s[1] * j, kOrigin[2] + s[2] * k};
  }
  int first(int axis, double mm) const {
    return std::max(0, int(std::floor((mm - kOrigin[axis]) / s[axis])));
  }
  int last(int axis, double mm) const {
    return std::min(n[axis] - 1, int(std::ceil((mm - kOrigin[axis]) / s[axis])));
  }
};

// Depth below the surface of the truncated sheet {sheet distance < 0, depth < 0}: the distance to
// it outside, minus the smaller margin inside. Arguments: distances beyond each bound.
double beyond(double a, double b) { return (a > 0 && b > 0) ? std::hypot(a, b) : std::max(a, b); }

struct Ellipsoid {  // centre, semi-axes along the orthonormal axes e
  V3 c;
  std::array<double, 3> a{};
  std::array<V3, 3> e{V3{1, 0, 0}, V3{0, 1, 0}, V3{0, 0, 1}};
};

// Signed depth along the ray from the centre (mm, > 0 inside) of the ellipsoid scaled by `f`.
double depth(const Ellipsoid& el, V3 p, double f = 1.0) {
  const V3 d = p - el.c;
  const V3 q{dot(d, el.e[0]) / el.a[0], dot(d, el.e[1]) / el.a[1], dot(d, el.e[2]) / el.a[2]};
  const double l = norm(q) / f;
  return l < 1e-9 ? 1e9 : norm(d) * (1.0 / l - 1.0);
}

// A lateral ventricle: tilted in the coronal plane (the pair looks like a butterfly there), its
// ends bent downwards and its posterior half spreading laterally (the atria diverge).
struct Ventricle {
  V3 c;
  std::array<double, 3> a{};
  double cos_tilt = 1, sin_tilt = 0, bend = 0, splay = 0;
};

double depth(const Ventricle& v, V3 p, double f) {
  V3 d = p - v.c;
  d.z -= v.bend * d.y * d.y;
  d.x -= v.splay * std::max(0.0, -d.y);
  const double ct = v.cos_tilt, st = v.sin_tilt;
  const V3 r{ct * d.x - st * d.z, d.y, st * d.x + ct * d.z};
  const double l = norm(V3{r.x / v.a[0], r.y / v.a[1], r.z / v.a[2]}) / f;
  return l < 1e-9 ? 1e9 : norm(r) * (1.0 / l - 1.0);
}

struct Brain {
  V3 c, a;
  std::array<double, 3> d{};  // low-order shape deformation
};

double depth(const Brain& b, V3 p) {
  const V3 d = p - b.c;
  const V3 q{d.x / b.a.x, d.y / b.a.y, d.z / b.a.z};
  const double l = norm(q);
  if (l < 1e-9) return 1e9;
  const V3 u = q * (1.0 / l);
  const double below = std::min(0.0, u.z);
  const double shape = 1.0 + b.d[0] * u.x * u.y + b.d[1] * u.y * u.z + b.d[2] * u.y * u.y * u.y -
                       0.12 * below * below;  // flatter base
  return norm(d) * (shape / l - 1.0);
}

struct Wave {
  V3 w;  // wave vector, rad/mm
  double phase = 0;
};

struct Lesion {
  Ellipsoid shape;
  int onset = 0;        // first timepoint it shows on
  double growth = 0;    // relative growth per timepoint
  double contrast = 1;  // share of the lesion-to-WM contrast
};

struct Patient {
  int timepoints = 2;
  Brain brain;
  std::vector<Wave> folds;
  double sulcus_depth = 10, sulcus_half = 0.8, csf_layer = 1.4, gm = 2.7, fissure_z = 0;
  std::array<Ventricle, 2> vent;
  double vent_scale = 1;
  Ellipsoid third;
  std::array<Ellipsoid, 2> thalamus;
  std::vector<Lesion> lesions;
  double intensity[4][4] = {};
};

// Distance (mm) to the nearest zero of the fold field, first order: |g| / |grad g|.
double sulcus_distance(const std::vector<Wave>& folds, V3 p) {
  double g = 0, kmin = 1e9;
  V3 grad;
  for (const Wave& w : folds) {
    const double s = dot(w.w, p) + w.phase;
    g += std::sin(s);
    grad = grad + w.w * std::cos(s);
    kmin = std::min(kmin, norm(w.w));
  }
  return std::fabs(g) / std::max(norm(grad), 0.3 * kmin);
}

// Tissue fractions at p (within the brain occupancy `brain`); fractions sum to 1.
struct Mix {
  double brain = 0, csf = 1, gm = 0, wm = 0, vent = 0;
};

double ventricle_depth(const Patient& pt, V3 p, int t) {
  const double f = pt.vent_scale * (1.0 + 0.015 * t);  // slow atrophy
  return std::max({depth(pt.vent[0], p, f), depth(pt.vent[1], p, f), depth(pt.third, p, f)});
}

// Depth below the nearest CSF boundary outside the ventricles (mm).
double cortex_depth(const Patient& pt, double ds, V3 p) {
  double e = ds - pt.csf_layer;
  if (ds < pt.sulcus_depth + pt.gm + 3.0)
    e = std::min(e, beyond(sulcus_distance(pt.folds, p) - pt.sulcus_half, ds - pt.sulcus_depth));
  const double open = std::max(p.z - pt.fissure_z, std::fabs(p.y - pt.brain.c.y) - 45.0);
  return std::min(e, beyond(std::fabs(p.x - pt.brain.c.x) - 0.8, -open));
}

Mix anatomy(const Patient& pt, const Grid& g, V3 p, int t) {
  Mix m;
  const double ds = depth(pt.brain, p);
  m.brain = occupancy(ds, g.h);
  if (m.brain <= 0) return m;
  const double e = cortex_depth(pt, ds, p);
  const double tissue = occupancy(e, g.h), white = occupancy(e - pt.gm, g.h);
  const double deep = occupancy(std::max(depth(pt.thalamus[0], p), depth(pt.thalamus[1], p)), g.h);
  m.vent = occupancy(ventricle_depth(pt, p, t), g.h);
  m.wm = white * (1 - deep) * (1 - m.vent);
  m.gm = (tissue - white * (1 - deep)) * (1 - m.vent);
  m.csf = 1 - m.wm - m.gm;
  return m;
}

V3 uniform_in(Rng& rng, V3 c, V3 half) {
  return c + V3{rng.uniform(-half.x, half.x), rng.uniform(-half.y, half.y),
                rng.uniform(-half.z, half.z)};
}

// A lesion centre in white matter: near a ventricle (periventricular) or anywhere deep.
V3 lesion_centre(const Patient& pt, const Grid& g, Rng& rng, double r, bool periventricular) {
  const Ventricle& v = pt.vent[rng.below(2)];
  for (int tries = 0; tries < 400; ++tries) {
    const V3 p = periventricular ? uniform_in(rng, v.c, {18, 34, 18})
                                 : uniform_in(rng, pt.brain.c, pt.brain.a * 0.7);
    const double outside = -ventricle_depth(pt, p, 0);
    const double deep = std::max(depth(pt.thalamus[0], p), depth(pt.thalamus[1], p));
    if (outside < 0.3 * r + 0.5 || (periventricular && outside > r + 5.0) || deep > -1.0) continue;
    const Mix m = anatomy(pt, g, p, 0);
    if (m.brain >= 1 && m.wm >= 0.99 && cortex_depth(pt, depth(pt.brain, p), p) > pt.gm + r)
      return p;
  }
  return v.c + V3{0, 0, v.a[2] * pt.vent_scale + r + 1.5};  // above the ventricle's roof
}

Lesion draw_lesion(const Patient& pt, const Grid& g, Rng& rng, int onset) {
  const double lo = std::max(1.5, 0.8 * g.h), hi = std::max(5.0, 1.6 * lo);
  const double r = lo * std::pow(hi / lo, rng.uniform());
  const bool periventricular = rng.uniform() < 0.75;
  Lesion l;
  l.shape.c = lesion_centre(pt, g, rng, r, periventricular);
  V3 dir{rng.normal(), rng.normal(), rng.normal()};
  if (periventricular) {  // elongated away from the nearer ventricle
    const Ventricle& v =
        norm(l.shape.c - pt.vent[0].c) < norm(l.shape.c - pt.vent[1].c) ? pt.vent[0] : pt.vent[1];
    const V3 d = l.shape.c - v.c;
    dir = V3{d.x, 0.3 * d.y, d.z};
  }
  const V3 e0 = unit_z(dir),
           e1 = unit_z(cross(e0, std::fabs(e0.x) < 0.9 ? V3{1, 0, 0} : V3{0, 1, 0}));
  l.shape.e = {e0, e1, cross(e0, e1)};
  l.shape.a = {r * rng.uniform(1.2, 1.5), r * rng.uniform(0.8, 1.0), r * rng.uniform(0.8, 1.0)};
  l.onset = onset;
  l.growth = rng.uniform(-0.02, 0.08);
  l.contrast = rng.uniform(0.8, 1.1);
  return l;
}

void draw_anatomy(Patient& pt, Rng& rng) {
  const auto u = [&rng](double lo, double hi) { return rng.uniform(lo, hi); };
  Brain& b = pt.brain;
  b.c = {u(-2, 2), u(-20, -14), u(11, 17)};
  b.a = {u(64, 70), u(82, 88), u(58, 64)};
  for (double& d : b.d) d = u(-0.06, 0.06);
  for (int k = 0; k < 5; ++k) {
    const V3 dir = unit_z({rng.normal(), rng.normal(), rng.normal()});
    pt.folds.push_back({dir * (kTwoPi / u(16, 22)), u(0, kTwoPi)});
  }
  pt.sulcus_depth = u(10, 16);
  pt.sulcus_half = u(0.8, 1.3);
  pt.csf_layer = u(1.0, 1.8);
  pt.gm = u(2.4, 3.0);
  pt.fissure_z = b.c.z + u(16, 20);
  pt.vent_scale = u(0.85, 1.3);  // MS brains are often atrophic: larger ventricles
  const double tilt = u(0.35, 0.55), bend = u(-0.010, -0.006), splay = u(0.15, 0.3);
  for (int s : {0, 1}) {
    const double side = s == 0 ? -1.0 : 1.0;
    pt.vent[s] = {b.c + V3{side * u(8, 10), u(6, 10), u(2, 5)},
                  {u(5, 6), u(28, 32), u(9, 11)},
                  std::cos(tilt),
                  side * std::sin(tilt),
                  bend,
                  side * splay};
    pt.thalamus[s].c = b.c + V3{side * u(10, 12), u(-3, 0), u(-9, -7)};
    pt.thalamus[s].a = {u(6, 7.5), u(10, 12), u(7, 8.5)};
  }
  pt.third.c = b.c + V3{0, u(2, 4), u(-11, -9)};
  pt.third.a = {1.3, u(10, 12), u(6, 8)};
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 4; ++k) pt.intensity[c][k] = kIntensity[c][k] * (1 + 0.04 * rng.normal());
}

Patient draw_patient(const Grid& g, std::uint64_t seed) {
  Rng rng(seed);
  Patient pt;
  pt.timepoints = 2 + static_cast<int>(rng.below(4));
  draw_anatomy(pt, rng);
  const int n = 4 + static_cast<int>(rng.below(9));
  for (int l = 0; l < n; ++l) pt.lesions.push_back(draw_lesion(pt, g, rng, 0));
  if (pt.timepoints >= 3 && rng.uniform() < 0.6)  // a new lesion on a later scan
    pt.lesions.push_back(draw_lesion(pt, g, rng, 1 + int(rng.below(pt.timepoints - 1))));
  return pt;
}

// Lesion occupancy (largest over lesions), its contrast, and each rater's marking, at one time.
struct LesionFields {
  std::vector<float> occ, contrast;
  std::vector<std::uint8_t> rater1, rater2;
};

void raster_lesion(const Grid& g, const Lesion& l, double f, double f2, bool missed,
                   LesionFields& out) {
  const double m =
      *std::max_element(l.shape.a.begin(), l.shape.a.end()) * f * std::max(1.0, f2) + 2 * g.h;
  const V3 c = l.shape.c;
  for (int k = g.first(2, c.z - m); k <= g.last(2, c.z + m); ++k)
    for (int j = g.first(1, c.y - m); j <= g.last(1, c.y + m); ++j)
      for (int i = g.first(0, c.x - m); i <= g.last(0, c.x + m); ++i) {
        const std::int64_t n = g.at(i, j, k);
        const V3 p = g.world(i, j, k);
        const double o = occupancy(depth(l.shape, p, f), g.h);
        if (o > out.occ[n]) {
          out.occ[n] = float(o);
          out.contrast[n] = float(l.contrast);
        }
        if (o >= 0.5) out.rater1[n] = 1;
        if (!missed && occupancy(depth(l.shape, p, f * f2), g.h) >= 0.5) out.rater2[n] = 1;
      }
}

LesionFields lesion_fields(const Patient& pt, const Grid& g, int t, Rng& rng) {
  LesionFields out{std::vector<float>(g.size(), 0.f), std::vector<float>(g.size(), 0.f),
                   std::vector<std::uint8_t>(g.size(), 0), std::vector<std::uint8_t>(g.size(), 0)};
  const double small = 1.25 * std::max(1.5, 0.8 * g.h);
  for (const Lesion& l : pt.lesions) {
    const double f2 = rng.uniform(0.88, 1.12), miss = rng.uniform();  // drawn for every lesion
    if (t < l.onset) continue;
    const double f = (l.onset > 0 ? 0.75 : 1.0) * (1.0 + l.growth * (t - l.onset));
    const bool missed = l.shape.a[1] * f < small && miss < 0.5;
    raster_lesion(g, l, f, f2, missed, out);
  }
  return out;
}

struct Scan {  // per channel and timepoint
  double gain = 1, sigma = 0;
  std::array<double, 7> bias{};  // coefficients of x, y, z, x^2, y^2, z^2, xy (brain-normalised)
};

double bias(const Scan& s, const Brain& b, V3 p) {
  const V3 u{(p.x - b.c.x) / b.a.x, (p.y - b.c.y) / b.a.y, (p.z - b.c.z) / b.a.z};
  const std::array<double, 7> basis = {u.x, u.y, u.z, u.x * u.x, u.y * u.y, u.z * u.z, u.x * u.y};
  double e = 0;
  for (int i = 0; i < 7; ++i) e += s.bias[i] * basis[i];
  return s.gain * std::exp(e);
}

struct Images {
  std::array<std::vector<float>, 4> channel;
  std::vector<float> mask1, mask2;
};

Images compose(const Patient& pt, const Grid& g, int t, std::uint64_t seed) {
  Rng rng(Rng::derive(seed, 0));
  const LesionFields les = lesion_fields(pt, g, t, rng);
  std::array<Scan, 4> scans;
  std::vector<Rng> noise;
  for (int c = 0; c < 4; ++c) {
    scans[c].gain = rng.uniform(0.95, 1.05);
    scans[c].sigma = rng.uniform(0.015, 0.03) * pt.intensity[c][kWm];
    for (double& b : scans[c].bias) b = 0.04 * rng.normal();
    noise.emplace_back(Rng::derive(seed, 1 + c));
  }
  Images out;
  for (auto& ch : out.channel) ch.assign(g.size(), 0.f);
  out.mask1.assign(g.size(), 0.f);
  out.mask2.assign(g.size(), 0.f);
  for (int k = 0; k < g.n[2]; ++k)
    for (int j = 0; j < g.n[1]; ++j)
      for (int i = 0; i < g.n[0]; ++i) {
        const std::int64_t n = g.at(i, j, k);
        const V3 p = g.world(i, j, k);
        const Mix m = anatomy(pt, g, p, t);
        if (m.brain <= 0) continue;  // skull-stripped: exactly 0 outside the brain
        const double tissue = m.wm + m.gm;
        const double l = std::min<double>(les.occ[n], tissue);
        const double keep = tissue > 0 ? (tissue - l) / tissue : 0;
        const bool inside = m.brain >= 0.5 && m.vent < 0.5;
        out.mask1[n] = inside && les.rater1[n] ? 1.f : 0.f;
        out.mask2[n] = inside && les.rater2[n] ? 1.f : 0.f;
        for (int c = 0; c < 4; ++c) {
          const double* I = pt.intensity[c];
          const double lesion = I[kWm] + les.contrast[n] * (I[kLesion] - I[kWm]);
          const double s = m.brain * bias(scans[c], pt.brain, p) *
                           (m.csf * I[kCsf] + keep * (m.gm * I[kGm] + m.wm * I[kWm]) + l * lesion);
          const double re = s + scans[c].sigma * noise[c].normal();
          const double im = scans[c].sigma * noise[c].normal();
          out.channel[c][n] = float(std::sqrt(re * re + im * im));  // Rician magnitude
        }
      }
  return out;
}

Grid make_grid(const PhantomOptions& o) {
  Grid g;
  for (int a = 0; a < 3; ++a) {
    if (o.size[a] < 16 || o.size[a] > 512)
      throw Error("isbi_ms phantom: size must be 16..512 voxels along each axis, got " +
                  std::to_string(o.size[0]) + "x" + std::to_string(o.size[1]) + "x" +
                  std::to_string(o.size[2]));
    g.n[a] = o.size[a];
    g.s[a] = std::round(kFov[a] / o.size[a] * 1024.0) / 1024.0;
  }
  g.h = (g.s[0] + g.s[1] + g.s[2]) / 3.0;
  return g;
}

std::string two_digits(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

void write_timepoint(const std::filesystem::path& root, const Grid& g, const std::string& patient,
                     const std::string& tp, const Images& im) {
  const std::vector<std::int64_t> shape = {g.n[0], g.n[1], g.n[2]};
  Affine affine = identity_affine();
  for (int a = 0; a < 3; ++a) {
    affine[a][a] = g.s[a];
    affine[a][3] = kOrigin[a];
  }
  NiftiWriteOptions w;
  w.description = "orch phantom ISBI 2015 MS";
  for (int c = 0; c < 4; ++c)
    write_nifti(isbi_image_path(root, patient, tp, isbi_channels()[c]).string(), shape,
                im.channel[c], g.s, affine, w);
  w.dtype = "uint8";
  write_nifti(isbi_mask_path(root, patient, tp, 1).string(), shape, im.mask1, g.s, affine, w);
  write_nifti(isbi_mask_path(root, patient, tp, 2).string(), shape, im.mask2, g.s, affine, w);
}

}  // namespace

int write_isbi_ms_phantom(const std::filesystem::path& root, const PhantomOptions& options) {
  const Grid g = make_grid(options);
  if (options.cases < 1)
    throw Error("isbi_ms phantom: cases must be at least 1, got " + std::to_string(options.cases));
  int written = 0;
  ProgressTask progress = start_progress("phantom isbi_ms", options.cases, "patient");
  for (int p = 1; p <= options.cases; ++p) {
    const std::uint64_t seed = Rng::derive(options.seed, static_cast<std::uint64_t>(p));
    const Patient pt = draw_patient(g, Rng::derive(seed, 0));
    const std::string patient = isbi_patient(p);
    for (int t = 0; t < pt.timepoints; ++t) {
      const Images im = compose(pt, g, t, Rng::derive(seed, 1 + static_cast<std::uint64_t>(t)));
      write_timepoint(root, g, patient, two_digits(t + 1), im);
      ++written;
    }
    progress.advance();
  }
  progress.finish();
  return written;
}

}  // namespace orch
