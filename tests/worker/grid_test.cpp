// Grid sampling and aggregation against TorchIO's rules (docs/MODELS.md §11), with start lists
// worked out by hand and volumes that the aggregators must give back exactly.
#include "worker/data/grid.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/status.h"

namespace orch {
namespace {

using Starts = std::vector<int64_t>;

TEST(GridStarts, FollowTheRangeRulePlusTheLastFittingStart) {
  EXPECT_EQ(grid_starts(10, 4, 2), (Starts{0, 2, 4, 6}));  // range(0, 7, 2); 6 = L - p already
  EXPECT_EQ(grid_starts(10, 4, 0), (Starts{0, 4, 6}));     // range(0, 7, 4) + [6]
  EXPECT_EQ(grid_starts(10, 3, 0), (Starts{0, 3, 6, 7}));  // range(0, 8, 3) + [7]
  EXPECT_EQ(grid_starts(4, 4, 2), (Starts{0}));
}

TEST(GridStarts, RejectOddOrTooLargeOverlap) {
  EXPECT_THROW(grid_starts(10, 4, 1), Error);
  EXPECT_THROW(grid_starts(10, 4, 4), Error);
  GridOptions opt;
  opt.patch = {4, 4, 4};
  opt.overlap = {2, 3, 2};
  EXPECT_THROW(GridSampler({10, 10, 10}, opt), Error);
}

TEST(GridSampler, LocationsAreEveryCombinationSortedByIJK) {
  GridOptions opt;
  opt.patch = {4, 3, 5};
  opt.overlap = {2, 0, 0};
  const GridSampler grid({10, 7, 5}, opt);  // i: {0,2,4,6}; j: {0,3,4}; k: {0}
  const auto& locs = grid.locations();
  ASSERT_EQ(locs.size(), 4u * 3u * 1u);
  EXPECT_EQ(locs.front().start, (Index3{0, 0, 0}));
  EXPECT_EQ(locs[1].start, (Index3{0, 3, 0}));
  EXPECT_EQ(locs[3].start, (Index3{2, 0, 0}));
  EXPECT_EQ(locs.back().start, (Index3{6, 4, 0}));
  for (size_t n = 1; n < locs.size(); ++n) EXPECT_LT(locs[n - 1].start, locs[n].start);
}

TEST(GridSampler, VolumeSmallerThanThePatchNeedsPadding) {
  GridOptions opt;
  opt.patch = {8, 8, 8};
  EXPECT_THROW(GridSampler({10, 6, 10}, opt), Error);
  opt.padding = GridPadding::kConstant;
  const GridSampler grid({10, 6, 10}, opt);
  EXPECT_EQ(grid.padded_shape(), (Index3{10, 8, 10}));
  EXPECT_EQ(grid.pad_before(), (Index3{0, 1, 0}));
}

torch::Tensor random_volume(int64_t c, int64_t z, int64_t y, int64_t x) {
  torch::manual_seed(3);  // test data only; the code under test draws nothing
  return torch::rand({c, z, y, x});
}

torch::Tensor aggregate_own_patches(const torch::Tensor& volume, const GridOptions& opt,
                                    OverlapMode mode) {
  const GridSampler grid({volume.size(3), volume.size(2), volume.size(1)}, opt);
  const auto padded = grid.pad(volume);
  GridAggregator agg(grid, mode);
  for (const auto& loc : grid.locations()) agg.add(GridSampler::crop(padded, loc), loc);
  return agg.output();
}

TEST(GridAggregator, CropModeRebuildsTheVolumeExactly) {
  const auto volume = random_volume(2, 9, 11, 10);
  GridOptions opt;
  opt.patch = {4, 5, 3};
  opt.overlap = {2, 2, 0};
  EXPECT_TRUE(torch::equal(aggregate_own_patches(volume, opt, OverlapMode::kCrop), volume));
  opt.padding = GridPadding::kConstant;
  opt.pad_value = -7;
  const auto out = aggregate_own_patches(volume, opt, OverlapMode::kCrop);
  EXPECT_EQ(out.sizes(), volume.sizes());
  EXPECT_TRUE(torch::equal(out, volume));
}

TEST(GridAggregator, EveryModeRebuildsAVolumeFromItsOwnPatches) {
  const auto volume = random_volume(3, 7, 10, 9);
  GridOptions opt;
  opt.patch = {6, 4, 4};
  opt.overlap = {4, 2, 2};
  for (auto padding : {GridPadding::kNone, GridPadding::kEdge}) {
    opt.padding = padding;
    for (auto mode : {OverlapMode::kAverage, OverlapMode::kHann, OverlapMode::kGaussian}) {
      const auto out = aggregate_own_patches(volume, opt, mode);
      ASSERT_EQ(out.sizes(), volume.sizes());
      EXPECT_TRUE(torch::allclose(out, volume, 1e-5, 1e-5)) << static_cast<int>(mode);
    }
  }
}

TEST(GridAggregator, WeightedModesOfConstantPatchesGiveTheConstant) {
  GridOptions opt;
  opt.patch = {5, 4, 6};
  opt.overlap = {2, 2, 4};
  opt.padding = GridPadding::kConstant;
  const GridSampler grid({11, 7, 13}, opt);
  for (auto mode : {OverlapMode::kAverage, OverlapMode::kHann, OverlapMode::kGaussian}) {
    GridAggregator agg(grid, mode);
    for (const auto& loc : grid.locations()) agg.add(torch::full({2, 6, 4, 5}, 3.5), loc);
    const auto out = agg.output();
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 13, 7, 11}));
    EXPECT_TRUE(torch::allclose(out, torch::full_like(out, 3.5), 1e-6, 1e-6));
  }
}

