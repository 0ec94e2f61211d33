// LIDC phantom: a chest CT slab per patient with 1-4 readers' XML, in the TCIA layout.
//
// Geometry is in millimetres: u = (i - (ni - 1) / 2) * sx towards the patient's left, v likewise
// with j towards posterior, w = k * sz upwards. The in-plane spacing is a 300-400 mm field of view
// over the phantom's columns; slices are 1.25-2.5 mm apart. Each structure has an occupancy in
// [0, 1] that falls off over about one voxel (partial volume). Intensities blend air -> fat ->
// muscle -> ribs -> lungs (-870..-740 HU, denser posteriorly) -> heart, aorta, spine -> vessels
// (40 HU, branching tubes inside the lungs) -> nodules (solid 0..50 HU; part-solid: a -550 HU
// ground-glass rim around a solid core; patient 1's first nodule has an air cavity), plus noise.
//
// Readers: each outlines every >= 3 mm nodule it noticed on each slice where its own threshold of
// the nodule (radius scaled by 0.85-1.15, centre jittered by a quarter pixel per slice) is
// non-empty; the inclusion edgeMap is the chain of background pixels around that region (just
// outside the nodule, LIDC's convention; lidc_outline), and a cavity gets an exclusion edgeMap:
// the border pixels of the cavity itself. Nodules under 3 mm get one edgeMap point at their
// centre and no characteristics, as in the real files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/datasets/lidc/lidc.h"
#include "datastore/formats/dicom.h"
#include "datastore/phantom/geometry.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
using phantom::clamp01;
using phantom::ellipse_depth;
using phantom::kTwoPi;
using phantom::lerp;
using phantom::occupancy;  // of a structure at a depth in mm, over one voxel of c.sx mm
const char* kUidRoot = "1.2.826.0.1.3680043.10.1149.5";

struct Ellipse {
  double cu = 0, cv = 0, a = 1, b = 1;
  // Approximate depth inside the boundary in mm (negative outside).
  double depth(double u, double v, double scale = 1.0) const {
    return ellipse_depth(u, v, cu, cv, a, b, scale);
  }
};

struct Capsule {
  double a[3], b[3], ra, rb;
  // False when p is farther than `margin` beyond the capsule's bounding box (a cheap rejection).
  bool near(const double p[3], double margin) const {
    const double r = std::max(ra, rb) + margin;
    for (int d = 0; d < 3; ++d)
      if (p[d] < std::min(a[d], b[d]) - r || p[d] > std::max(a[d], b[d]) + r) return false;
    return true;
  }
  double depth(const double p[3]) const {  // r(t) - distance to the axis, mm
    double ab[3], ap[3], t = 0, len2 = 1e-12;
    for (int d = 0; d < 3; ++d) ab[d] = b[d] - a[d], ap[d] = p[d] - a[d], len2 += ab[d] * ab[d];
    for (int d = 0; d < 3; ++d) t += ap[d] * ab[d] / len2;
    t = clamp01(t);
    double dist2 = 0;
    for (int d = 0; d < 3; ++d) dist2 += (ap[d] - t * ab[d]) * (ap[d] - t * ab[d]);
    return ra + (rb - ra) * t - std::sqrt(dist2);
  }
};

struct Nodule {
  double c[3], r[3];          // centre and semi-axes, mm
  double lob = 0, phase = 0;  // lobulation amplitude and phase
  double hu = 30;             // solid attenuation
  bool part_solid = false;    // ground-glass rim around a solid core of half the radius
  double cavity = 0;          // cavity radius as a share of the radius (0 = none)
  bool small = false;         // < 3 mm: a single-point roi, not labelled
  // Normalised radius: < 1 inside.
  double level(double u, double v, double w) const {
    const double q[3] = {(u - c[0]) / r[0], (v - c[1]) / r[1], (w - c[2]) / r[2]};
    const double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    return n / (1.0 + lob * std::sin(3.0 * std::atan2(q[1], q[0]) + phase));
  }
  double rmin() const { return std::min(r[0], std::min(r[1], r[2])); }
};

