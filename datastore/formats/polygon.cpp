#include "datastore/formats/polygon.h"

#include <algorithm>
#include <cmath>

namespace orch {

// Scanline even-odd fill at pixel centres. For each row y, the crossings of the polygon's edges
// with the horizontal line through the row's centres are collected (an edge counts for y in
// [min(y0, y1), max(y0, y1)), so shared vertices count once), sorted, and the pixels whose
// centres lie in [x_a, x_b) between pairs are set. A centre exactly on a left edge is inside and
// on a right edge outside, which is poly2mask's behaviour for axis-aligned edges.
void fill_polygon(const std::vector<std::array<double, 2>>& points, int width, int height,
                  std::uint8_t value, std::vector<std::uint8_t>& mask) {
  const std::size_t n = points.size();
  if (n < 3 || width <= 0 || height <= 0) return;
  std::vector<double> xs;
  for (int y = 0; y < height; ++y) {
    xs.clear();
    for (std::size_t e = 0; e < n; ++e) {
      const auto& a = points[e];
      const auto& b = points[(e + 1) % n];
      const double y0 = std::min(a[1], b[1]), y1 = std::max(a[1], b[1]);
      if (!(y >= y0 && y < y1)) continue;  // horizontal edges never cross
      xs.push_back(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
    }
    std::sort(xs.begin(), xs.end());
    for (std::size_t p = 0; p + 1 < xs.size(); p += 2) {
      const int x0 = std::max(0, static_cast<int>(std::ceil(xs[p])));
      const int x1 = std::min(width, static_cast<int>(std::ceil(xs[p + 1])));
      for (int x = x0; x < x1; ++x) mask[static_cast<std::size_t>(y) * width + x] = value;
    }
  }
}

}  // namespace orch
