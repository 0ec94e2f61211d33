// York cardiac phantom: short-axis cine MR stacks in the layout of the York release. Each patient
// has 20 frames over one cycle and 8-15 slices from base (k = 0) to apex. Every structure is a
// polygon: LV endo- and epicardium (the very 32-point contours written to the segmentation file),
// the RV and the atria as ellipse polygons, body and lungs. A pixel's intensity blends the
// structures by their coverage (4x4 supersampling), so edges carry partial volume and the
// contour-derived label (pixel centres inside epi minus endo) is exactly where the dark wall is.
// The cycle: end diastole at frame 1, end systole near frame 8-9; the cavity shrinks while the
// myocardial area is conserved, so the wall thickens at systole. The ring tapers toward the
// apex. Slices above the contoured base show atria (blood without an LV wall), slices past the
// apex show none, and both are stored as -99999 like the real files' uncontoured cells. The image
// is class double with integer values (magnitude MR, 0 to about 500). The real files' class and
// range are unverified: public loaders read sol_yxzt without a cast, and the release's show_segs
// example displays it with a maximum of 500.
#include <matio.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "common/fs.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/datasets/york_cardiac/york_cardiac.h"
#include "datastore/formats/polygon.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
using Polygon = std::vector<std::array<double, 2>>;
using phantom::kPi;
using phantom::lerp;

constexpr int kFrames = 20;
constexpr int kPoints = 32;
constexpr int kSuper = 4;  // supersampling per axis for partial-volume coverage
// Fixed header text: matio's default would embed the creation date and break determinism.
constexpr const char* kHeader =
    "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: orch phantom (synthetic York cardiac MRI)";

struct Patient {
  int nx = 0, ny = 0, nz = 0;
  int first = 0, last = 0;     // contoured slices [first, last], base to apex
  bool base_drop = false;      // the basal contour is missing at systole (base moves down)
  double cx = 0, cy = 0;       // LV centre at end diastole, 0-based pixels
  double sx = 0, sy = 0;       // centre shift at end systole
  double dzx = 0, dzy = 0;     // centre drift per slice (oblique long axis)
  double epi0 = 0, wall0 = 0;  // basal epicardial radius and wall thickness at diastole
  double squeeze = 0;          // fraction of the cavity radius lost at systole
  double systole = 8;          // frame (0-based) of end systole
  double theta0 = 0, a2 = 0, p2 = 0, a3 = 0, p3 = 0;  // start angle and shape harmonics
  double rv_angle = kPi, rv_len = 0, rv_width = 0;    // RV direction and ellipse semi-axes / E
  double blood = 0, myo = 0, tissue = 0, fat = 0, lung = 0, noise = 0, bias_x = 0, bias_y = 0;
};

Patient draw_patient(const PhantomOptions& o, Rng& rng) {
  const auto u = [&rng](double lo, double hi) { return rng.uniform(lo, hi); };
  Patient p;
  p.nx = o.size[0];
  p.ny = o.size[1];
  const int base = std::clamp(o.size[2], 8, 15);
  p.nz = std::clamp(base - static_cast<int>(rng.below(3)), 8, 15);
  p.first = static_cast<int>(rng.below(2));
  p.last = p.nz - 2 - static_cast<int>(rng.below(2));
  p.base_drop = rng.uniform() < 0.5;
  const double m = std::min(p.nx, p.ny);
  p.cx = p.nx * u(0.53, 0.58);
  p.cy = p.ny * u(0.45, 0.53);
  p.sx = m * u(-0.015, 0.015);
  p.sy = m * u(0.0, 0.02);
  p.dzx = m * u(-0.006, 0.006);
  p.dzy = m * u(-0.006, 0.006);
  p.epi0 = m * u(0.11, 0.135);
  p.wall0 = p.epi0 * u(0.28, 0.36);
  p.squeeze = u(0.25, 0.35);
  p.systole = u(7.0, 9.0);
  p.theta0 = u(0.0, 2 * kPi);
  p.a2 = u(0.0, 0.06), p.p2 = u(0.0, 2 * kPi), p.a3 = u(0.0, 0.03), p.p3 = u(0.0, 2 * kPi);
  p.rv_angle = kPi + u(-0.45, 0.15);
  p.rv_len = u(0.55, 0.7), p.rv_width = u(1.1, 1.3);
  p.blood = u(380, 470), p.myo = u(110, 150), p.tissue = u(180, 230), p.fat = u(320, 380);
  p.lung = u(25, 45), p.noise = u(8, 14), p.bias_x = u(-0.2, 0.2), p.bias_y = u(-0.2, 0.2);
  return p;
}