struct Chest {
  int ni = 0, nj = 0, nk = 0, readers = 1, patient = 1;
  double sx = 1, sz = 1;
  Affine affine = identity_affine();
  Ellipse body, lung[2], heart;
  double fat = 10, fat_hu = -100, muscle_hu = 45, lung_hu = -850, noise = 20;
  Ellipse aorta, spine;
  std::vector<std::array<double, 3>> ribs;  // angle, radius (mm), phase of the rib's presence
  std::vector<Capsule> vessels;
  std::vector<Nodule> nodules;
  bool reverse_numbers = false;
  double u(double i) const { return (i - (ni - 1) / 2.0) * sx; }
  double v(double j) const { return (j - (nj - 1) / 2.0) * sx; }
};

void draw_anatomy(Chest& c, Rng& rng) {
  const double fov = rng.uniform(300.0, 400.0);
  c.sx = std::round(fov / c.ni * 256.0) / 256.0;
  c.sz = std::array<double, 4>{1.25, 1.5, 2.0, 2.5}[rng.below(4)];
  const double hw = c.sx * c.ni / 2, a = hw * rng.uniform(0.82, 0.9),
               b = a * rng.uniform(0.66, 0.74);
  c.body = {rng.uniform(-3, 3), rng.uniform(-6, 0), a, b};
  c.fat = rng.uniform(0.06, 0.12) * b;
  c.fat_hu = rng.uniform(-110, -85);
  c.muscle_hu = rng.uniform(35, 55);
  const double inset = c.fat + rng.uniform(10, 16);  // chest wall
  for (int s = 0; s < 2; ++s) {
    const double side = s == 0 ? -1 : 1;
    c.lung[s] = {c.body.cu + side * a * rng.uniform(0.45, 0.5), c.body.cv - b * 0.05,
                 a * 0.5 - inset * 0.5 - a * rng.uniform(0.08, 0.12), b - inset};
  }
  c.heart = {c.body.cu + a * rng.uniform(0.05, 0.12), c.body.cv - b * 0.25, a * 0.28, b * 0.4};
  c.spine = {c.body.cu, c.body.cv + b * 0.72, b * 0.16, b * 0.16};
  c.aorta = {c.body.cu + a * 0.12, c.spine.cv - c.spine.b - 14, 12, 12};
  c.lung_hu = rng.uniform(-870, -835);
  c.noise = rng.uniform(15, 25);
  for (int r = 0; r < 16; ++r)
    c.ribs.push_back({kTwoPi * (r + rng.uniform(-0.2, 0.2)) / 16, rng.uniform(3.5, 5.5),
                      rng.uniform(0, kTwoPi)});
  const double x0 = std::round((c.sx * (c.ni - 1) / 2 + rng.uniform(-10, 10)) * 64) / 64;
  const double y0 = std::round((c.sx * (c.nj - 1) / 2 + rng.uniform(-20, 20)) * 64) / 64;
  const double z0 = -c.sz * std::round(rng.uniform(40.0, 200.0));
  c.affine = {{{-c.sx, 0, 0, x0}, {0, -c.sx, 0, y0}, {0, 0, c.sz, z0}, {0, 0, 0, 1}}};
}

