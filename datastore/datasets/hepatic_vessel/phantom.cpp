// Hepatic-vessel phantom: an abdominal CT-like slab with a liver, a vessel tree and tumours.
// Geometry lives in a "metric" voxel space p = (i, j, k * zs): in-plane units are voxels and zs
// stretches slices so that the liver is roughly isotropic there (a generation device only; the
// written spacing is an independent, plausible CT spacing). Axes as in a DICOM-converted axial CT:
// i towards the patient's left (liver at small i), j posterior (spine at large j), k superior;
// RAS affine diag(-sx, -sy, sz). Each structure is an occupancy in [0, 1] that falls off over about
// one voxel (partial volume) and its label is the 0.5 level. Intensities blend body -> liver ->
// vessel -> tumour, vessels and tumours only inside the liver, so tumour overrides vessel. The tree
// grows breadth-first until vessels cover a per-case 3-4.5% of the liver, at any volume size.
#include "datastore/datasets/hepatic_vessel/hepatic_vessel.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/formats/nifti.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {
using namespace phantom;

constexpr int kMaxSegments = 20000;

struct Body {  // elliptic axial cross-section with a subcutaneous fat rim, gently varying in k
  double ci, cj, ai, aj, wobble, phase, rim, tissue_hu, fat_hu;
};
struct Disc {  // a cylinder along k: spine, aorta
  double ci, cj, r, hu;
};
struct Liver : Ellipsoid {  // a deformed ellipsoid in metric space; level() < 1 inside
  double hu = 0;
};
struct Blob {  // tumour: ellipsoid in metric space
  V3 c, a;
};

struct Params {
  Grid g;
  std::array<double, 3> spacing{};
  Affine affine = identity_affine();
  Body body{};
  Disc spine{}, aorta{};
  Liver liver{};
  std::vector<Blob> tumours;
  double tumour_hu = 50, vessel_hu = 200, vessel_r0 = 3, vessel_target = 0.04, noise = 15;
};

struct Fields {  // occupancies in [0, 1], NIfTI memory order
  std::vector<float> liver, vessel, tumour;
};

double body_dist(const Body& b, double i, double j, int k, int nk) {  // ~voxels inside
  const double s = 1.0 + b.wobble * std::sin(kTwoPi * k / nk + b.phase);
  return ellipse_depth(i, j, b.ci, b.cj, b.ai, b.aj, s);
}

double disc_weight(const Disc& d, double i, double j) {
  return clamp01(d.r - std::hypot(i - d.ci, j - d.cj) + 0.5);
}

void draw_body(Params& p, Rng& rng) {
  const Grid& g = p.g;
  const auto u = [&rng](double lo, double hi) { return rng.uniform(lo, hi); };
  p.body = {g.ni * (0.5 + u(-0.02, 0.02)),
            g.nj * (0.5 + u(-0.02, 0.04)),
            g.ni * u(0.42, 0.47),
            g.nj * u(0.33, 0.39),
            u(0.01, 0.04),
            u(0.0, kTwoPi),
            std::max(1.5, g.ni * u(0.02, 0.035)),
            u(35.0, 50.0),
            u(-110.0, -90.0)};
  const double m = std::min(g.ni, g.nj), ra = m * u(0.03, 0.04);
  p.spine = {p.body.ci, p.body.cj + p.body.aj * u(0.6, 0.68), m * u(0.05, 0.065), u(400, 700)};
  p.aorta = {p.body.ci + g.ni * u(0.03, 0.06), p.spine.cj - p.spine.r - ra - 1.5, ra, u(140, 180)};
}

