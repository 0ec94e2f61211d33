// BTCV phantom: a portal-venous abdominal CT slab with the 13 labelled organs at their anatomical
// places. Axes as in a DICOM-converted axial CT: i towards the patient's left, j posterior, k
// superior; RAS affine diag(-sx, -sy, sz). Generation happens in the metric space of
// phantom/geometry.h; anatomy is placed in body coordinates: u = (i - ci) / ai (+1 at the left
// flank), v = (j - cj) / aj (+1 at the back) and zf = fraction of the slab's metric height Z.
// Every position, size and shape is jittered per case. Structures are painted in a fixed order
// (bone and muscle, then the organs, small ones last), each blending its HU in by its occupancy
// and taking the label where the occupancy reaches 0.5, so a later organ overrides an earlier one.
// Small structures get minimum radii in voxels so that every label is present at 64x64x24.
// The written spacing is a real CT's (0.6-1.0 mm, scaled by 512 / ni in-plane; 2.5-5 mm slices);
// the anatomy is compressed in z to fit the slab, as in the hepatic phantom.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/datasets/btcv/btcv.h"
#include "datastore/formats/nifti.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {
using namespace phantom;

struct Body {  // elliptic cross-section gently varying in k, fat rim, muscular wall
  double ci, cj, ai, aj, wobble, phase, rim, wall, fat_hu, muscle_hu;
};

struct Capsule {
  V3 a, b;
  double ra, rb;
};

struct Organ {
  std::uint8_t label = 0;  // 0: unlabelled tissue (bone, muscle)
  double hu = 0;
  std::vector<Ellipsoid> blobs;
  std::vector<Capsule> tubes;
  bool has_core = false;  // an inner tissue: kidney medulla, stomach gas, cancellous bone
  Ellipsoid core;
  double core_hu = 0;
};

struct Wave {  // one term of the smooth visceral fat / bowel mixture
  double fi, fj, fk, phase;
};

struct Anatomy {
  Grid g;
  double Z = 1;  // metric height of the slab
  Body body{};
  std::vector<Organ> organs;  // in painting order
  Wave waves[5]{};
  double visceral_fat_hu = -90, bowel_hu = 30, noise = 10;
};

double body_dist(const Body& b, double i, double j, int k, int nk) {  // ~voxels inside the skin
  const double s = 1.0 + b.wobble * std::sin(kTwoPi * k / nk + b.phase);
  return ellipse_depth(i, j, b.ci, b.cj, b.ai, b.aj, s);
}

// Places structures in body coordinates with per-case jitter; sizes have minimum voxel extents.
class Placer {
 public:
  Placer(const Anatomy& a, Rng& rng) : b_(a.body), Z_(a.Z), zs_(a.g.zs), rng_(rng) {}

  V3 at(double u, double v, double zf, double jitter = 0.04) {
    return {b_.ci + (u + rng_.uniform(-jitter, jitter)) * b_.ai,
            b_.cj + (v + rng_.uniform(-jitter, jitter)) * b_.aj,
            (zf + 0.75 * rng_.uniform(-jitter, jitter)) * Z_};
  }
  double radius(double su, double min_vox = 1.3) {  // su in units of ai
    return std::max({min_vox, 0.5 * zs_ + 0.2, su * b_.ai * rng_.uniform(0.85, 1.15)});
  }
  Ellipsoid blob(V3 c, double su, double sv, double sz, double deform = 0.15) {
    const double min_z = std::max(1.3, 0.7 * zs_);
    const V3 a{std::max(1.3, su * b_.ai * rng_.uniform(0.85, 1.15)),
               std::max(1.3, sv * b_.aj * rng_.uniform(0.85, 1.15)),
               std::max(min_z, sz * Z_ * rng_.uniform(0.85, 1.15))};
    return {c, a, random_deformation(rng_, deform)};
  }
  // A tube through `points` with radius r0 at the first and r1 at the last.
  std::vector<Capsule> tube(const std::vector<V3>& points, double r0, double r1) {
    std::vector<Capsule> out;
    const double n = double(points.size() - 1);
    for (std::size_t s = 0; s + 1 < points.size(); ++s)
      out.push_back(
          {points[s], points[s + 1], r0 + (r1 - r0) * s / n, r0 + (r1 - r0) * (s + 1) / n});
    return out;
  }
  double hu(double lo, double hi) { return rng_.uniform(lo, hi); }
  Rng& rng() { return rng_; }

 private:
  const Body& b_;
  double Z_, zs_;
  Rng& rng_;
};