// A binary vessel tree from each hilum, growing laterally: 5 generations of tapering capsules.
void draw_vessels(Chest& c, Rng& rng) {
  const double zmid = (c.nk - 1) * c.sz / 2;
  for (int s = 0; s < 2; ++s) {
    const Ellipse& l = c.lung[s];
    const double side = s == 0 ? -1 : 1;
    struct Tip {
      double p[3], dir[3], r, len;
      int gen;
    };
    std::vector<Tip> tips = {
        {{l.cu - side * l.a * 0.75, l.cv, zmid}, {side, 0, 0}, 4.5, l.a * 0.45, 0}};
    while (!tips.empty()) {
      Tip t = tips.back();
      tips.pop_back();
      double e[3];
      for (int d = 0; d < 3; ++d) e[d] = t.p[d] + t.dir[d] * t.len;
      c.vessels.push_back({{t.p[0], t.p[1], t.p[2]}, {e[0], e[1], e[2]}, t.r, t.r * 0.8});
      if (t.gen == 4) continue;
      for (int child = 0; child < 2; ++child) {
        Tip n{{e[0], e[1], e[2]}, {0, 0, 0}, std::max(0.8, t.r * 0.72), t.len * 0.75, t.gen + 1};
        double norm = 0;
        for (int d = 0; d < 3; ++d) {
          n.dir[d] = t.dir[d] + rng.normal(0, 0.6);
          norm += n.dir[d] * n.dir[d];
        }
        for (double& x : n.dir) x /= std::sqrt(norm);
        tips.push_back(n);
      }
    }
  }
}

bool place(const Chest& c, Nodule& n, Rng& rng) {
  const Ellipse& l = c.lung[rng.below(2)];
  const double wmax = (c.nk - 1) * c.sz;
  for (int tries = 0; tries < 40; ++tries) {
    const double ang = rng.uniform(0, kTwoPi), rad = 0.6 * std::sqrt(rng.uniform());
    n.c[0] = l.cu + l.a * rad * std::cos(ang);
    n.c[1] = l.cv + l.b * rad * std::sin(ang);
    n.c[2] = n.r[2] * 2 < wmax ? rng.uniform(n.r[2], wmax - n.r[2]) : wmax / 2;
    if (c.heart.depth(n.c[0], n.c[1]) > -n.r[0]) continue;
    bool clear = true;
    for (const auto& o : c.nodules)
      clear = clear &&
              std::hypot(o.c[0] - n.c[0], o.c[1] - n.c[1], o.c[2] - n.c[2]) > o.r[0] + n.r[0] + 8;
    if (clear) return true;
  }
  return false;
}

void draw_nodules(Chest& c, Rng& rng) {
  const int big = 1 + static_cast<int>(rng.below(4)), small = static_cast<int>(rng.below(3));
  for (int q = 0; q < big + small; ++q) {
    Nodule n;
    n.small = q >= big;
    const double dmin = std::max(3.0, 2.5 * c.sx);
    double d = n.small ? rng.uniform(2.0, 2.9) : rng.uniform(dmin, std::max(dmin, 30.0));
    if (c.patient == 1 && q == 0) d = std::max(d, 26.0), n.cavity = 0.5;
    for (double& r : n.r) r = d / 2 * (n.small ? 1.0 : rng.uniform(0.85, 1.15));
    n.lob = n.small ? 0 : rng.uniform(0.0, 0.12);
    n.phase = rng.uniform(0, kTwoPi);
    n.hu = rng.uniform(0, 50);
    n.part_solid = !n.small && n.cavity == 0 && rng.uniform() < 0.3;
    if (place(c, n, rng)) c.nodules.push_back(n);
  }
}

double lung_occ(const Chest& c, double u, double v, double w) {
  const double taper = 0.9 + 0.1 * w / std::max(1.0, (c.nk - 1) * c.sz);
  const double o = std::max(occupancy(c.lung[0].depth(u, v, taper), c.sx),
                            occupancy(c.lung[1].depth(u, v, taper), c.sx));
  return std::min(o, 1.0 - occupancy(c.heart.depth(u, v), c.sx));
}