void draw_liver(Params& p, Rng& rng) {
  Grid& g = p.g;
  const double ai = g.ni * rng.uniform(0.19, 0.24), aj = g.nj * rng.uniform(0.22, 0.28);
  const double ak = g.nk * rng.uniform(0.3, 0.4);  // slices
  g.zs = std::min(8.0, std::max(1.0, ai / ak));
  Liver& l = p.liver;
  l.c = {g.ni * (0.5 - rng.uniform(0.14, 0.2)), g.nj * (0.47 + rng.uniform(-0.04, 0.04)),
         g.nk * rng.uniform(0.45, 0.58) * g.zs};
  l.a = {ai, aj, ak * g.zs};
  l.d = random_deformation(rng, 0.12);
  l.hu = rng.uniform(95.0, 108.0);
}

V3 point_in_liver(const Liver& l, Rng& rng, double max_level) {
  for (int tries = 0; tries < 64; ++tries) {
    const V3 u{rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)};
    const V3 p = l.c + V3{u.x * l.a.x, u.y * l.a.y, u.z * l.a.z} * max_level;
    if (l.level(p) < max_level) return p;
  }
  return l.c;
}

void draw_lesions(Params& p, Rng& rng) {
  const double scale = std::min(3.0, std::max(0.5, std::min(p.g.ni, p.g.nj) / 96.0));
  const int n = 1 + static_cast<int>(rng.below(3));
  for (int t = 0; t < n; ++t) {
    const double r = rng.uniform(3.0, 8.0) * scale;
    const V3 a{r, r * rng.uniform(0.8, 1.2), r * rng.uniform(0.8, 1.2)};
    p.tumours.push_back({point_in_liver(p.liver, rng, 0.6), a});
  }
  p.tumour_hu = rng.uniform(40.0, 60.0);
  p.vessel_hu = rng.uniform(185.0, 220.0);
  p.vessel_r0 = rng.uniform(2.6, 3.2);
  p.vessel_target = rng.uniform(0.03, 0.045);
  p.noise = rng.uniform(12.0, 20.0);
}

void draw_geometry(Params& p, Rng& rng) {
  const Grid& g = p.g;
  const double sx = std::round(rng.uniform(0.7, 0.9) * 512.0) / 512.0;  // FOV / 512 like a scanner
  const double sz = std::array<double, 3>{2.5, 3.0, 5.0}[rng.below(3)];
  p.spacing = {sx, sx, sz};
  const double x0 = std::round((sx * (g.ni - 1) / 2 + rng.uniform(-10, 10)) * 64) / 64;
  const double y0 = std::round((sx * (g.nj - 1) / 2 + rng.uniform(-20, 20)) * 64) / 64;
  const double z0 = -sz * std::round(rng.uniform(30.0, 120.0));
  p.affine = {{{-sx, 0, 0, x0}, {0, -sx, 0, y0}, {0, 0, sz, z0}, {0, 0, 0, 1}}};
}

double liver_weight(const Params& p, int i, int j, int k) {
  const Liver& l = p.liver;
  const double level = l.level(p.g.metric(i, j, k));
  double w = clamp01((1.0 - level) * std::min(l.a.x, l.a.y) + 0.5);
  if (w <= 0.0) return 0.0;
  w = std::min(w, clamp01(body_dist(p.body, i, j, k, p.g.nk) - p.body.rim - 1.0));
  w = std::min(w, 1.0 - disc_weight(p.spine, i, j));
  return std::min(w, 1.0 - disc_weight(p.aorta, i, j));
}

void raster_tumour(const Grid& g, const Blob& b, std::vector<float>& w) {
  const double m = std::max(b.a.x, std::max(b.a.y, b.a.z)) + 1.0;
  const double rmin = std::min(b.a.x, std::min(b.a.y, b.a.z));
  for_box(g, b.c - V3{m, m, m}, b.c + V3{m, m, m}, [&](std::int64_t n, int i, int j, int k) {
    const V3 q{(i - b.c.x) / b.a.x, (j - b.c.y) / b.a.y, (k * g.zs - b.c.z) / b.a.z};
    w[n] = std::max(w[n], float(clamp01((1.0 - norm(q)) * rmin + 0.5)));
  });
}