Organ organ(std::uint8_t label, double hu) {
  Organ o;
  o.label = label;
  o.hu = hu;
  return o;
}

// Vertebra, spinal canal, spinous process, paraspinal muscles, psoas and lower ribs. Returns the
// front (anterior j) of the vertebral body, which the aorta and IVC lie against.
double add_musculoskeletal(Anatomy& an, Placer& p) {
  const Body& b = an.body;
  const double muscle = b.muscle_hu, r_s = p.radius(0.12, 2.0);
  const V3 s = p.at(0, 0.5, 0, 0.03);
  const double top = 1.15 * an.Z, bottom = -0.15 * an.Z;
  for (int side : {-1, 1}) {
    Organ m = organ(0, muscle + p.hu(-5, 5));
    m.blobs.push_back(p.blob(V3{s.x + side * 0.22 * b.ai, s.y + r_s + 0.12 * b.ai, 0.5 * an.Z},
                             0.14, 0.16, 0.9, 0.1));
    m.blobs.push_back(p.blob(V3{s.x + side * 0.17 * b.ai, s.y - 0.2 * r_s, 0.1 * an.Z}, 0.08, 0.11,
                             0.35, 0.1));  // psoas, lower abdomen
    an.organs.push_back(m);
  }
  Organ bone = organ(0, p.hu(600, 800));
  bone.tubes = {{{s.x, s.y, bottom}, {s.x, s.y, top}, r_s, r_s}};
  bone.has_core = true;  // cancellous bone inside a cortical shell
  bone.core = {s, {r_s * 0.75, r_s * 0.75, 2 * an.Z}, {}};
  bone.core_hu = p.hu(180, 260);
  const double jc = s.y + r_s + 0.06 * b.ai;
  bone.blobs.push_back(
      {{s.x, jc + 0.12 * b.ai, 0.5 * an.Z}, {0.035 * b.ai + 1, 0.07 * b.ai, an.Z}, {}});
  for (int side : {-1, 1})  // lower ribs around the upper abdomen
    for (double theta : {0.9, 1.4, 1.9, 2.4}) {
      const double u = side * std::sin(theta) * 0.84, v = std::cos(theta) * 0.84;
      const V3 c = p.at(u, v, 0, 0.01);
      bone.tubes.push_back(
          {{c.x, c.y, 0.45 * an.Z}, {c.x, c.y, top}, p.radius(0.03, 1.0), p.radius(0.03, 1.0)});
    }
  an.organs.push_back(bone);
  Organ canal = organ(0, p.hu(10, 25));  // painted over bone: cerebrospinal fluid
  canal.tubes = {{{s.x, jc, bottom}, {s.x, jc, top}, 0.06 * b.ai + 0.5, 0.06 * b.ai + 0.5}};
  an.organs.push_back(canal);
  return s.y - r_s;
}

struct Placed {  // positions later organs refer to
  double spine_front, aorta_u, ivc_u;
  V3 kidney[2];
};

void add_solid_organs(Anatomy& an, Placer& p, Placed& at) {
  Organ liver = organ(6, p.hu(60, 105));
  liver.blobs.push_back(p.blob(p.at(-0.45, -0.05, 0.68), 0.42, 0.6, 0.32));
  liver.blobs.push_back(p.blob(p.at(0.05, -0.5, 0.78), 0.33, 0.28, 0.18));  // left lobe
  Organ spleen = organ(1, liver.hu + p.hu(5, 20));
  spleen.blobs.push_back(p.blob(p.at(0.62, 0.25, 0.66), 0.17, 0.32, 0.2, 0.2));
  Organ stomach = organ(7, p.hu(10, 35));  // contents and wall, labelled as a whole
  stomach.blobs.push_back(p.blob(p.at(0.3, -0.25, 0.68), 0.25, 0.27, 0.2, 0.2));
  const Ellipsoid& st = stomach.blobs[0];
  stomach.has_core = true;  // gas rises anteriorly in a supine patient
  stomach.core = {st.c - V3{0, st.a.y * 0.45, -st.a.z * 0.2}, st.a * 0.55, {}};
  stomach.core_hu = -900;
  an.organs.insert(an.organs.end(), {liver, spleen, stomach});
  for (int side : {-1, 1}) {  // right kidney (label 2) sits lower than the left (3)
    Organ kidney = organ(side < 0 ? 2 : 3, p.hu(150, 200));
    at.kidney[side > 0] = p.at(side * 0.4, 0.38, side < 0 ? 0.3 : 0.36);
    kidney.blobs.push_back(p.blob(at.kidney[side > 0], 0.14, 0.2, 0.2, 0.1));
    const Ellipsoid& e = kidney.blobs[0];
    kidney.has_core = true;  // medulla and sinus, towards the medial hilum
    kidney.core = {e.c - V3{side * e.a.x * 0.3, 0, 0}, e.a * 0.5, {}};
    kidney.core_hu = p.hu(60, 110);
    an.organs.push_back(kidney);
  }
  Organ gall = organ(4, p.hu(5, 25));  // bile, under the liver's anterior-inferior edge
  gall.blobs.push_back(p.blob(p.at(-0.28, -0.45, 0.45), 0.11, 0.15, 0.12, 0.1));
  Organ pancreas = organ(11, p.hu(70, 100));
  const double head = p.radius(0.09), tail = p.radius(0.05);  // sequenced: one Rng stream
  pancreas.tubes = p.tube({p.at(-0.12, 0.0, 0.45, 0.03), p.at(0.02, -0.05, 0.48, 0.03),
                           p.at(0.25, 0.05, 0.52, 0.03), p.at(0.48, 0.15, 0.56, 0.03)},
                          head, tail);
  an.organs.insert(an.organs.end(), {gall, pancreas});
}