double tissue_hu(const Chest& c, double u, double v, double w) {
  double hu = -1000;
  const double bd = c.body.depth(u, v);
  hu = lerp(hu, c.fat_hu, occupancy(bd, c.sx));
  hu = lerp(hu, c.muscle_hu, occupancy(bd - c.fat, c.sx));
  for (const auto& r : c.ribs) {
    if (std::sin(kTwoPi * w / 40.0 + r[2]) < 0.2) continue;  // ribs run obliquely through slices
    const double rad = 1.0 - (c.fat + 6) / std::min(c.body.a, c.body.b);
    const double ru = c.body.cu + c.body.a * rad * std::cos(r[0]);
    const double rv = c.body.cv + c.body.b * rad * std::sin(r[0]);
    hu = lerp(hu, 600, occupancy(r[1] - std::hypot(u - ru, v - rv), c.sx));
  }
  const double lo = lung_occ(c, u, v, w);
  const double gradient = 100 * clamp01((v - c.body.cv + c.body.b) / (2 * c.body.b));
  hu = lerp(hu, c.lung_hu + gradient + 12 * std::sin(u / 9.0) * std::cos(v / 11.0), lo);
  hu = lerp(hu, c.muscle_hu + 5, occupancy(c.heart.depth(u, v), c.sx));
  hu = lerp(hu, 40, occupancy(c.aorta.depth(u, v), c.sx));
  hu = lerp(hu, 700, occupancy(c.spine.depth(u, v), c.sx));
  hu = lerp(hu, 260, occupancy(c.spine.depth(u, v) - 3, c.sx));
  if (lo <= 0) return hu;
  double vessel = 0;
  const double p[3] = {u, v, w};
  for (const auto& cap : c.vessels)
    if (cap.near(p, c.sx)) vessel = std::max(vessel, occupancy(cap.depth(p), c.sx));
  return lerp(hu, 40, vessel * lo);
}

double nodule_hu(const Chest& c, double hu, double u, double v, double w) {
  for (const auto& n : c.nodules) {
    const double lv = n.level(u, v, w);
    if (lv > 2) continue;
    const double scale = n.small ? n.r[0] : n.rmin();
    const double o = occupancy((1 - lv) * scale, c.sx);
    const double core = n.part_solid ? occupancy((0.5 - lv) * scale, c.sx) : 1.0;
    hu = lerp(hu, lerp(-550, n.hu, core), o);
    if (n.cavity > 0) hu = lerp(hu, -950, occupancy((n.cavity - lv) * scale, c.sx));
  }
  return hu;
}

Volume render(const Chest& c, Rng& noise) {
  Volume vol;
  vol.dims = {c.ni, c.nj, c.nk};
  vol.spacing = {c.sx, c.sx, c.sz};
  vol.affine = c.affine;
  vol.data.resize(static_cast<std::size_t>(vol.voxels()));
  std::size_t n = 0;
  for (int k = 0; k < c.nk; ++k)
    for (int j = 0; j < c.nj; ++j)
      for (int i = 0; i < c.ni; ++i) {
        const double u = c.u(i), v = c.v(j), w = k * c.sz;
        double hu = nodule_hu(c, tissue_hu(c, u, v, w), u, v, w);
        hu = std::round(hu + c.noise * noise.normal());
        vol.data[n++] = static_cast<float>(std::min(3071.0, std::max(-1024.0, hu)));
      }
  return vol;
}

// ---- Readers' contours ----

struct Roi {
  int k = 0;
  bool inclusion = true;
  std::vector<std::array<int, 2>> points;
};

struct Box {
  int x0 = 0, y0 = 0, w = 0, h = 0;
};

Box nodule_box(const Chest& c, const Nodule& n) {
  const double reach = std::max(n.r[0], n.r[1]) * 1.5 / c.sx + 3;
  const double ci = n.c[0] / c.sx + (c.ni - 1) / 2.0, cj = n.c[1] / c.sx + (c.nj - 1) / 2.0;
  Box b;
  b.x0 = std::max(0, static_cast<int>(std::floor(ci - reach)));
  b.y0 = std::max(0, static_cast<int>(std::floor(cj - reach)));
  b.w = std::min(c.ni, static_cast<int>(std::ceil(ci + reach)) + 1) - b.x0;
  b.h = std::min(c.nj, static_cast<int>(std::ceil(cj + reach)) + 1) - b.y0;
  return b;
}