TEST(GridAggregator, PaddingIsCroppedBackToTheOriginalShape) {
  const auto volume = random_volume(1, 3, 5, 6);  // smaller than the patch on every axis
  GridOptions opt;
  opt.patch = {8, 8, 8};
  opt.overlap = {2, 2, 2};
  opt.padding = GridPadding::kEdge;
  const GridSampler grid({6, 5, 3}, opt);
  EXPECT_EQ(grid.padded_shape(), (Index3{8, 8, 8}));
  EXPECT_EQ(grid.pad(volume).sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_TRUE(torch::equal(aggregate_own_patches(volume, opt, OverlapMode::kCrop), volume));
}

TEST(PatchWeights, HannIsTorchHannWindowWithoutItsZeroEnds) {
  const auto w = patch_weights({5, 3, 4}, OverlapMode::kHann).to(torch::kFloat64);
  const auto h = [](int64_t p) {
    return torch::hann_window(p + 2, /*periodic=*/false, torch::kFloat64).slice(0, 1, p + 1);
  };
  const auto expected = h(4).view({-1, 1, 1}) * h(3).view({1, -1, 1}) * h(5).view({1, 1, -1});
  ASSERT_EQ(w.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(w, expected, 1e-6, 0));
  // By hand: k = 1 of p = 4 is 0.5 - 0.5 cos(2 pi 2/5) = 0.5 + 0.5 cos(pi/5); j = 1 of p = 3 and
  // i = 2 of p = 5 are the window centres, 1.
  EXPECT_NEAR(w[1][1][2].item<double>(), 0.5 + 0.5 * std::cos(M_PI / 5), 1e-6);
}

TEST(PatchWeights, GaussianPeaksAtTheCentreWithSigmaAnEighthOfThePatch) {
  const auto w = patch_weights({8, 16, 8}, OverlapMode::kGaussian).to(torch::kFloat64);
  EXPECT_NEAR(w[4][8][4].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(w.max().item<double>(), 1.0, 1e-6);
  // sigma = 1 along i and k, 2 along j.
  EXPECT_NEAR(w[4][8][5].item<double>(), std::exp(-0.5), 1e-6);
  EXPECT_NEAR(w[4][10][4].item<double>(), std::exp(-0.5), 1e-6);
  EXPECT_NEAR(w[2][8][4].item<double>(), std::exp(-2.0), 1e-6);
  EXPECT_GT(w.min().item<double>(), 0);
}

}  // namespace
}  // namespace orch