void add_vessels_and_small_organs(Anatomy& an, Placer& p, Placed& at) {
  const Body& b = an.body;
  const double top = 1.15 * an.Z, bottom = -0.15 * an.Z;
  Organ portal = organ(10, p.hu(140, 180));  // splenic vein -> confluence -> portal vein
  const double r_splenic = p.radius(0.035, 1.2), r_portal = p.radius(0.045, 1.2);
  portal.tubes = p.tube(
      {p.at(0.5, 0.22, 0.58, 0.02), p.at(0.25, 0.13, 0.52, 0.02), p.at(0.0, 0.07, 0.48, 0.02),
       p.at(-0.22, -0.05, 0.62, 0.02), p.at(-0.35, -0.05, 0.66, 0.02)},
      r_splenic, r_portal);
  const double r_a = p.radius(0.065, 1.5), r_i = p.radius(0.065, 1.5);
  const double ja = at.spine_front - r_a - 1.0, ji = at.spine_front - r_i * 0.9;
  const double ua = b.ci + p.hu(0.03, 0.09) * b.ai, ui = b.ci - p.hu(0.14, 0.2) * b.ai;
  Organ ivc = organ(9, p.hu(110, 150));
  ivc.tubes = {{{ui, ji, bottom}, {ui + p.hu(-1, 1), ji - 0.05 * b.aj, top}, r_i, r_i}};
  Organ aorta = organ(8, p.hu(140, 200));
  aorta.tubes = {{{ua, ja, bottom}, {ua - 0.02 * b.ai, ja, top}, r_a, r_a * 1.05}};
  Organ eso = organ(5, p.hu(35, 50));  // through the hiatus, anterior-left of the aorta
  const double r_e = p.radius(0.05, 1.4);
  eso.tubes = p.tube({V3{ua - 0.04 * b.ai, ja - r_a - r_e - 0.5, top}, p.at(0.05, 0.12, 0.85, 0.02),
                      p.at(0.16, -0.02, 0.74, 0.02)},
                     r_e, r_e);
  an.organs.insert(an.organs.end(), {portal, ivc, aorta, eso});
  for (int side : {-1, 1}) {  // adrenals above and medial to each kidney
    Organ adrenal = organ(side < 0 ? 12 : 13, p.hu(25, 45));
    const V3 k = at.kidney[side > 0];
    const double u = side < 0 ? -0.3 : 0.22, v = side < 0 ? 0.36 : 0.3;
    adrenal.blobs.push_back(p.blob(p.at(u, v, k.z / an.Z + 0.22, 0.015), 0.045, 0.13, 0.07, 0.05));
    an.organs.push_back(adrenal);
  }
}

void draw_geometry(const Grid& g, Rng& rng, std::array<double, 3>& spacing, Affine& affine) {
  const double sx = std::round(rng.uniform(0.6, 1.0) * 512.0 / g.ni * 512.0) / 512.0;
  const double sz = std::array<double, 3>{2.5, 3.0, 5.0}[rng.below(3)];
  spacing = {sx, sx, sz};
  const double x0 = std::round((sx * (g.ni - 1) / 2 + rng.uniform(-10, 10)) * 64) / 64;
  const double y0 = std::round((sx * (g.nj - 1) / 2 + rng.uniform(-20, 20)) * 64) / 64;
  const double z0 = -sz * std::round(rng.uniform(30.0, 120.0));
  affine = {{{-sx, 0, 0, x0}, {0, -sx, 0, y0}, {0, 0, sz, z0}, {0, 0, 0, 1}}};
}