// Pixels of slice k (in box b) where the nodule, shifted by (du, dv) mm, has level < threshold.
std::vector<std::uint8_t> region(const Chest& c, const Nodule& n, const Box& b, int k,
                                 double threshold, double du, double dv) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(b.w) * b.h, 0);
  for (int y = 0; y < b.h; ++y)
    for (int x = 0; x < b.w; ++x)
      m[y * b.w + x] = n.level(c.u(b.x0 + x) - du, c.v(b.y0 + y) - dv, k * c.sz) < threshold;
  return m;
}

std::vector<std::array<int, 2>> outline(const std::vector<std::uint8_t>& m, const Box& b,
                                        bool outside) {
  auto pts = lidc_outline(m, b.w, b.h, outside);
  for (auto& p : pts) p = {p[0] + b.x0, p[1] + b.y0};
  return pts;
}

// One reader's rois for nodule n: per slice an inclusion outline, plus an exclusion outline
// around the cavity where there is one.
std::vector<Roi> reader_rois(const Chest& c, const Nodule& n, Rng& rr) {
  const Box b = nodule_box(c, n);
  const double scale = rr.uniform(0.85, 1.15), cavity = n.cavity * rr.uniform(0.9, 1.1);
  std::vector<Roi> rois;
  for (int k = 0; k < c.nk; ++k) {
    const double du = rr.normal(0, 0.25) * c.sx, dv = rr.normal(0, 0.25) * c.sx;
    auto r = region(c, n, b, k, scale, du, dv);
    if (std::find(r.begin(), r.end(), 1) == r.end()) continue;
    rois.push_back({k, true, outline(r, b, true)});
    if (cavity <= 0) continue;
    auto hole = region(c, n, b, k, cavity, du, dv);
    for (std::size_t p = 0; p < hole.size(); ++p) hole[p] &= r[p];
    auto pts = outline(hole, b, false);
    if (pts.size() >= 2) rois.push_back({k, false, std::move(pts)});
  }
  return rois;
}

// ---- XML ----

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string roi_xml(const Roi& r, const std::vector<std::string>& sops, double z0, double sz) {
  std::string x = "   <roi>\n    <imageZposition>" + fmt("%.6f", z0 + r.k * sz) +
                  " </imageZposition>\n    <imageSOP_UID>" + sops[r.k] +
                  "</imageSOP_UID>\n    <inclusion>" + (r.inclusion ? "TRUE" : "FALSE") +
                  "</inclusion>\n";
  for (const auto& p : r.points)
    x += "    <edgeMap>\n     <xCoord>" + std::to_string(p[0]) + "</xCoord>\n     <yCoord>" +
         std::to_string(p[1]) + "</yCoord>\n    </edgeMap>\n";
  return x + "   </roi>\n";
}

std::string characteristics_xml(const Nodule& n, Rng& rr) {
  const int texture = n.part_solid ? 3 : 5;
  const int values[9] = {3 + int(rr.below(3)),
                         n.cavity > 0 ? 4 : 1,
                         6,
                         3 + int(rr.below(3)),
                         3 + int(rr.below(3)),
                         1 + int(rr.below(3)),
                         1 + int(rr.below(2)),
                         texture,
                         1 + int(rr.below(5))};
  std::string x = "   <characteristics>\n";
  for (int f = 0; f < 9; ++f) {
    const std::string& name = lidc_characteristics()[f];
    x += "    <" + name + ">" + std::to_string(values[f]) + "</" + name + ">\n";
  }
  return x + "   </characteristics>\n";
}

// Reader styles of noduleID, as the four sites wrote them.
std::string nodule_id(int reader, int number, Rng& rr) {
  char buf[64];
  const int code = static_cast<int>(rr.below(90000)) + 10000;
  switch (reader % 4) {
    case 0:
      std::snprintf(buf, sizeof buf, "Nodule %03d", number);
      break;
    case 1:
      std::snprintf(buf, sizeof buf, "IL057_%d", code);
      break;
    case 2:
      std::snprintf(buf, sizeof buf, "%d", number - 1);
      break;
    default:
      std::snprintf(buf, sizeof buf, "MI014_%05d", code);
      break;
  }
  return buf;
}