// Adds a tapered capsule to the vessel field; returns how many voxels newly became vessel label
// (inside the liver, outside tumours).
std::int64_t raster_capsule(const Grid& g, Fields& f, V3 a, V3 b, double ra, double rb) {
  const double m = std::max(ra, rb) + 1.0;
  const V3 lo = vmin(a, b) - V3{m, m, m}, hi = vmax(a, b) + V3{m, m, m};
  std::int64_t added = 0;
  for_box(g, lo, hi, [&](std::int64_t n, int i, int j, int k) {
    const float v = float(capsule_occupancy(g.metric(i, j, k), a, b, ra, rb));
    if (v <= f.vessel[n]) return;
    if (f.vessel[n] < 0.5f && v >= 0.5f && f.liver[n] >= 0.5f && f.tumour[n] < 0.5f) ++added;
    f.vessel[n] = v;
  });
  return added;
}

struct Tip {
  V3 p, dir;
  double r;
  int gen;
};

// Grows one branch of a few bending capsules; false when it left the liver.
bool grow_branch(const Params& p, Fields& f, Rng& rng, Tip& t, std::int64_t& count) {
  const Liver& l = p.liver;
  const double mean_a = (l.a.x + l.a.y + l.a.z) / 3.0;
  const double step = std::max(1.5, mean_a * rng.uniform(0.25, 0.4) * std::pow(0.85, t.gen)) / 3;
  for (int s = 0; s < 3; ++s) {
    t.dir = unit(t.dir + random_unit(rng) * 0.25);
    V3 next = t.p + t.dir * step;
    if (l.level(next) > 0.75) {
      t.dir = unit(t.dir + unit(l.c - t.p) * 0.5);
      next = t.p + t.dir * step;
    }
    if (l.level(next) > 0.95) return false;
    const double r1 = std::max(1.0, t.r * 0.97);
    count += raster_capsule(p.g, f, t.p, next, t.r, r1);
    t.p = next;
    t.r = r1;
  }
  return true;
}

void branch(const Tip& t, Rng& rng, std::deque<Tip>& tips) {
  const int n = rng.uniform() < 0.8 ? 2 : 3;
  const V3 helper = std::fabs(t.dir.x) < 0.9 ? V3{1, 0, 0} : V3{0, 1, 0};
  const V3 e1 = unit(cross(t.dir, helper)), e2 = cross(t.dir, e1);
  const double phi0 = rng.uniform(0.0, kTwoPi);
  for (int c = 0; c < n; ++c) {
    const double theta = rng.uniform(0.35, 0.8), phi = phi0 + c * kTwoPi / n;
    const V3 side = e1 * std::cos(phi) + e2 * std::sin(phi);
    const V3 dir = unit(t.dir * std::cos(theta) + side * std::sin(theta));
    tips.push_back({t.p, dir, std::max(1.0, t.r * rng.uniform(0.72, 0.86)), t.gen + 1});
  }
}

Tip root(const Liver& l, Rng& rng, V3 offset, V3 dir, double r) {
  V3 p = l.c + V3{offset.x * l.a.x, offset.y * l.a.y, offset.z * l.a.z};
  while (l.level(p) > 0.8) p = l.c + (p - l.c) * 0.9;
  return {p, unit(dir + random_unit(rng) * 0.3), r, 0};
}

void grow_vessels(const Params& p, Fields& f, Rng& rng, std::int64_t liver_voxels) {
  const Liver& l = p.liver;
  std::deque<Tip> tips;  // portal vein from the hilum, a hepatic vein towards the cava
  tips.push_back(root(l, rng, {0.5, 0.1, -0.25}, {-1, 0, 0.3}, p.vessel_r0));
  tips.push_back(root(l, rng, {0.4, 0.35, 0.45}, {-0.6, -0.5, -0.6}, p.vessel_r0 * 0.85));
  const double target = p.vessel_target * double(liver_voxels);
  std::int64_t count = 0;
  for (int s = 0; s < kMaxSegments && double(count) < target; ++s) {
    if (tips.empty()) tips.push_back(root(l, rng, {0.5, 0.1, -0.25}, random_unit(rng), 1.5));
    Tip t = tips.front();
    tips.pop_front();
    if (grow_branch(p, f, rng, t, count)) branch(t, rng, tips);
  }
}

