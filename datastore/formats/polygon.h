// Polygon rasterisation for contour-drawn labels (York LV contours, LIDC nodule outlines).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace orch {

// Sets mask[y * width + x] = value for every pixel whose centre (x, y) lies inside the closed
// polygon `points` (x = column, y = row, 0-based pixel-centre coordinates), with MATLAB
// poly2mask's rule for pixels on the boundary. Points outside the image are allowed; fewer than
// three points fill nothing.
void fill_polygon(const std::vector<std::array<double, 2>>& points, int width, int height,
                  std::uint8_t value, std::vector<std::uint8_t>& mask);

}  // namespace orch