int nearest_slice(const Chest& c, double w) {
  return std::max(0, std::min(c.nk - 1, static_cast<int>(std::lround(w / c.sz))));
}

std::string session_xml(const Chest& c, int reader, const std::vector<std::string>& sops, Rng& rr) {
  const double z0 = c.affine[2][3];
  std::string x =
      " <readingSession>\n  <annotationVersion>3.12</annotationVersion>\n"
      "  <servicingRadiologistID>" +
      std::to_string(100000000 + rr.below(900000000)) + "</servicingRadiologistID>\n";
  int number = 0;
  for (std::size_t q = 0; q < c.nodules.size(); ++q) {
    const Nodule& n = c.nodules[q];
    const bool assigned = static_cast<int>(q % c.readers) == reader;  // someone sees each nodule
    if (rr.uniform() > 0.8 && !assigned) continue;
    std::string body;
    if (n.small) {
      const int i = static_cast<int>(std::lround(n.c[0] / c.sx + (c.ni - 1) / 2.0));
      const int j = static_cast<int>(std::lround(n.c[1] / c.sx + (c.nj - 1) / 2.0));
      body = roi_xml({nearest_slice(c, n.c[2]), true, {{i, j}}}, sops, z0, c.sz);
    } else {
      const auto rois = reader_rois(c, n, rr);
      if (rois.empty()) continue;
      body = characteristics_xml(n, rr);
      for (const auto& r : rois) body += roi_xml(r, sops, z0, c.sz);
    }
    x += "  <unblindedReadNodule>\n   <noduleID>" + nodule_id(reader, ++number, rr) +
         "</noduleID>\n" + body + "  </unblindedReadNodule>\n";
  }
  if (rr.uniform() < 0.5) {  // a non-nodule finding somewhere in a lung
    const Ellipse& l = c.lung[rr.below(2)];
    const int i = static_cast<int>(std::lround(l.cu / c.sx + (c.ni - 1) / 2.0));
    const int j = static_cast<int>(std::lround(l.cv / c.sx + (c.nj - 1) / 2.0));
    const int k = static_cast<int>(rr.below(c.nk));
    x += "  <nonNodule>\n   <nonNoduleID>Non-nodule 001</nonNoduleID>\n   <imageZposition>" +
         fmt("%.6f", z0 + k * c.sz) + " </imageZposition>\n   <imageSOP_UID>" + sops[k] +
         "</imageSOP_UID>\n   <locus>\n    <xCoord>" + std::to_string(i) +
         "</xCoord>\n    <yCoord>" + std::to_string(j) +
         "</yCoord>\n   </locus>\n"
         "  </nonNodule>\n";
  }
  return x + " </readingSession>\n";
}

std::string lidc_xml(const Chest& c, const std::string& study, const std::string& series,
                     const std::vector<std::string>& sops, Rng& rng) {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LidcReadMessage uid=\"" + series +
      ".9\" xmlns=\"http://www.nih.gov\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://www.nih.gov http://troll.rad.med.umich.edu/lidc/"
      "LidcReadMessage.xsd\">\n"
      " <ResponseHeader>\n  <Version>1.8.1</Version>\n  <MessageId>" +
      std::to_string(rng.below(1000000000)) +
      "</MessageId>\n  <DateRequest>2007-11-01</DateRequest>\n"
      "  <TimeRequest>12:30:44</TimeRequest>\n  <RequestingSite>removed</RequestingSite>\n"
      "  <ServicingSite>removed</ServicingSite>\n"
      "  <TaskDescription>Second unblinded read</TaskDescription>\n"
      "  <CtImageFile>removed</CtImageFile>\n  <SeriesInstanceUid>" +
      series +
      "</SeriesInstanceUid>\n  <DateService>2004-08-17</DateService>\n"
      "  <TimeService>01:14:20</TimeService>\n"
      "  <ResponseDescription>1 - Reading complete</ResponseDescription>\n  <StudyInstanceUID>" +
      study + "</StudyInstanceUID>\n </ResponseHeader>\n";
  for (int r = 0; r < c.readers; ++r) {
    Rng rr(Rng::derive(rng.next(), static_cast<std::uint64_t>(r)));
    x += session_xml(c, r, sops, rr);
  }
  return x + "</LidcReadMessage>\n";
}