// Contraction in [0, 1]: 0 at end diastole (frame 0), 1 at end systole, cosine-shaped phases.
double contraction(const Patient& p, int t) {
  if (t <= p.systole) return 0.5 * (1 - std::cos(kPi * t / p.systole));
  return 0.5 * (1 + std::cos(kPi * (t - p.systole) / (kFrames - p.systole)));
}

Polygon ellipse(double cx, double cy, double a, double b, double angle, int n) {
  Polygon pts;
  for (int i = 0; i < n; ++i) {
    const double th = 2 * kPi * i / n, x = a * std::cos(th), y = b * std::sin(th);
    pts.push_back({cx + x * std::cos(angle) - y * std::sin(angle),
                   cy + x * std::sin(angle) + y * std::cos(angle)});
  }
  return pts;
}

// Fraction of each pixel inside a polygon, over the polygon's bounding box.
struct Coverage {
  int x0 = 0, y0 = 0, w = 0, h = 0;
  std::vector<float> f;
  float at(int x, int y) const {
    x -= x0, y -= y0;
    return x < 0 || y < 0 || x >= w || y >= h ? 0.0f : f[static_cast<std::size_t>(y) * w + x];
  }
};

Coverage coverage(const Polygon& poly, int nx, int ny) {
  Coverage c;
  if (poly.size() < 3) return c;
  double lo[2] = {1e9, 1e9}, hi[2] = {-1e9, -1e9};
  for (const auto& q : poly)
    for (int d = 0; d < 2; ++d) lo[d] = std::min(lo[d], q[d]), hi[d] = std::max(hi[d], q[d]);
  c.x0 = std::max(0, static_cast<int>(std::floor(lo[0])) - 1);
  c.y0 = std::max(0, static_cast<int>(std::floor(lo[1])) - 1);
  c.w = std::min(nx - 1, static_cast<int>(std::ceil(hi[0])) + 1) - c.x0 + 1;
  c.h = std::min(ny - 1, static_cast<int>(std::ceil(hi[1])) + 1) - c.y0 + 1;
  if (c.w <= 0 || c.h <= 0) return Coverage{};
  // Sub-pixel (s, r) of pixel (x, y) has its centre at x + (s + 0.5) / kSuper - 0.5.
  Polygon fine;
  for (const auto& q : poly)
    fine.push_back({kSuper * (q[0] - c.x0 + 0.5) - 0.5, kSuper * (q[1] - c.y0 + 0.5) - 0.5});
  const int fw = c.w * kSuper, fh = c.h * kSuper;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(fw) * fh, 0);
  fill_polygon(fine, fw, fh, 1, mask);
  c.f.assign(static_cast<std::size_t>(c.w) * c.h, 0.0f);
  for (int y = 0; y < fh; ++y)
    for (int x = 0; x < fw; ++x)
      c.f[static_cast<std::size_t>(y / kSuper) * c.w + x / kSuper] +=
          mask[static_cast<std::size_t>(y) * fw + x] / float(kSuper * kSuper);
  return c;
}

// One (slice, frame): what is drawn, and the contours written for it.
struct SliceGeom {
  bool contoured = false;
  Polygon endo, epi;             // the LV contours (0-based pixel centres) when contoured
  Polygon rv, rv_outer;          // RV blood and RV blood + free wall (empty: none)
  Polygon atrium, atrium_outer;  // atrial blood above the base (empty: none)
};

Polygon lv_contour(const Patient& p, double cx, double cy, double r, double harmonics, Rng& rng) {
  Polygon pts;
  for (int i = 0; i < kPoints; ++i) {
    const double th = p.theta0 + 2 * kPi * i / kPoints;
    const double shape =
        1 + harmonics * (p.a2 * std::cos(2 * th + p.p2) + p.a3 * std::cos(3 * th + p.p3));
    const double rr = r * shape * (1 + 0.015 * rng.uniform(-1, 1));  // tracing jitter
    pts.push_back({cx + rr * std::cos(th), cy - rr * std::sin(th)});
  }
  return pts;
}

