// Surface metrics (worker/infer/surface_metrics.h) against closed forms worked out by hand, a
// brute-force distance transform, and the empty-mask policy; score_prediction's per-class rows.
#include "worker/infer/surface_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/rng.h"
#include "common/status.h"
#include "worker/infer/scoring.h"

namespace orch {
namespace {

// A (ni, nj, nk) label volume in NIfTI memory order, i fastest.
struct Grid {
  Dims3 d;
  std::vector<std::uint8_t> v;
  explicit Grid(Dims3 dims) : d(dims), v(static_cast<std::size_t>(dims[0] * dims[1] * dims[2])) {}
  std::uint8_t& at(std::int64_t i, std::int64_t j, std::int64_t k) {
    return v[static_cast<std::size_t>((k * d[1] + j) * d[0] + i)];
  }
  // Sets the box [lo, hi] (inclusive) to `value`.
  void box(Dims3 lo, Dims3 hi, std::uint8_t value = 1) {
    for (auto k = lo[2]; k <= hi[2]; ++k)
      for (auto j = lo[1]; j <= hi[1]; ++j)
        for (auto i = lo[0]; i <= hi[0]; ++i) at(i, j, k) = value;
  }
};

constexpr double kInf = std::numeric_limits<double>::infinity();

// Two 10^3 cubes, the prediction shifted by 3 voxels along i, spacing (2, 1, 1) mm:
//   ref i in [2, 11], pred i in [5, 14]; both j, k in [1, 10] (odd 17 x 13 x 12 image).
// Each border has 10^3 - 8^3 = 488 voxels. In cube-local coordinates (ref i' = 0..9, pred
// starts at i' = 3), distances from a ref border voxel to the pred border:
//   - on a j/k side (36 voxels per i' slice): i' in 3..9 lies on the pred border too -> 0 mm
//     (7 x 36 = 252); i' = 0, 1, 2 -> the pred face i' = 3 is (3 - i') x 2 mm: 6, 4, 2 (36 each).
//   - the i' = 0 face interior (8 x 8 = 64): 3 x 2 = 6 mm to the pred face i' = 3.
//   - the i' = 9 face interior (64) lies inside pred; the nearest pred border is a j/k side at
//     min(j', 9-j', k', 9-k') mm (1..4; the far i face is 6 mm): counts 28, 20, 12, 4 for 1..4.
// Multiset: 0 x252, 1 x28, 2 x56, 3 x12, 4 x40, 6 x100; sum 936. The other direction is its
// mirror image (i' -> 12 - i'), so the same.
//   ASSD = 2 x 936 / (2 x 488) = 117/61. HD95: position 0.95 x 487 = 462.65, sorted values 462
//   and 463 are both 6 (indices 388..487 hold the 6s) -> 6 mm. NSD at 1 mm: (252 + 28) / 488.
TEST(SurfaceMetrics, OffsetCubesMatchTheHandDerivedClosedForm) {
  Grid ref({17, 13, 12}), pred({17, 13, 12});
  ref.box({2, 1, 1}, {11, 10, 10});
  pred.box({5, 1, 1}, {14, 10, 10});
  const auto m = surface_metrics(pred.v.data(), ref.v.data(), ref.d, {2, 1, 1}, 1.0);
  EXPECT_NEAR(m.hd95, 6.0, 1e-12);
  EXPECT_NEAR(m.assd, 117.0 / 61.0, 1e-12);
  EXPECT_NEAR(m.nsd, 280.0 / 488.0, 1e-12);
  // At 2 mm the 2 mm distances count too: (280 + 56) / 488.
  EXPECT_NEAR(surface_metrics(pred.v.data(), ref.v.data(), ref.d, {2, 1, 1}, 2.0).nsd,
              336.0 / 488.0, 1e-12);
}

TEST(SurfaceMetrics, ShiftAlongAnotherAxisScalesWithThatAxisSpacing) {
  // The same 3-voxel shift along k with 2 mm along k is the cube case above, axes permuted.
  Grid ref({12, 13, 17}), pred({12, 13, 17});
  ref.box({1, 1, 2}, {10, 10, 11});
  pred.box({1, 1, 5}, {10, 10, 14});
  const auto m = surface_metrics(pred.v.data(), ref.v.data(), ref.d, {1, 1, 2}, 1.0);
  EXPECT_NEAR(m.hd95, 6.0, 1e-12);
  EXPECT_NEAR(m.assd, 117.0 / 61.0, 1e-12);
  // With 1 mm along the shift, redo the count: sides at i' = 0, 1, 2 are 3, 2, 1 mm away; the
  // i' = 0 face interior 3 mm; the i' = 9 face interior min(j', 9-j', k', 9-k', 3) mm (the far
  // face is now only 3 mm away). Multiset 0 x252, 1 x(36+28), 2 x(36+20), 3 x(36+64+16): sum
  // 64 + 112 + 348 = 524, ASSD 524/488; sorted positions 462, 463 fall in the 3s (372..487).
  const auto iso = surface_metrics(pred.v.data(), ref.v.data(), ref.d, {1, 1, 1}, 1.0);
  EXPECT_NEAR(iso.hd95, 3.0, 1e-12);
  EXPECT_NEAR(iso.assd, 524.0 / 488.0, 1e-12);
}

TEST(SurfaceMetrics, ScalingEverySpacingScalesDistancesAndKeepsScaledToleranceDice) {
  Grid ref({15, 11, 9}), pred({15, 11, 9});
  ref.box({2, 2, 1}, {9, 8, 6});
  pred.box({4, 1, 2}, {12, 7, 7});
  const auto a = surface_metrics(pred.v.data(), ref.v.data(), ref.d, {0.7, 1.1, 2.3}, 1.5);
  const auto b = surface_metrics(pred.v.data(), ref.v.data(), ref.d, {2.1, 3.3, 6.9}, 4.5);
  EXPECT_NEAR(b.hd95, 3 * a.hd95, 1e-9);
  EXPECT_NEAR(b.assd, 3 * a.assd, 1e-9);
  EXPECT_NEAR(b.nsd, a.nsd, 1e-12);
  // MONAI's recipe in SciPy (binary_erosion borders, distance_transform_edt with sampling,
  // numpy.quantile) on these masks gives 2.692582403567252, 1.4756521827850109, 0.5859030837.
  EXPECT_NEAR(a.hd95, 2.692582403567252, 1e-9);
  EXPECT_NEAR(a.assd, 1.4756521827850109, 1e-9);
  EXPECT_NEAR(a.nsd, 0.5859030837004405, 1e-9);
}

// Concentric balls of radius R1 = 6 and R2 = 11 mm. A border voxel of a digital ball of radius R
// has |x| <= R and a 6-neighbour outside, so |x| > R - smax; any distance between the two
// borders is therefore > (R2 - R1) - smax. The borders also pass within one voxel diagonal of
// the continuous spheres, so no nearest distance exceeds (R2 - R1) + diagonal.
TEST(SurfaceMetrics, ConcentricBallsAreTheirRadiusDifferenceApartUpToOneVoxel) {
  for (const Spacing3 sp : {Spacing3{1, 1, 1}, Spacing3{0.8, 0.9, 1.2}}) {
    Grid inner({40, 40, 40}), outer({40, 40, 40});
    for (std::int64_t k = 0; k < 40; ++k)
      for (std::int64_t j = 0; j < 40; ++j)
        for (std::int64_t i = 0; i < 40; ++i) {
          const double x = (i - 19.5) * sp[0], y = (j - 19.5) * sp[1], z = (k - 19.5) * sp[2];
          const double r = std::sqrt(x * x + y * y + z * z);
          inner.at(i, j, k) = r <= 6.0;
          outer.at(i, j, k) = r <= 11.0;
        }
    const double smax = std::max({sp[0], sp[1], sp[2]});
    const double diag = std::sqrt(sp[0] * sp[0] + sp[1] * sp[1] + sp[2] * sp[2]);
    const auto m = surface_metrics(outer.v.data(), inner.v.data(), inner.d, sp, 1.0);
    EXPECT_GT(m.assd, 5.0 - smax);
    EXPECT_LE(m.assd, 5.0 + diag);
    EXPECT_GT(m.hd95, 5.0 - smax);
    EXPECT_LE(m.hd95, 5.0 + diag);
    EXPECT_EQ(m.nsd, 0.0);  // every distance exceeds 5 - smax >= 3.8 mm > 1 mm
  }
}

TEST(SurfaceMetrics, IdenticalMasksAreZeroApartWithFullSurfaceDice) {
  Grid a({9, 8, 7});
  a.box({1, 2, 0}, {6, 7, 4});  // touches two image faces
  a.at(8, 0, 6) = 1;            // and an isolated corner voxel
  const auto m = surface_metrics(a.v.data(), a.v.data(), a.d, {0.5, 0.7, 3.0}, 0.0);
  EXPECT_EQ(m.hd95, 0.0);
  EXPECT_EQ(m.assd, 0.0);
  EXPECT_EQ(m.nsd, 1.0);
}

TEST(SurfaceMetrics, BothEmptyIsUndefinedAndOneEmptyIsInfiniteWithZeroDice) {
  Grid empty({6, 5, 4}), some({6, 5, 4});
  some.box({1, 1, 1}, {3, 2, 2});
  const Spacing3 sp{1, 1, 1};
  const auto none = surface_metrics(empty.v.data(), empty.v.data(), empty.d, sp, 1.0);
  EXPECT_TRUE(std::isnan(none.hd95));
  EXPECT_TRUE(std::isnan(none.assd));
  EXPECT_TRUE(std::isnan(none.nsd));
  for (const auto& m : {surface_metrics(empty.v.data(), some.v.data(), some.d, sp, 1.0),
                        surface_metrics(some.v.data(), empty.v.data(), some.d, sp, 1.0)}) {
    EXPECT_EQ(m.hd95, kInf);
    EXPECT_EQ(m.assd, kInf);
    EXPECT_EQ(m.nsd, 0.0);
  }
}

TEST(SurfaceMetrics, BorderFollowsSciPyErosionWithOutsideAsBackground) {
  // A full 5 x 4 x 3 volume: only the 3 x 2 x 1 core keeps all six neighbours inside.
  Grid full({5, 4, 3});
  full.box({0, 0, 0}, {4, 3, 2});
  const auto b = border_voxels(full.v.data(), full.d);
  int n = 0;
  for (auto x : b) n += x;
  EXPECT_EQ(n, 60 - 6);
  // A 3^3 cube inside a larger image: 26 border voxels, the centre is interior.
  Grid cube({7, 6, 5});
  cube.box({2, 1, 1}, {4, 3, 3});
  const auto c = border_voxels(cube.v.data(), cube.d);
  n = 0;
  for (auto x : c) n += x;
  EXPECT_EQ(n, 26);
  EXPECT_EQ(c[static_cast<std::size_t>((2 * 6 + 2) * 7 + 3)], 0);
}

TEST(SurfaceMetrics, DistanceTransformEqualsBruteForceOnRandomAnisotropicMasks) {
  Rng rng(20240611);
  const Spacing3 sp{0.7, 1.3, 2.1};
  for (int trial = 0; trial < 12; ++trial) {
    const Dims3 d{5 + trial % 4, 4 + trial % 3, 3 + trial % 5};
    Grid g(d);
    const double density = 0.02 + 0.05 * (trial % 4);
    for (auto& x : g.v) x = rng.uniform() < density ? 1 : 0;
    const auto edt = squared_edt(g.v.data(), d, sp);
    std::size_t idx = 0;
    for (std::int64_t k = 0; k < d[2]; ++k)
      for (std::int64_t j = 0; j < d[1]; ++j)
        for (std::int64_t i = 0; i < d[0]; ++i, ++idx) {
          double best = kInf;
          for (std::int64_t c = 0; c < d[2]; ++c)
            for (std::int64_t b = 0; b < d[1]; ++b)
              for (std::int64_t a = 0; a < d[0]; ++a)
                if (g.at(a, b, c)) {
                  const double dx = (i - a) * sp[0], dy = (j - b) * sp[1], dz = (k - c) * sp[2];
                  best = std::min(best, dx * dx + dy * dy + dz * dz);
                }
          if (std::isinf(best))
            EXPECT_EQ(edt[idx], kInf);
          else
            EXPECT_NEAR(edt[idx], best, 1e-9) << "trial " << trial << " voxel " << idx;
        }
  }
}

TEST(SurfaceMetrics, QuantileInterpolatesLinearlyLikeTorch) {
  std::vector<double> v{4, 1, 3, 2};
  EXPECT_NEAR(quantile_linear(v, 0.95), 3.85, 1e-12);  // position 2.85 between 3 and 4
  std::vector<double> one{7};
  EXPECT_EQ(quantile_linear(one, 0.95), 7.0);
  std::vector<double> none;
  EXPECT_TRUE(std::isnan(quantile_linear(none, 0.95)));
}

TEST(SurfaceMetrics, RejectsBadSpacingAndTolerance) {
  Grid a({3, 3, 3});
  EXPECT_THROW(surface_metrics(a.v.data(), a.v.data(), a.d, {1, 0, 1}, 1.0), Error);
  EXPECT_THROW(surface_metrics(a.v.data(), a.v.data(), a.d, {1, 1, 1}, -1.0), Error);
}

TEST(ScorePrediction, GivesCountsAndSurfaceMetricsForEveryForegroundClass) {
  // Class 1: the offset cubes above. Class 2: predicted but absent from the reference. Class 3:
  // absent from both.
  Grid ref({17, 13, 12}), pred({17, 13, 12});
  ref.box({2, 1, 1}, {11, 10, 10});
  pred.box({5, 1, 1}, {14, 10, 10});
  pred.at(0, 12, 11) = 2;
  const auto rows =
      score_prediction("case7", pred.v.data(), ref.v.data(), ref.d, {2, 1, 1}, 4, 1.0);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].case_id, "case7");
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_EQ(rows[0].counts.tp, 700);  // overlap i in [5, 11]: 7 x 10 x 10
  EXPECT_EQ(rows[0].counts.fp, 300);
  EXPECT_EQ(rows[0].counts.fn, 300);
  EXPECT_EQ(rows[0].counts.tn, 17 * 13 * 12 - 1300);  // the class-2 voxel: class-1 TN
  EXPECT_NEAR(rows[0].hd95, 6.0, 1e-12);
  EXPECT_NEAR(rows[0].assd, 117.0 / 61.0, 1e-12);
  EXPECT_NEAR(rows[0].nsd, 280.0 / 488.0, 1e-12);
  EXPECT_EQ(rows[1].label, 2);
  EXPECT_EQ(rows[1].counts.fp, 1);
  EXPECT_EQ(rows[1].hd95, kInf);
  EXPECT_EQ(rows[1].nsd, 0.0);
  EXPECT_EQ(rows[2].label, 3);
  EXPECT_TRUE(std::isnan(rows[2].hd95));
  EXPECT_TRUE(std::isnan(rows[2].nsd));
}

}  // namespace
}  // namespace orch