// ---- Files ----

void check_options(const PhantomOptions& o) {
  const auto& z = o.size;
  if (z[0] < 32 || z[1] < 32 || z[2] < 4 || z[0] > 1024 || z[1] > 1024 || z[2] > 1024)
    throw Error("lidc phantom: size must be from 32x32x4 to 1024x1024x1024 voxels, got " +
                std::to_string(z[0]) + "x" + std::to_string(z[1]) + "x" + std::to_string(z[2]));
  if (o.cases < 1 || o.cases > 9999)
    throw Error("lidc phantom: cases must be from 1 to 9999, got " + std::to_string(o.cases));
}

// Renames the writer's "tmp-NNNN.dcm" (k + 1) to TCIA-like names that are not in position order:
// "1-NNN.dcm" by InstanceNumber when numbering runs from the top, otherwise shuffled numbers.
void rename_slices(const fs::path& dir, const Chest& c, Rng& rng) {
  std::vector<int> names(c.nk);
  for (int k = 0; k < c.nk; ++k) names[k] = c.reverse_numbers ? c.nk - k : k + 1;
  if (!c.reverse_numbers)
    for (int k = c.nk - 1; k > 0; --k) std::swap(names[k], names[rng.below(k + 1)]);
  for (int k = 0; k < c.nk; ++k) {
    char from[32], to[32];
    std::snprintf(from, sizeof from, "tmp-%04d.dcm", k + 1);
    std::snprintf(to, sizeof to, c.reverse_numbers ? "1-%03d.dcm" : "%06d.dcm", names[k]);
    fs::rename(dir / from, dir / to);
  }
}

void write_patient(const fs::path& root, const PhantomOptions& o, int patient) {
  Rng rng(Rng::derive(o.seed, static_cast<std::uint64_t>(patient)));
  Chest c;
  c.ni = o.size[0], c.nj = o.size[1], c.nk = o.size[2], c.patient = patient;
  const double pick = rng.uniform();
  c.readers = pick < 0.1 ? 1 : pick < 0.25 ? 2 : pick < 0.5 ? 3 : 4;
  c.reverse_numbers = rng.uniform() < 0.5;
  draw_anatomy(c, rng);
  draw_vessels(c, rng);
  draw_nodules(c, rng);
  Rng noise(Rng::derive(o.seed, 1000000 + static_cast<std::uint64_t>(patient)));
  const Volume vol = render(c, noise);
  char name[32];
  std::snprintf(name, sizeof name, "LIDC-IDRI-%04d", patient);
  DicomWriteOptions w;
  w.uid_root = std::string(kUidRoot) + "." + std::to_string(o.seed % 1000000) + "." +
               std::to_string(patient);
  w.study_uid = w.uid_root + ".1";
  w.series_uid = w.uid_root + ".2";
  w.patient_id = name;
  w.prefix = "tmp-";
  w.reverse_instance_numbers = c.reverse_numbers;
  const fs::path dir = root / name / w.study_uid / w.series_uid;
  const std::vector<std::string> sops = write_dicom_series(dir.string(), vol, w);
  rename_slices(dir, c, rng);
  const std::string xml_name = fmt("%03.0f.xml", double(1 + rng.below(999)));
  write_file_atomic(dir / xml_name, lidc_xml(c, w.study_uid, w.series_uid, sops, rng));
}

}  // namespace

int write_lidc_phantom(const std::filesystem::path& root, const PhantomOptions& options) {
  check_options(options);
  fs::create_directories(root);
  ProgressTask progress = start_progress("phantom lidc", options.cases, "patient");
  for (int p = 1; p <= options.cases; ++p) {
    write_patient(root, options, p);
    progress.advance();
  }
  progress.finish();
  return options.cases;
}

}  // namespace orch