SliceGeom slice_geometry(const Patient& p, int z, int t, Rng& rng) {
  SliceGeom g;
  const double c = contraction(p, t);
  const double cx = p.cx + p.sx * c + p.dzx * z, cy = p.cy + p.sy * c + p.dzy * z;
  const double u = std::clamp(double(z - p.first) / std::max(1, p.last - p.first), 0.0, 1.0);
  const double e0 = p.epi0 * std::sqrt(1 - 0.64 * u * u);  // ellipsoidal taper to the apex
  const double d0 = std::max(0.45 * e0, e0 - p.wall0);
  const double d = d0 * (1 - p.squeeze * c);
  const double e = std::sqrt(d * d + e0 * e0 - d0 * d0);  // conserved myocardial area
  const bool above_base = z < p.first || (z == p.first && p.base_drop && c > 0.75);
  const double rv_scale = (1 - 0.9 * u * u) * (1 - 0.2 * c);
  const double rvc = e * 0.85, ra = e * p.rv_len * rv_scale, rb = e * p.rv_width * rv_scale;
  const double rx = cx + rvc * std::cos(p.rv_angle), ry = cy + rvc * std::sin(p.rv_angle);
  if (z <= p.last) {
    const double wall = std::max(0.8, 0.12 * e);
    g.rv = ellipse(rx, ry, ra, rb, p.rv_angle, 48);
    g.rv_outer = ellipse(rx, ry, ra + wall, rb + wall, p.rv_angle, 48);
  }
  if (above_base) {
    g.atrium = ellipse(cx, cy - 0.1 * e, e * 0.95, e * 0.85, p.theta0, 48);
    g.atrium_outer = ellipse(cx, cy - 0.1 * e, e * 1.05, e * 0.95, p.theta0, 48);
  } else if (z <= p.last) {
    g.contoured = true;
    g.endo = lv_contour(p, cx, cy, d, 1.0, rng);
    g.epi = lv_contour(p, cx, cy, e, 0.5, rng);
  }
  return g;
}

// Patient-wide structures: body outline, its fat rim and the lungs.
struct Torso {
  Coverage body, inner, lungs[2];
};

Torso make_torso(const Patient& p) {
  const double bx = p.nx * 0.5, by = p.ny * 0.5, m = std::min(p.nx, p.ny);
  const double ax = p.nx * 0.47, ay = p.ny * 0.41, rim = std::max(1.0, 0.03 * m);
  Torso s;
  s.body = coverage(ellipse(bx, by, ax, ay, 0, 96), p.nx, p.ny);
  s.inner = coverage(ellipse(bx, by, ax - rim, ay - rim, 0, 96), p.nx, p.ny);
  for (int side = 0; side < 2; ++side)
    s.lungs[side] = coverage(
        ellipse(p.nx * (side ? 0.84 : 0.17), by, p.nx * 0.12, p.ny * 0.27, 0, 64), p.nx, p.ny);
  return s;
}

// Renders slice geometry `g` into `out` (column-major ny x nx, as sol_yxzt stores a slice).
void render_slice(const Patient& p, const Torso& s, const SliceGeom& g, Rng& noise, double* out) {
  const Coverage rv = coverage(g.rv, p.nx, p.ny), rvo = coverage(g.rv_outer, p.nx, p.ny);
  const Coverage at = coverage(g.atrium, p.nx, p.ny), ato = coverage(g.atrium_outer, p.nx, p.ny);
  const Coverage epi = coverage(g.epi, p.nx, p.ny), endo = coverage(g.endo, p.nx, p.ny);
  for (int x = 0; x < p.nx; ++x) {
    for (int y = 0; y < p.ny; ++y) {
      double v = lerp(0.0, p.fat, s.body.at(x, y));
      v = lerp(v, p.tissue, s.inner.at(x, y));
      v = lerp(v, p.lung, std::max(s.lungs[0].at(x, y), s.lungs[1].at(x, y)) * s.inner.at(x, y));
      v = lerp(v, p.myo * 1.1, rvo.at(x, y));
      v = lerp(v, p.blood * 0.93, rv.at(x, y));
      v = lerp(v, p.tissue * 0.9, ato.at(x, y));
      v = lerp(v, p.blood * 0.97, at.at(x, y));
      v = lerp(v, p.myo, epi.at(x, y));
      v = lerp(v, p.blood, endo.at(x, y));
      v *= 1 + p.bias_x * (double(x) / p.nx - 0.5) + p.bias_y * (double(y) / p.ny - 0.5);
      const double re = v + p.noise * noise.normal(), im = p.noise * noise.normal();
      out[static_cast<std::size_t>(x) * p.ny + y] = std::round(std::hypot(re, im));  // Rician
    }
  }
}