Anatomy draw_anatomy(const Grid& grid, Rng& rng) {
  Anatomy an;
  an.g = grid;
  const auto u = [&rng](double lo, double hi) { return rng.uniform(lo, hi); };
  Body& b = an.body;
  b = {grid.ni * (0.5 + u(-0.02, 0.02)),
       grid.nj * (0.5 + u(-0.02, 0.04)),
       grid.ni * u(0.42, 0.46),
       grid.nj * u(0.32, 0.37),
       u(0.01, 0.03),
       u(0, kTwoPi),
       std::max(1.2, grid.ni * u(0.02, 0.035)),
       std::max(1.0, grid.ni * u(0.012, 0.02)),
       u(-115, -90),
       u(40, 55)};
  // The slab's metric height: about 0.75 of the body's width, the abdomen's proportions.
  an.g.zs = std::min(8.0, std::max(1.0, 1.5 * b.ai / grid.nk));
  an.Z = grid.nk * an.g.zs;
  for (Wave& w : an.waves)  // random orientations, so that the mix is blotchy, not striped
    w = {u(-4.5, 4.5), u(-4.5, 4.5), u(-2.0, 2.0), u(0, kTwoPi)};
  an.visceral_fat_hu = u(-100, -70);
  an.bowel_hu = u(20, 45);
  an.noise = u(8, 15);
  Placer p(an, rng);
  Placed at{};
  at.spine_front = add_musculoskeletal(an, p);
  add_solid_organs(an, p, at);
  add_vessels_and_small_organs(an, p, at);
  return an;
}

// HU without organs: air, subcutaneous fat, muscular wall, then a smooth visceral fat / bowel mix.
double background_hu(const Anatomy& an, int i, int j, int k) {
  const Body& b = an.body;
  const double d = body_dist(b, i, j, k, an.g.nk);
  double mix = 0.5;
  for (const Wave& w : an.waves)
    mix += 0.16 * std::sin(kTwoPi * (w.fi * i / an.g.ni + w.fj * j / an.g.nj + w.fk * k / an.g.nk) +
                           w.phase);
  const double visceral = an.visceral_fat_hu + (an.bowel_hu - an.visceral_fat_hu) * clamp01(mix);
  double hu = -1000.0 + (b.fat_hu + 1000.0) * clamp01(d + 0.5);
  hu += (b.muscle_hu - hu) * clamp01(d - b.rim + 0.5);
  return hu + (visceral - hu) * clamp01(d - b.rim - b.wall + 0.5);
}

// Blends one organ into hu/label: occupancy = max over its parts, limited to inside the body.
void paint(const Anatomy& an, const Organ& o, std::vector<float>& scratch, std::vector<float>& hu,
           std::vector<std::uint8_t>& label) {
  const Grid& g = an.g;
  V3 lo = g.whole(), hi{0, 0, 0};
  for (const Ellipsoid& e : o.blobs) {
    lo = vmin(lo, e.lo());
    hi = vmax(hi, e.hi());
    for_box(g, e.lo(), e.hi(), [&](std::int64_t n, int i, int j, int k) {
      scratch[n] = std::max(scratch[n], float(e.occupancy(g.metric(i, j, k))));
    });
  }
  for (const Capsule& c : o.tubes) {
    const double m = std::max(c.ra, c.rb) + 1.0;
    const V3 clo = vmin(c.a, c.b) - V3{m, m, m}, chi = vmax(c.a, c.b) + V3{m, m, m};
    lo = vmin(lo, clo);
    hi = vmax(hi, chi);
    for_box(g, clo, chi, [&](std::int64_t n, int i, int j, int k) {
      scratch[n] =
          std::max(scratch[n], float(capsule_occupancy(g.metric(i, j, k), c.a, c.b, c.ra, c.rb)));
    });
  }
  const Body& b = an.body;
  for_box(g, lo, hi, [&](std::int64_t n, int i, int j, int k) {
    double w = scratch[n];
    scratch[n] = 0.0f;
    if (w <= 0.0) return;
    w = std::min(w, clamp01(body_dist(b, i, j, k, g.nk) - b.rim - 0.5));
    if (w <= 0.0) return;
    double v = hu[n] + (o.hu - hu[n]) * w;
    if (o.has_core) v += (o.core_hu - v) * w * o.core.occupancy(g.metric(i, j, k));
    hu[n] = float(v);
    if (w >= 0.5) label[n] = o.label;
  });
}