Fields make_fields(const Params& p, Rng& rng) {
  const Grid& g = p.g;
  const std::vector<float> zeros(g.size(), 0.0f);
  Fields f{zeros, zeros, zeros};
  std::int64_t liver_voxels = 0;
  for_box(g, {0, 0, 0}, g.whole(), [&](std::int64_t n, int i, int j, int k) {
    f.liver[n] = float(liver_weight(p, i, j, k));
    liver_voxels += f.liver[n] >= 0.5f;
  });
  for (const Blob& b : p.tumours) raster_tumour(g, b, f.tumour);
  grow_vessels(p, f, rng, liver_voxels);
  return f;
}

double background_hu(const Params& p, int i, int j, int k) {
  const Body& b = p.body;
  const double d = body_dist(b, i, j, k, p.g.nk);
  double hu = -1000.0 + (b.fat_hu + 1000.0) * clamp01(d + 0.5);
  hu += (b.tissue_hu - b.fat_hu) * clamp01(d - b.rim + 0.5);
  if (d > 0) {
    hu += (p.spine.hu - hu) * disc_weight(p.spine, i, j);
    hu += (p.aorta.hu - hu) * disc_weight(p.aorta, i, j);
  }
  return hu;
}

void composite(const Params& p, const Fields& f, Rng& noise, HepaticPhantomCase& out) {
  const Grid& g = p.g;
  out.image.data.resize(g.size());
  out.label.assign(g.size(), 0);
  for_box(g, {0, 0, 0}, g.whole(), [&](std::int64_t n, int i, int j, int k) {
    const double wl = f.liver[n];
    double hu = background_hu(p, i, j, k);
    hu += (p.liver.hu - hu) * wl;
    hu += (p.vessel_hu - hu) * f.vessel[n] * wl;
    hu += (p.tumour_hu - hu) * f.tumour[n] * wl;
    hu = std::round(hu + p.noise * noise.normal());
    out.image.data[n] = float(std::min(3071.0, std::max(-1024.0, hu)));
    if (wl >= 0.5) out.label[n] = f.tumour[n] >= 0.5f ? 2 : f.vessel[n] >= 0.5f ? 1 : 0;
  });
}

void check_options(const PhantomOptions& o) {
  const auto& z = o.size;
  if (z[0] < 16 || z[1] < 16 || z[2] < 4 || z[0] > 1024 || z[1] > 1024 || z[2] > 1024)
    throw Error("phantom: size must be from 16x16x4 to 1024x1024x1024 voxels, got " +
                std::to_string(z[0]) + "x" + std::to_string(z[1]) + "x" + std::to_string(z[2]));
  if (o.cases < 1) throw Error("phantom: cases must be at least 1, got " + std::to_string(o.cases));
}

std::string case_name(int id) {  // zero-padded to 3 digits like MSD, wider when needed
  const std::string n = std::to_string(id);
  return "hepaticvessel_" + std::string(n.size() < 3 ? 3 - n.size() : 0, '0') + n + ".nii.gz";
}

// MSD numbering: training and test ids interleave and some numbers are missing.
void plan_ids(const PhantomOptions& o, int num_test, std::vector<int>& train,
              std::vector<int>& test) {
  Rng rng(Rng::derive(o.seed, 0));  // case streams use tags >= 1
  int left_train = o.cases, left_test = num_test;
  for (int id = 1; left_train + left_test > 0; ++id) {
    if (rng.uniform() < 0.12) continue;
    const bool is_test = rng.uniform() * (left_train + left_test) < left_test;
    (is_test ? test : train).push_back(id);
    --(is_test ? left_test : left_train);
  }
}