// The 65x2 cell of a contoured slice, column-major, 1-based x (column) and y (row).
std::vector<double> contour_cell(const SliceGeom& g) {
  std::vector<double> cell(2 * (2 * kPoints + 1), 0.0);  // row 33 stays [0 0]
  for (int i = 0; i < kPoints; ++i) {
    for (int d = 0; d < 2; ++d) {
      cell[d * (2 * kPoints + 1) + i] = g.endo[i][d] + 1.0;
      cell[d * (2 * kPoints + 1) + kPoints + 1 + i] = g.epi[i][d] + 1.0;
    }
  }
  return cell;
}

struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using VarPtr = std::unique_ptr<matvar_t, VarFreer>;

void write_mat(const fs::path& path, matvar_t* var) {
  write_atomic_with(path, [var](const fs::path& tmp) {
    mat_t* mat = Mat_CreateVer(tmp.string().c_str(), kHeader, MAT_FT_MAT5);
    if (!mat) throw Error(tmp.string() + ": cannot create a MATLAB 5 file");
    const int written = Mat_VarWrite(mat, var, MAT_COMPRESSION_NONE);
    const int closed = Mat_Close(mat);
    if (written != 0 || closed != 0)
      throw Error(tmp.string() + ": cannot write variable '" + var->name + "'");
  });
}

// Writes patient n's two files; returns the number of frames with a contour.
int write_patient(const fs::path& root, const PhantomOptions& o, int n) {
  const std::uint64_t seed = Rng::derive(o.seed, static_cast<std::uint64_t>(n));
  Rng rng(seed), noise(Rng::derive(seed, 1));
  const Patient p = draw_patient(o, rng);
  const Torso torso = make_torso(p);
  const std::size_t slice = static_cast<std::size_t>(p.nx) * p.ny;
  std::vector<double> image(slice * p.nz * kFrames);
  std::size_t cell_dims[2] = {static_cast<std::size_t>(p.nz), kFrames};
  VarPtr cells(
      Mat_VarCreate("manual_seg_32points", MAT_C_CELL, MAT_T_CELL, 2, cell_dims, nullptr, 0));
  int frames = 0;
  for (int t = 0; t < kFrames; ++t) {
    bool any = false;
    for (int z = 0; z < p.nz; ++z) {
      const SliceGeom g = slice_geometry(p, z, t, rng);
      render_slice(p, torso, g, noise, image.data() + slice * (z + std::size_t(p.nz) * t));
      std::vector<double> cell = g.contoured ? contour_cell(g) : std::vector<double>{-99999.0};
      std::size_t dims[2] = {g.contoured ? std::size_t(2 * kPoints + 1) : 1,
                             g.contoured ? std::size_t(2) : 1};
      Mat_VarSetCell(cells.get(), z + p.nz * t,
                     Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, cell.data(), 0));
      any = any || g.contoured;
    }
    frames += any;
  }
  std::size_t image_dims[4] = {static_cast<std::size_t>(p.ny), static_cast<std::size_t>(p.nx),
                               static_cast<std::size_t>(p.nz), kFrames};
  const VarPtr img(Mat_VarCreate("sol_yxzt", MAT_C_DOUBLE, MAT_T_DOUBLE, 4, image_dims,
                                 image.data(), MAT_F_DONT_COPY_DATA));
  const std::string pat = "pat" + std::to_string(n);
  write_mat(root / ("sol_yxzt_" + pat + ".mat"), img.get());
  write_mat(root / ("manual_seg_32points_" + pat + ".mat"), cells.get());
  return frames;
}

}  // namespace

int write_york_cardiac_phantom(const fs::path& root, const PhantomOptions& options) {
  const auto& z = options.size;
  if (z[0] < 32 || z[1] < 32 || z[0] > 512 || z[1] > 512)
    throw Error("york phantom: in-plane size must be from 32x32 to 512x512, got " +
                std::to_string(z[0]) + "x" + std::to_string(z[1]));
  if (options.cases < 1)
    throw Error("york phantom: cases must be at least 1, got " + std::to_string(options.cases));
  fs::create_directories(root);
  int labelled = 0;
  ProgressTask progress = start_progress("phantom york_cardiac", options.cases, "patient");
  for (int n = 1; n <= options.cases; ++n) {
    labelled += write_patient(root, options, n);
    progress.advance();
  }
  progress.finish();
  return labelled;
}

}  // namespace orch