void check_options(const PhantomOptions& o) {
  const auto& z = o.size;
  if (z[0] < 32 || z[1] < 32 || z[2] < 8 || z[0] > 1024 || z[1] > 1024 || z[2] > 1024)
    throw Error("btcv phantom: size must be from 32x32x8 to 1024x1024x1024 voxels, got " +
                std::to_string(z[0]) + "x" + std::to_string(z[1]) + "x" + std::to_string(z[2]));
}

std::string number4(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", n);
  return buf;
}

}  // namespace

std::vector<int> btcv_phantom_numbers(int cases) {
  if (cases < 1 || cases > 50)
    throw Error("btcv phantom: cases must be 1..50 (30 real labelled cases, then 0041-0060), got " +
                std::to_string(cases));
  const BtcvLists& l = btcv_lists();
  auto in = [](const std::vector<int>& v, int n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  // Groups by (synapse part, monai part), visited round-robin: synapse-train/monai-train first.
  std::vector<int> groups[4];
  for (int n : l.monai_train) groups[in(l.synapse_train, n) ? 0 : 2].push_back(n);
  for (int n : l.monai_val) groups[in(l.synapse_train, n) ? 3 : 1].push_back(n);
  std::vector<int> order;
  for (std::size_t r = 0; order.size() < 30; ++r)
    for (const auto& gr : groups)
      if (r < gr.size()) order.push_back(gr[r]);
  for (int n = 41; n <= 60; ++n) order.push_back(n);
  order.resize(static_cast<std::size_t>(cases));
  std::sort(order.begin(), order.end());
  return order;
}

BtcvPhantomCase make_btcv_case(const PhantomOptions& options, int number) {
  check_options(options);
  const std::uint64_t seed = Rng::derive(options.seed, static_cast<std::uint64_t>(number));
  Rng rng(seed);
  const Grid grid{options.size[0], options.size[1], options.size[2], 1.0};
  BtcvPhantomCase out;
  out.image.dims = {grid.ni, grid.nj, grid.nk};
  draw_geometry(grid, rng, out.image.spacing, out.image.affine);
  const Anatomy an = draw_anatomy(grid, rng);
  std::vector<float>& hu = out.image.data;
  hu.resize(grid.size());
  out.label.assign(grid.size(), 0);
  for_box(grid, {0, 0, 0}, grid.whole(),
          [&](std::int64_t n, int i, int j, int k) { hu[n] = float(background_hu(an, i, j, k)); });
  std::vector<float> scratch(grid.size(), 0.0f);
  for (const Organ& o : an.organs) paint(an, o, scratch, hu, out.label);
  Rng noise(Rng::derive(seed, 1));
  for (float& v : hu)
    v = float(std::min(3071.0, std::max(-1024.0, std::round(v + an.noise * noise.normal()))));
  return out;
}

int write_btcv_phantom(const std::filesystem::path& root, const PhantomOptions& options) {
  check_options(options);
  const std::vector<int> numbers = btcv_phantom_numbers(options.cases);
  const std::filesystem::path raw = root / "RawData";
  for (const char* dir : {"Training/img", "Training/label", "Testing/img"})
    std::filesystem::create_directories(raw / dir);
  NiftiWriteOptions w;
  w.description = "orch phantom BTCV";
  const auto write = [&](int number, bool labelled) {
    const BtcvPhantomCase c = make_btcv_case(options, number);
    const Volume& v = c.image;
    const std::vector<std::int64_t> shape(v.dims.begin(), v.dims.end());
    const std::string part = labelled ? "Training" : "Testing";
    w.dtype = "int16";
    write_nifti((raw / part / "img" / ("img" + number4(number) + ".nii.gz")).string(), shape,
                v.data, v.spacing, v.affine, w);
    if (!labelled) return;
    w.dtype = "uint8";
    const std::vector<float> label(c.label.begin(), c.label.end());
    write_nifti((raw / "Training/label" / ("label" + number4(number) + ".nii.gz")).string(), shape,
                label, v.spacing, v.affine, w);
  };
  const int tests = std::max(1, options.cases / 5);
  ProgressTask progress =
      start_progress("phantom btcv", static_cast<std::int64_t>(numbers.size()) + tests, "case");
  for (int n : numbers) {
    write(n, true);
    progress.advance();
  }
  for (int t = 0; t < tests; ++t) {
    write(61 + t, false);
    progress.advance();
  }
  progress.finish();
  return static_cast<int>(numbers.size());
}

}  // namespace orch