void write_case(const std::filesystem::path& root, const PhantomOptions& o, int id, bool labelled) {
  const HepaticPhantomCase c = make_hepatic_vessel_case(o, id);
  const Volume& v = c.image;
  const std::vector<std::int64_t> shape(v.dims.begin(), v.dims.end());
  NiftiWriteOptions w;
  w.description = "orch phantom HepaticVessel";
  w.dtype = "int16";
  const std::string dir = labelled ? "imagesTr" : "imagesTs";
  write_nifti((root / dir / case_name(id)).string(), shape, v.data, v.spacing, v.affine, w);
  if (!labelled) return;
  w.dtype = "uint8";
  const std::vector<float> label(c.label.begin(), c.label.end());
  write_nifti((root / "labelsTr" / case_name(id)).string(), shape, label, v.spacing, v.affine, w);
}

std::string dataset_json(const std::vector<int>& train, const std::vector<int>& test) {
  nlohmann::ordered_json j;
  j["name"] = "HepaticVessel";
  j["description"] = "Hepatic vessel and tumour segmentation: orch phantom, synthetic data";
  j["reference"] = "orch phantom generator (in the layout of the MSD Task08 release)";
  j["licence"] = "CC-BY-SA 4.0";
  j["release"] = "1.0 orch phantom";
  j["tensorImageSize"] = "3D";
  j["modality"] = {{"0", "CT"}};
  j["labels"] = {{"0", "background"}, {"1", "Vessel"}, {"2", "Tumour"}};
  j["numTraining"] = train.size();
  j["numTest"] = test.size();
  j["training"] = nlohmann::ordered_json::array();
  for (int id : train)
    j["training"].push_back(
        {{"image", "./imagesTr/" + case_name(id)}, {"label", "./labelsTr/" + case_name(id)}});
  j["test"] = nlohmann::ordered_json::array();
  for (int id : test) j["test"].push_back("./imagesTs/" + case_name(id));
  return j.dump(4) + "\n";
}

}  // namespace

HepaticPhantomCase make_hepatic_vessel_case(const PhantomOptions& options, int index) {
  check_options(options);
  const std::uint64_t seed = Rng::derive(options.seed, static_cast<std::uint64_t>(index));
  Rng rng(seed);
  Params p;
  p.g = {options.size[0], options.size[1], options.size[2], 1.0};
  draw_geometry(p, rng);
  draw_body(p, rng);
  draw_liver(p, rng);
  draw_lesions(p, rng);
  const Fields f = make_fields(p, rng);
  HepaticPhantomCase out;
  out.image.dims = {p.g.ni, p.g.nj, p.g.nk};
  out.image.spacing = p.spacing;
  out.image.affine = p.affine;
  Rng noise(Rng::derive(seed, 1));
  composite(p, f, noise, out);
  return out;
}

int write_hepatic_vessel_phantom(const std::filesystem::path& root, const PhantomOptions& options) {
  check_options(options);
  std::vector<int> train, test;
  plan_ids(options, std::max(1, options.cases / 5), train, test);
  for (const char* dir : {"imagesTr", "labelsTr", "imagesTs"})
    std::filesystem::create_directories(root / dir);
  ProgressTask progress = start_progress(
      "phantom hepatic_vessel", static_cast<std::int64_t>(train.size() + test.size()), "case");
  for (int id : train) {
    write_case(root, options, id, true);
    progress.advance();
  }
  for (int id : test) {
    write_case(root, options, id, false);
    progress.advance();
  }
  write_file_atomic(root / "dataset.json", dataset_json(train, test));
  progress.finish();
  return static_cast<int>(train.size());
}

}  // namespace orch
