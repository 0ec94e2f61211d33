// LIDC XML parsing, annotation masks, clustering and consensus (the contracts are in
// lidc_xml.h).
#include "datastore/formats/lidc_xml.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>

#include <pugixml.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/polygon.h"

namespace orch {
namespace {

// The element name without a namespace prefix ("nih:roi" -> "roi").
const char* local_name(const pugi::xml_node& n) {
  const char* name = n.name();
  const char* colon = std::strrchr(name, ':');
  return colon ? colon + 1 : name;
}

pugi::xml_node child(const pugi::xml_node& n, const char* name) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && std::strcmp(local_name(c), name) == 0) return c;
  return {};
}

std::vector<pugi::xml_node> children(const pugi::xml_node& n, const char* name) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && std::strcmp(local_name(c), name) == 0) out.push_back(c);
  return out;
}

std::string text_of(const pugi::xml_node& n) {
  std::string s = n.child_value();
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

double number_of(const pugi::xml_node& n, const std::string& source) {
  const std::string s = text_of(n);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    throw Error(source + ": <" + local_name(n) + "> at offset " + std::to_string(n.offset_debug()) +
                " holds '" + s + "', not a number");
  return v;
}

LidcRoi parse_roi(const pugi::xml_node& r, const std::string& source) {
  LidcRoi roi;
  roi.z = number_of(child(r, "imageZposition"), source);
  roi.sop_uid = text_of(child(r, "imageSOP_UID"));
  std::string inc = text_of(child(r, "inclusion"));
  std::transform(inc.begin(), inc.end(), inc.begin(), ::toupper);
  roi.inclusion = inc != "FALSE";
  for (const auto& e : children(r, "edgeMap"))
    roi.points.push_back({static_cast<int>(std::lround(number_of(child(e, "xCoord"), source))),
                          static_cast<int>(std::lround(number_of(child(e, "yCoord"), source)))});
  return roi;
}

// True when the block holds every one of the nine ratings as a number.
bool complete_characteristics(const pugi::xml_node& c, std::map<std::string, int>& out) {
  if (!c) return false;
  for (const auto& name : lidc_characteristics()) {
    const pugi::xml_node v = child(c, name.c_str());
    const std::string s = text_of(v);
    char* end = nullptr;
    const long value = std::strtol(s.c_str(), &end, 10);
    if (!v || s.empty() || *end != '\0') return false;
    out[name] = static_cast<int>(value);
  }
  return true;
}

void parse_session(const pugi::xml_node& session, int reader, const std::string& source,
                   LidcRead& read) {
  for (const auto& n : children(session, "unblindedReadNodule")) {
    LidcNodule nodule;
    nodule.id = text_of(child(n, "noduleID"));
    nodule.reader = reader;
    if (!complete_characteristics(child(n, "characteristics"), nodule.characteristics)) {
      ++read.small_nodules;
      continue;
    }
    for (const auto& r : children(n, "roi")) {
      LidcRoi roi = parse_roi(r, source);
      if (roi.points.size() <= 1) {
        ++read.dropped_rois;
        continue;
      }
      nodule.rois.push_back(std::move(roi));
    }
    if (!nodule.rois.empty()) read.nodules.push_back(std::move(nodule));
  }
}

double median_step(const LidcGrid& g) {
  std::vector<double> d;
  for (std::size_t k = 1; k < g.slices.size(); ++k)
    d.push_back(std::fabs(g.slices[k].z - g.slices[k - 1].z));
  if (d.empty()) return 1.0;
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

}  // namespace

const std::vector<std::string>& lidc_characteristics() {
  static const std::vector<std::string> names = {
      "subtlety",   "internalStructure", "calcification", "sphericity", "margin",
      "lobulation", "spiculation",       "texture",       "malignancy"};
  return names;
}

LidcRead parse_lidc_xml(const std::string& text, const std::string& source) {
  pugi::xml_document doc;
  const pugi::xml_parse_result ok = doc.load_buffer(text.data(), text.size());
  if (!ok)
    throw Error(source + ": invalid XML at offset " + std::to_string(ok.offset) + ": " +
                ok.description());
  const pugi::xml_node root = doc.document_element();
  if (std::strcmp(local_name(root), "LidcReadMessage") != 0)
    throw Error(source + ": root element is <" + root.name() + ">, not <LidcReadMessage>");
  LidcRead read;
  const pugi::xml_node header = child(root, "ResponseHeader");
  read.series_uid = text_of(child(header, "SeriesInstanceUid"));
  read.study_uid = text_of(child(header, "StudyInstanceUID"));
  const auto sessions = children(root, "readingSession");
  read.readers = static_cast<int>(sessions.size());
  for (std::size_t s = 0; s < sessions.size(); ++s)
    parse_session(sessions[s], static_cast<int>(s), source, read);
  return read;
}

LidcRead read_lidc_xml(const std::filesystem::path& path) {
  return parse_lidc_xml(read_file(path), path.string());
}

bool is_lidc_xml(const std::filesystem::path& path) {
  pugi::xml_document doc;
  if (!doc.load_file(path.c_str())) return false;
  return std::strcmp(local_name(doc.document_element()), "LidcReadMessage") == 0;
}

int lidc_match_slice(const LidcRoi& roi, const LidcGrid& grid) {
  const int nk = static_cast<int>(grid.slices.size());
  if (!roi.sop_uid.empty())
    for (int k = 0; k < nk; ++k)
      if (grid.slices[k].sop_uid == roi.sop_uid) return k;
  int best = -1;
  double best_d = std::max(0.01, 0.25 * median_step(grid));
  for (int k = 0; k < nk; ++k) {
    const double d = std::fabs(grid.slices[k].z - roi.z);
    if (d <= best_d) best = k, best_d = d;
  }
  return best;
}

namespace {

// Applies the rois of one slice (inclusions first, then exclusions) on a local box and appends
// the marked voxels of slice k to `out`.
void mask_slice(const std::vector<const LidcRoi*>& rois, const LidcGrid& g, int k,
                std::vector<std::int64_t>& out) {
  int x0 = g.ni, y0 = g.nj, x1 = -1, y1 = -1;
  for (const LidcRoi* r : rois)
    for (const auto& p : r->points) {
      x0 = std::min(x0, p[0]), x1 = std::max(x1, p[0]);
      y0 = std::min(y0, p[1]), y1 = std::max(y1, p[1]);
    }
  x0 = std::max(0, x0), y0 = std::max(0, y0);
  x1 = std::min(g.ni - 1, x1), y1 = std::min(g.nj - 1, y1);
  if (x1 < x0 || y1 < y0) return;
  const int w = x1 - x0 + 1, h = y1 - y0 + 1;
  std::vector<std::uint8_t> m(static_cast<std::size_t>(w) * h, 0);
  for (int pass = 0; pass < 2; ++pass)
    for (const LidcRoi* r : rois) {
      if (r->inclusion != (pass == 0)) continue;
      std::vector<std::array<double, 2>> poly;
      for (const auto& p : r->points) poly.push_back({double(p[0] - x0), double(p[1] - y0)});
      fill_polygon(poly, w, h, pass == 0 ? 1 : 0, m);
      for (const auto& p : r->points)  // the outline itself is never nodule
        if (p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1)
          m[static_cast<std::size_t>(p[1] - y0) * w + (p[0] - x0)] = 0;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (m[static_cast<std::size_t>(y) * w + x])
        out.push_back((std::int64_t(k) * g.nj + (y + y0)) * g.ni + (x + x0));
}

}  // namespace

std::vector<std::int64_t> lidc_annotation_mask(const LidcNodule& nodule, const LidcGrid& grid,
                                               int* unmatched) {
  std::map<int, std::vector<const LidcRoi*>> by_slice;
  for (const auto& roi : nodule.rois) {
    const int k = lidc_match_slice(roi, grid);
    if (k < 0) {
      if (unmatched) ++*unmatched;
      continue;
    }
    by_slice[k].push_back(&roi);
  }
  std::vector<std::int64_t> out;
  for (const auto& [k, rois] : by_slice) mask_slice(rois, grid, k, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// One annotation's contour points in mm (x, y scaled by the pixel spacing), per roi, with the
// bounding box of them all.
struct Points {
  std::vector<std::pair<double, std::vector<std::array<double, 2>>>> rois;  // (z, points)
  double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
};

Points contour_points_mm(const LidcNodule& n, const LidcGrid& g) {
  Points out;
  for (const auto& roi : n.rois) {
    out.rois.push_back({roi.z, {}});
    for (const auto& p : roi.points) {
      const double q[3] = {p[0] * g.pixel_spacing[0], p[1] * g.pixel_spacing[1], roi.z};
      out.rois.back().second.push_back({q[0], q[1]});
      for (int d = 0; d < 3; ++d) out.lo[d] = std::min(out.lo[d], q[d]);
      for (int d = 0; d < 3; ++d) out.hi[d] = std::max(out.hi[d], q[d]);
    }
  }
  return out;
}

// The smallest distance between the two point sets, or a lower bound of it when that exceeds
// `cutoff` (all the clustering needs, since its tolerance only shrinks from there).
double min_distance(const Points& a, const Points& b, double cutoff) {
  double gap2 = 0;
  for (int d = 0; d < 3; ++d) {
    const double g = std::max({0.0, a.lo[d] - b.hi[d], b.lo[d] - a.hi[d]});
    gap2 += g * g;
  }
  if (std::sqrt(gap2) > cutoff) return std::sqrt(gap2);
  double best = INFINITY;
  for (const auto& [za, pa] : a.rois)
    for (const auto& [zb, pb] : b.rois) {
      const double dz2 = (za - zb) * (za - zb);
      if (dz2 >= best) continue;
      for (const auto& p : pa)
        for (const auto& q : pb)
          best =
              std::min(best, dz2 + (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]));
      if (best == 0) return 0;
    }
  return std::sqrt(best);
}

std::vector<std::vector<int>> components(const std::vector<std::vector<double>>& d, double tol) {
  const int n = static_cast<int>(d.size());
  std::vector<int> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  const auto find = [&parent](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (d[a][b] <= tol) parent[std::max(find(a), find(b))] = std::min(find(a), find(b));
  std::map<int, std::vector<int>> groups;
  for (int a = 0; a < n; ++a) groups[find(a)].push_back(a);
  std::vector<std::vector<int>> out;
  for (auto& [root, members] : groups) out.push_back(std::move(members));
  return out;
}

}  // namespace

std::vector<std::vector<int>> lidc_cluster(const std::vector<LidcNodule>& nodules,
                                           const LidcGrid& grid, int max_size) {
  if (max_size < 1) max_size = 4;
  const std::size_t n = nodules.size();
  std::vector<Points> pts;
  for (const auto& nod : nodules) pts.push_back(contour_points_mm(nod, grid));
  double tol = std::min(grid.pixel_spacing[0], grid.pixel_spacing[1]);
  std::vector<std::vector<double>> d(n, std::vector<double>(n, 0.0));
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = a + 1; b < n; ++b) d[a][b] = d[b][a] = min_distance(pts[a], pts[b], tol);
  for (;;) {
    auto groups = components(d, tol);
    const bool too_big = std::any_of(groups.begin(), groups.end(), [max_size](const auto& g) {
      return static_cast<int>(g.size()) > max_size;
    });
    if (!too_big || tol < 0.1) return groups;  // pylidc gives up at min_tol = 0.1 as well
    tol *= 0.9;
  }
}

std::vector<std::int64_t> lidc_consensus(const std::vector<std::vector<std::int64_t>>& masks,
                                         double level) {
  std::map<std::int64_t, int> count;
  for (const auto& m : masks)
    for (std::int64_t v : m) ++count[v];
  const double need = level * static_cast<double>(masks.size()) - 1e-9;
  std::vector<std::int64_t> out;
  for (const auto& [v, c] : count)
    if (c >= need) out.push_back(v);
  return out;
}

std::vector<std::array<int, 2>> lidc_outline(const std::vector<std::uint8_t>& mask, int w, int h,
                                             bool outside) {
  // Clockwise on screen (y down), starting west.
  static const int dx[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};
  const auto inside = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < w && y < h && mask[static_cast<std::size_t>(y) * w + x] != 0;
  };
  std::array<int, 2> s{-1, -1};
  for (int y = 0; y < h && s[0] < 0; ++y)
    for (int x = 0; x < w; ++x)
      if (inside(x, y)) {
        s = {x, y};
        break;
      }
  if (s[0] < 0) return {};
  std::vector<std::array<int, 2>> region = {s}, ring, seen;
  std::array<int, 2> c = s, first{-1, -1};
  int back = 0;  // direction from c to the last background pixel checked: west of the start
  for (std::int64_t step = 0; step < 4 * std::int64_t(w) * h + 8; ++step) {
    int d = -1;
    seen.clear();
    for (int t = 1; t <= 8 && d < 0; ++t) {
      const int e = (back + t) % 8;
      if (inside(c[0] + dx[e], c[1] + dy[e]))
        d = e;
      else
        seen.push_back({c[0] + dx[e], c[1] + dy[e]});
    }
    const bool done = d < 0 || (c == s && first[0] >= 0 &&
                                std::array<int, 2>{c[0] + dx[d], c[1] + dy[d]} == first);
    for (const auto& p : seen) {
      if (done && !ring.empty() && p == ring.front()) break;  // closed
      if (ring.empty() || ring.back() != p) ring.push_back(p);
    }
    if (done) break;
    const std::array<int, 2> n{c[0] + dx[d], c[1] + dy[d]};
    if (first[0] < 0) first = n;
    const int px = c[0] + dx[(d + 7) % 8] - n[0], py = c[1] + dy[(d + 7) % 8] - n[1];
    for (int e = 0; e < 8; ++e)
      if (dx[e] == px && dy[e] == py) back = e;
    c = n;
    region.push_back(c);
  }
  if (region.size() > 1 && region.back() == s) region.pop_back();
  return outside ? ring : region;
}

std::vector<std::vector<std::int64_t>> lidc_nodules(const LidcRead& read, const LidcGrid& grid,
                                                    double level,
                                                    std::vector<std::string>* warnings) {
  std::vector<std::vector<std::int64_t>> masks;
  int unmatched = 0;
  for (const auto& n : read.nodules) masks.push_back(lidc_annotation_mask(n, grid, &unmatched));
  if (unmatched > 0 && warnings)
    warnings->push_back(std::to_string(unmatched) + " roi(s) of series " + read.series_uid +
                        " match no slice by SOP UID or z; skipped");
  std::vector<std::vector<std::int64_t>> out;
  for (const auto& group : lidc_cluster(read.nodules, grid, read.readers)) {
    std::vector<std::vector<std::int64_t>> members;
    for (int a : group) members.push_back(masks[a]);
    out.push_back(lidc_consensus(members, level));
  }
  return out;
}

std::vector<std::uint8_t> lidc_label(const LidcRead& read, const LidcGrid& grid, double level,
                                     std::vector<std::string>* warnings) {
  const std::int64_t voxels = std::int64_t(grid.ni) * grid.nj * std::int64_t(grid.slices.size());
  std::vector<std::uint8_t> label(static_cast<std::size_t>(voxels), 0);
  for (const auto& nodule : lidc_nodules(read, grid, level, warnings))
    for (std::int64_t v : nodule) label[static_cast<std::size_t>(v)] = 1;
  return label;
}

std::vector<std::vector<std::int64_t>> lidc_components(const std::vector<std::int64_t>& voxels,
                                                       const LidcGrid& grid) {
  const std::int64_t ni = grid.ni, nj = grid.nj, nk = std::int64_t(grid.slices.size());
  const std::int64_t plane = ni * nj;
  std::vector<std::int64_t> sorted = voxels;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<int> comp(sorted.size(), -1);
  std::vector<std::vector<std::int64_t>> out;
  std::vector<std::size_t> stack;
  for (std::size_t seed = 0; seed < sorted.size(); ++seed) {
    if (comp[seed] >= 0) continue;
    const int id = static_cast<int>(out.size());
    out.emplace_back();
    comp[seed] = id;
    stack.assign(1, seed);
    while (!stack.empty()) {
      const std::int64_t v = sorted[stack.back()];
      stack.pop_back();
      out.back().push_back(v);
      const std::int64_t i = v % ni, j = (v % plane) / ni, k = v / plane;
      for (std::int64_t dk = -1; dk <= 1; ++dk)
        for (std::int64_t dj = -1; dj <= 1; ++dj)
          for (std::int64_t di = -1; di <= 1; ++di) {
            if (i + di < 0 || i + di >= ni || j + dj < 0 || j + dj >= nj || k + dk < 0 ||
                (nk > 0 && k + dk >= nk))
              continue;
            const std::int64_t w = v + dk * plane + dj * ni + di;
            const auto it = std::lower_bound(sorted.begin(), sorted.end(), w);
            if (it == sorted.end() || *it != w) continue;
            const std::size_t at = static_cast<std::size_t>(it - sorted.begin());
            if (comp[at] < 0) comp[at] = id, stack.push_back(at);
          }
    }
    std::sort(out.back().begin(), out.back().end());
  }
  return out;
}

double lidc_max_extent_mm(const std::vector<std::int64_t>& voxels, const LidcGrid& grid) {
  if (grid.ni <= 0 || grid.nj <= 0) return 0;
  const std::int64_t plane = std::int64_t(grid.ni) * grid.nj;
  // Per slice and row, the first and last column. The region's convex hull has its corners at
  // corners of such row-end pixels, so the farthest pair of points lies among them.
  std::map<std::int64_t, std::map<int, std::array<int, 2>>> rows;  // k -> j -> {min i, max i}
  for (std::int64_t v : voxels) {
    const int i = static_cast<int>(v % grid.ni), j = static_cast<int>((v % plane) / grid.ni);
    auto [it, fresh] = rows[v / plane].try_emplace(j, std::array<int, 2>{i, i});
    if (!fresh) it->second = {std::min(it->second[0], i), std::max(it->second[1], i)};
  }
  const double sx = grid.pixel_spacing[0], sy = grid.pixel_spacing[1];
  double best = 0;
  std::vector<std::array<int, 2>> ends;
  for (const auto& [k, by_row] : rows) {
    ends.clear();
    for (const auto& [j, x] : by_row) {
      ends.push_back({x[0], j});
      if (x[1] != x[0]) ends.push_back({x[1], j});
    }
    for (std::size_t a = 0; a < ends.size(); ++a)
      for (std::size_t b = a; b < ends.size(); ++b) {
        // The farthest corners of two pixels are |d| + 1 pixels apart along each axis.
        const double dx = (std::abs(ends[a][0] - ends[b][0]) + 1) * sx;
        const double dy = (std::abs(ends[a][1] - ends[b][1]) + 1) * sy;
        best = std::max(best, std::hypot(dx, dy));
      }
  }
  return best;
}

}  // namespace orch
