// prepare_case on a hand-made case, and the SliceSampler built on prepared cases.
#include "worker/data/preprocess.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "common/rng.h"
#include "common/status.h"
#include "worker/data/slice_sampler.h"

namespace orch {
namespace {

constexpr int64_t kNi = 5, kNj = 4, kNk = 3;

int64_t voxel(int64_t i, int64_t j, int64_t k) { return (k * kNj + j) * kNi + i; }

// Intensity of voxel (i, j, k) of channel c: every voxel is distinct and readable.
float value(int64_t i, int64_t j, int64_t k, int64_t c = 0) {
  return static_cast<float>(1000 * c + 100 * k + 10 * j + i);
}

// ni=5, nj=4, nk=3. Labels: slice 0 none; slice 1: (i=1, j=2) = 1 and (i=4, j=0) = 2;
// slice 2: (i=3, j=3) = 2 only.
Case make_case(int64_t channels = 1) {
  Case c;
  c.id = "toy_007";
  c.image.dims = {kNi, kNj, kNk};
  c.image.channels = channels;
  c.image.data.resize(static_cast<size_t>(channels * kNi * kNj * kNk));
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t k = 0; k < kNk; ++k)
      for (int64_t j = 0; j < kNj; ++j)
        for (int64_t i = 0; i < kNi; ++i)
          c.image.data[static_cast<size_t>(ch * kNi * kNj * kNk + voxel(i, j, k))] =
              value(i, j, k, ch);
  c.label.assign(static_cast<size_t>(kNi * kNj * kNk), 0);
  c.label[static_cast<size_t>(voxel(1, 2, 1))] = 1;
  c.label[static_cast<size_t>(voxel(4, 0, 1))] = 2;
  c.label[static_cast<size_t>(voxel(3, 3, 2))] = 2;
  return c;
}

template <typename Fn>
void expect_error_mentioning(Fn&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected orch::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(PrepareCase, LaysOutSlicesFirstWithRowsAlongJAndColumnsAlongI) {
  const Case c = make_case();
  const PreparedCase p = prepare_case(c, PreprocessOptions{}, 3);
  EXPECT_EQ(p.id, "toy_007");
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 4, 5}));
  ASSERT_EQ(p.label.sizes(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(p.image.scalar_type(), torch::kFloat32);
  EXPECT_EQ(p.label.scalar_type(), torch::kUInt8);
  for (int64_t k = 0; k < kNk; ++k)
    for (int64_t j = 0; j < kNj; ++j)
      for (int64_t i = 0; i < kNi; ++i)
        EXPECT_EQ(p.image[0][k][j][i].item<float>(), value(i, j, k));
  EXPECT_EQ(p.label[1][2][1].item<int>(), 1);
  EXPECT_EQ(p.label[1][0][4].item<int>(), 2);
  EXPECT_EQ(p.label[2][3][3].item<int>(), 2);
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 3);
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{1, 2}));
}

// Regression: with one channel and no window, the prepared image aliased the Case's buffer and
// trained on freed memory once the Case was gone.
TEST(PrepareCase, OwnsItsDataAfterTheCaseIsGone) {
  PreparedCase p;
  {
    Case c = make_case();
    p = prepare_case(c, PreprocessOptions{}, 3);
    std::fill(c.image.data.begin(), c.image.data.end(), -7.0f);  // a later writer of that memory
  }
  for (int64_t k = 0; k < kNk; ++k)
    for (int64_t j = 0; j < kNj; ++j)
      for (int64_t i = 0; i < kNi; ++i)
        EXPECT_EQ(p.image[0][k][j][i].item<float>(), value(i, j, k));
}

TEST(PrepareCase, KeepsChannelsSecond) {
  const Case c = make_case(/*channels=*/2);
  const PreparedCase p = prepare_case(c, PreprocessOptions{}, 3);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(p.image[1][2][3][4].item<float>(), 1234.0f);
  EXPECT_EQ(p.image[0][1][2][3].item<float>(), 123.0f);
  EXPECT_EQ(p.image[1][0][0][0].item<float>(), 1000.0f);
}

TEST(PrepareCase, WindowClipsThenScalesToUnitRange) {
  PreprocessOptions o;
  o.steps.push_back({"window", {10, 110}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  // v -> (clamp(v, 10, 110) - 10) / 100
  EXPECT_FLOAT_EQ(p.image[0][0][0][0].item<float>(), 0.0f);   // v = 0, clipped up
  EXPECT_FLOAT_EQ(p.image[0][0][0][4].item<float>(), 0.0f);   // v = 4
  EXPECT_FLOAT_EQ(p.image[0][0][1][0].item<float>(), 0.0f);   // v = 10, the lower bound
  EXPECT_FLOAT_EQ(p.image[0][0][2][3].item<float>(), 0.13f);  // v = 23
  EXPECT_FLOAT_EQ(p.image[0][0][3][4].item<float>(), 0.24f);  // v = 34
  EXPECT_FLOAT_EQ(p.image[0][1][0][0].item<float>(), 0.9f);   // v = 100
  EXPECT_FLOAT_EQ(p.image[0][1][1][0].item<float>(), 1.0f);   // v = 110, the upper bound
  EXPECT_FLOAT_EQ(p.image[0][1][3][4].item<float>(), 1.0f);   // v = 134, clipped down
  EXPECT_FLOAT_EQ(p.image[0][2][3][4].item<float>(), 1.0f);   // v = 234
  EXPECT_GE(p.image.min().item<float>(), 0.0f);
  EXPECT_LE(p.image.max().item<float>(), 1.0f);
}

TEST(PrepareCase, LabelMapDropsTumourSoOnlyVesselSlicesAreForeground) {
  PreprocessOptions o;
  o.label_map = {{2, 0}};
  const PreparedCase p = prepare_case(make_case(), o, 2);
  EXPECT_EQ(p.label[1][2][1].item<int>(), 1);
  EXPECT_EQ(p.label[1][0][4].item<int>(), 0);
  EXPECT_EQ(p.label[2][3][3].item<int>(), 0);
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 1);
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{1}));
}

TEST(PrepareCase, LabelMapCanSwapClasses) {
  PreprocessOptions o;
  o.label_map = {{1, 2}, {2, 1}};
  const PreparedCase p = prepare_case(make_case(), o, 3);
  EXPECT_EQ(p.label[1][2][1].item<int>(), 2);
  EXPECT_EQ(p.label[1][0][4].item<int>(), 1);
  EXPECT_EQ(p.label[2][3][3].item<int>(), 1);
  EXPECT_EQ(p.label[0].sum().item<int64_t>(), 0);
}

TEST(PrepareCase, LabelBeyondNumClassesThrowsNamingTheCase) {
  expect_error_mentioning([] { prepare_case(make_case(), PreprocessOptions{}, 2); },
                          {"toy_007", "label 2"});
  PreprocessOptions o;
  o.label_map = {{1, 5}};
  expect_error_mentioning([&] { prepare_case(make_case(), o, 3); }, {"toy_007", "label 5"});
}

TEST(PrepareCase, CropKeepsTheHalfOpenBoxInIAndJ) {
  PreprocessOptions o;
  o.steps.push_back({"crop", {1, 4, 1, 3}, ""});  // i in [1, 4), j in [1, 3)
  const PreparedCase p = prepare_case(make_case(), o, 3);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 2, 3}));
  ASSERT_EQ(p.label.sizes(), (std::vector<int64_t>{3, 2, 3}));
  for (int64_t k = 0; k < kNk; ++k)
    for (int64_t jj = 0; jj < 2; ++jj)
      for (int64_t ii = 0; ii < 3; ++ii)
        EXPECT_EQ(p.image[0][k][jj][ii].item<float>(), value(1 + ii, 1 + jj, k));
  // (i=1, j=2) survives at (ii=0, jj=1); (i=4, j=0) and (i=3, j=3) fall outside.
  EXPECT_EQ(p.label[1][1][0].item<int>(), 1);
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 1);
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{1}));
}

TEST(PrepareCase, CropThatRemovesAllForegroundLeavesNoForegroundSlices) {
  PreprocessOptions o;
  o.steps.push_back({"crop", {0, 2, 0, 2}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  EXPECT_EQ(p.label.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_TRUE(p.fg_slices.empty());
}

TEST(PrepareCase, CropOfTheWholePlaneIsAccepted) {
  PreprocessOptions o;
  o.steps.push_back({"crop", {0, 5, 0, 4}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  EXPECT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 4, 5}));
}

TEST(PrepareCase, CropOutsideTheVolumeThrowsNamingTheCase) {
  PreprocessOptions o;
  o.steps.push_back({"crop", {0, 6, 0, 4}, ""});  // i1 > ni = 5
  expect_error_mentioning([&] { prepare_case(make_case(), o, 3); }, {"toy_007", "5x4"});
  o.steps = {{"crop", {0, 5, 2, 5}, ""}};  // j1 > nj = 4
  expect_error_mentioning([&] { prepare_case(make_case(), o, 3); }, {"toy_007"});
}

TEST(PrepareCase, ResizeGivesTheRequestedSizeAndNearestLabels) {
  PreprocessOptions o;
  o.steps.push_back({"resize", {7, 6}, ""});  // (i, j): W = 7, H = 6
  const PreparedCase p = prepare_case(make_case(), o, 3);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 6, 7}));
  ASSERT_EQ(p.label.sizes(), (std::vector<int64_t>{3, 6, 7}));
  EXPECT_EQ(p.label.scalar_type(), torch::kUInt8);
  // Nearest labels stay in the label set.
  const auto values = std::get<0>(at::_unique(p.label.to(torch::kInt64)));
  for (int64_t n = 0; n < values.numel(); ++n) {
    const auto v = values[n].item<int64_t>();
    EXPECT_TRUE(v == 0 || v == 1 || v == 2) << v;
  }
  // Nearest-exact takes source floor((dst + 0.5) * in / out), the voxel whose centre is nearest
  // the destination centre (so labels stay aligned with the bilinear image and the affine):
  // along i (5 -> 7) dst 0..6 read 0,1,1,2,3,3,4; along j (4 -> 6) dst 0..5 read 0,1,1,2,3,3.
  // So (i=1, j=2) becomes dst i in {1, 2}, dst j = 3.
  EXPECT_EQ(p.label[1][3][1].item<int>(), 1);
  EXPECT_EQ(p.label[1][3][2].item<int>(), 1);
  EXPECT_EQ(p.label.eq(1).sum().item<int64_t>(), 2);
  // (i=4, j=0) -> dst (i=6, j=0); (i=3, j=3) in slice 2 -> dst i in {4, 5}, j in {4, 5}.
  EXPECT_EQ(p.label[1][0][6].item<int>(), 2);
  EXPECT_EQ(p.label[2][4][4].item<int>(), 2);
  EXPECT_EQ(p.label[2][5][5].item<int>(), 2);
  EXPECT_EQ(p.label.eq(2).sum().item<int64_t>(), 5);
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{1, 2}));
  // Bilinear (align_corners false) of an image linear in i and j is exact inside: dst i = 3
  // reads src (3.5 * 5/7 - 0.5) = 2, dst j = 2 reads src (2.5 * 4/6 - 0.5) = 7/6.
  EXPECT_NEAR(p.image[0][0][2][3].item<float>(), 10.0 * 7.0 / 6.0 + 2.0, 1e-4);
  EXPECT_NEAR(p.image[0][2][2][3].item<float>(), 200 + 10.0 * 7.0 / 6.0 + 2.0, 1e-3);
}

TEST(PrepareCase, CropThenResizeThenWindowCompose) {
  PreprocessOptions o;
  o.steps.push_back({"window", {0, 1000}, ""});
  o.label_map = {{2, 0}};
  o.steps.push_back({"crop", {1, 3, 1, 4}, ""});  // 2 x 3 in-plane
  o.steps.push_back({"resize", {8, 9}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 2);
  EXPECT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 9, 8}));
  EXPECT_EQ(p.label.sizes(), (std::vector<int64_t>{3, 9, 8}));
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{1}));
  EXPECT_LE(p.label.max().item<int>(), 1);
  // Window [0, 1000]: every kept value (11..232) lands in [0.011, 0.232].
  EXPECT_GE(p.image.min().item<float>(), 0.011f - 1e-6f);
  EXPECT_LE(p.image.max().item<float>(), 0.232f + 1e-6f);
}

TEST(PrepareCase, ResampleHalvesTheSpacingWithTrilinearImagesNearestLabelsAndAShiftedOrigin) {
  Case c = make_case();
  c.image.spacing = {2, 2, 1};
  c.image.affine = {{{2, 0, 0, 10}, {0, 2, 0, 20}, {0, 0, 1, 30}, {0, 0, 0, 1}}};
  PreprocessOptions o;
  o.steps.push_back({"resample", {1, 1, 1}, ""});
  const PreparedCase p = prepare_case(c, o, 3);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 3, 8, 10}));
  EXPECT_EQ(p.spacing, (std::array<double, 3>{1, 1, 1}));
  // New voxel n sits at old index (n + 0.5) / 2 - 0.5: n = 0 at -0.25, so the origin moves by
  // -0.25 voxel = -0.5 mm along i and j; k is unchanged.
  const Affine want = {{{1, 0, 0, 9.5}, {0, 1, 0, 19.5}, {0, 0, 1, 30}, {0, 0, 0, 1}}};
  for (int r = 0; r < 4; ++r)
    for (int q = 0; q < 4; ++q) EXPECT_NEAR(p.affine[r][q], want[r][q], 1e-12) << r << "," << q;
  // The image is linear in i and j, so trilinear is exact inside: new (i=3, j=5, k=1) reads old
  // (1.25, 2.25, 1) = 100 + 22.5 + 1.25.
  EXPECT_NEAR(p.image[0][1][5][3].item<float>(), 123.75, 1e-4);
  // Nearest-exact: new index n reads old floor((n + 0.5) / 2); the vessel voxel (1, 2, 1) covers
  // i 2..3, j 4..5.
  EXPECT_EQ(p.label.eq(1).sum().item<int64_t>(), 4);
  EXPECT_EQ(p.label[1][4][2].item<int>(), 1);
  EXPECT_EQ(p.label[1][5][3].item<int>(), 1);
}

TEST(PrepareCase, CropForegroundKeepsTheLabelBoxPlusMarginsAndMovesTheOrigin) {
  Case c = make_case();
  c.image.affine = {{{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 2, 5}, {0, 0, 0, 1}}};
  PreprocessOptions o;
  o.label_map = {{2, 0}};  // foreground = the single voxel (1, 2, 1)
  o.steps.push_back({"crop_foreground", {0, 1, 0}, ""});
  const PreparedCase p = prepare_case(c, o, 2);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 1, 3, 1}));  // j 1..3, i 1, k 1
  EXPECT_EQ(p.image[0][0][1][0].item<float>(), value(1, 2, 1));
  EXPECT_EQ(p.label[0][1][0].item<int>(), 1);
  // Voxel (0, 0, 0) of the crop is old (1, 1, 1): world (-1, -1, 7).
  EXPECT_DOUBLE_EQ(p.affine[0][3], -1);
  EXPECT_DOUBLE_EQ(p.affine[1][3], -1);
  EXPECT_DOUBLE_EQ(p.affine[2][3], 7);
}

// Regression: legacy nearest read source floor(dst * scale), shifting a 3x-downsampled label a
// whole voxel towards the origin relative to the trilinear image and the new affine.
TEST(PrepareCase, DownsampledLabelsStayCentredOnTheirVoxels) {
  Case c;
  c.id = "down";
  c.image.dims = {9, 1, 1};
  c.image.data.assign(9, 0.0f);
  c.label.assign(9, 0);
  for (int i = 3; i < 6; ++i) c.label[static_cast<size_t>(i)] = 1;  // the middle third
  PreprocessOptions o;
  o.steps.push_back({"resample", {3, 1, 1}, ""});  // spacing 1 -> 3: 9 voxels -> 3
  const PreparedCase p = prepare_case(c, o, 2);
  ASSERT_EQ(p.label.numel(), 3);
  // New voxel n is centred on old voxel 3n + 1: only the middle one holds the label.
  EXPECT_EQ(p.label[0][0][0].item<int>(), 0);
  EXPECT_EQ(p.label[0][0][1].item<int>(), 1);
  EXPECT_EQ(p.label[0][0][2].item<int>(), 0);
  EXPECT_DOUBLE_EQ(p.affine[0][3], 1.0);  // old voxel 1's centre
}

TEST(PrepareCase, BoxCropWithSliceRangeKeepsThoseSlices) {
  PreprocessOptions o;
  o.steps.push_back({"crop", {0, 5, 0, 4, 1, 3}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 2, 4, 5}));
  EXPECT_EQ(p.image[0][0][3][2].item<float>(), value(2, 3, 1));
  EXPECT_EQ(p.fg_slices, (std::vector<int64_t>{0, 1}));
}

TEST(PrepareCase, ZnormOverTheForegroundGivesMeanZeroAndUnbiasedStdOneThere) {
  PreprocessOptions o;
  o.steps.push_back({"znorm", {}, "foreground"});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  // Foreground voxels hold 121, 104 and 233: mean 152.667, unbiased std 70.0428.
  const double m = (121.0 + 104 + 233) / 3;
  const double sd =
      std::sqrt(((121 - m) * (121 - m) + (104 - m) * (104 - m) + (233 - m) * (233 - m)) / 2);
  EXPECT_NEAR(p.image[0][1][2][1].item<float>(), (121 - m) / sd, 1e-5);
  EXPECT_NEAR(p.image[0][2][3][3].item<float>(), (233 - m) / sd, 1e-5);
  EXPECT_NEAR(p.image[0][0][0][0].item<float>(), (0 - m) / sd, 1e-5);  // outside, same map
}

TEST(PrepareCase, ZnormOfAConstantChannelNamesTheCaseAndStep) {
  Case c = make_case();
  std::fill(c.image.data.begin(), c.image.data.end(), 7.0f);
  PreprocessOptions o;
  o.steps.push_back({"znorm", {}, "all"});
  expect_error_mentioning([&] { prepare_case(c, o, 3); }, {"toy_007", "znorm", "constant"});
}

TEST(PrepareCase, ScaleMapsEachChannelsMinAndMaxOntoTheRange) {
  PreprocessOptions o;
  o.steps.push_back({"scale", {-1, 1}, ""});
  const PreparedCase p = prepare_case(make_case(), o, 3);
  // Values run 0..234: 0 -> -1, 234 -> 1, 117 -> 0.
  EXPECT_FLOAT_EQ(p.image[0][0][0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(p.image[0][2][3][4].item<float>(), 1.0f);
  EXPECT_NEAR(p.image[0][1][1][7 - 7].item<float>(), -1 + 2 * 110.0 / 234, 1e-6);
}

// ---- crop_nonzero, center_crop, pad ----------------------------------------------------------

// A case of ni x nj x nk voxels, zero everywhere (image and label), with affine
// diag(2, 3, 4) and origin (10, 20, 30).
Case blank_case(int64_t ni, int64_t nj, int64_t nk, int64_t channels = 1) {
  Case c;
  c.id = "blank";
  c.image.dims = {ni, nj, nk};
  c.image.channels = channels;
  c.image.spacing = {2, 3, 4};
  c.image.affine = {{{2, 0, 0, 10}, {0, 3, 0, 20}, {0, 0, 4, 30}, {0, 0, 0, 1}}};
  c.image.data.assign(static_cast<size_t>(channels * ni * nj * nk), 0.0f);
  c.label.assign(static_cast<size_t>(ni * nj * nk), 0);
  return c;
}

size_t at(const Case& c, int64_t i, int64_t j, int64_t k, int64_t ch = 0) {
  const auto [ni, nj, nk] = c.image.dims;
  return static_cast<size_t>(((ch * nk + k) * nj + j) * ni + i);
}

// 10 x 8 x 6, non-zero (value 1 + i + 10 j + 100 k) only in the box i 3..6, j 2..4, k 1..3
// (inclusive); label 1 at (9, 7, 5), outside the box, and label 2 at (4, 3, 2), inside.
Case boxed_case() {
  Case c = blank_case(10, 8, 6);
  for (int64_t k = 1; k <= 3; ++k)
    for (int64_t j = 2; j <= 4; ++j)
      for (int64_t i = 3; i <= 6; ++i)
        c.image.data[at(c, i, j, k)] = static_cast<float>(1 + i + 10 * j + 100 * k);
  c.label[at(c, 9, 7, 5)] = 1;
  c.label[at(c, 4, 3, 2)] = 2;
  return c;
}

TEST(PrepareCase, CropNonzeroKeepsTheImagesBoxPlusMarginsClippedAndIgnoresTheLabel) {
  PreprocessOptions o;
  o.steps.push_back({"crop_nonzero", {1, 1, 3}, ""});  // margins (mi, mj, mk)
  const PreparedCase p = prepare_case(boxed_case(), o, 3);
  // i: [3 - 1, 6 + 1] = 2..7 (6 voxels); j: [2 - 1, 4 + 1] = 1..5 (5); k: [1 - 3, 3 + 3] clipped
  // to the volume, 0..5 (6). The label voxel (9, 7, 5) would have widened a label-based box.
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 6, 5, 6}));
  ASSERT_EQ(p.label.sizes(), (std::vector<int64_t>{6, 5, 6}));
  for (int64_t k = 0; k < 6; ++k)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t i = 0; i < 6; ++i) {
        const int64_t oi = i + 2, oj = j + 1, ok = k;
        const bool inside = oi >= 3 && oi <= 6 && oj >= 2 && oj <= 4 && ok >= 1 && ok <= 3;
        const float want = inside ? static_cast<float>(1 + oi + 10 * oj + 100 * ok) : 0.0f;
        ASSERT_EQ(p.image[0][k][j][i].item<float>(), want) << i << "," << j << "," << k;
      }
  // The label is cropped with the image: (4, 3, 2) is now (2, 2, 2); (9, 7, 5) is gone.
  EXPECT_EQ(p.label[2][2][2].item<int>(), 2);
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 1);
  // Voxel (0, 0, 0) is old (2, 1, 0): world (10 + 2 * 2, 20 + 3 * 1, 30) = (14, 23, 30).
  const Affine want = {{{2, 0, 0, 14}, {0, 3, 0, 23}, {0, 0, 4, 30}, {0, 0, 0, 1}}};
  for (int r = 0; r < 4; ++r)
    for (int q = 0; q < 4; ++q) EXPECT_DOUBLE_EQ(p.affine[r][q], want[r][q]) << r << "," << q;
}

TEST(PrepareCase, CropNonzeroTakesEveryChannelAndMarginsOfZero) {
  Case c = blank_case(10, 8, 6, 2);
  c.image.data[at(c, 4, 3, 2, 0)] = 5.0f;   // channel 0: one voxel
  c.image.data[at(c, 8, 6, 4, 1)] = -1.0f;  // channel 1: another (negative is non-zero too)
  PreprocessOptions o;
  o.steps.push_back({"crop_nonzero", {0, 0, 0}, ""});
  const PreparedCase p = prepare_case(c, o, 2);
  // The box of both: i 4..8, j 3..6, k 2..4.
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(p.image[0][0][0][0].item<float>(), 5.0f);
  EXPECT_EQ(p.image[1][2][3][4].item<float>(), -1.0f);
  EXPECT_EQ(p.image.ne(0).sum().item<int64_t>(), 2);
  EXPECT_DOUBLE_EQ(p.affine[0][3], 10 + 2 * 4);
  EXPECT_DOUBLE_EQ(p.affine[1][3], 20 + 3 * 3);
  EXPECT_DOUBLE_EQ(p.affine[2][3], 30 + 4 * 2);
}

TEST(PrepareCase, CropNonzeroOfAnAllZeroImageKeepsTheWholeVolume) {
  Case c = blank_case(4, 3, 2);
  c.label[at(c, 1, 1, 1)] = 1;
  PreprocessOptions o;
  o.steps.push_back({"crop_nonzero", {0, 0, 0}, ""});
  const PreparedCase p = prepare_case(c, o, 2);
  EXPECT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(p.affine[0][3], 10);
}

TEST(PrepareCase, CenterCropKeepsTheCentralFractionStartingAtTheFloorOfHalfTheRest) {
  Case c = blank_case(16, 12, 2);
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t j = 0; j < 12; ++j)
      for (int64_t i = 0; i < 16; ++i)
        c.image.data[at(c, i, j, k)] = static_cast<float>(i + 100 * j + 10000 * k);
  c.label[at(c, 0, 0, 0)] = 1;  // a corner: cropped away
  c.label[at(c, 2, 1, 1)] = 1;  // the crop's first voxel
  PreprocessOptions o;
  o.steps.push_back({"center_crop", {0.75, 0.75}, ""});
  const PreparedCase p = prepare_case(c, o, 2);
  // i: 0.75 * 16 = 12 voxels from floor((16 - 12) / 2) = 2; j: 0.75 * 12 = 9 from
  // floor((12 - 9) / 2) = 1; k untouched.
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 2, 9, 12}));
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t j = 0; j < 9; ++j)
      for (int64_t i = 0; i < 12; ++i)
        ASSERT_EQ(p.image[0][k][j][i].item<float>(),
                  static_cast<float>((i + 2) + 100 * (j + 1) + 10000 * k));
  EXPECT_EQ(p.label[1][0][0].item<int>(), 1);
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 1);
  // Origin: old voxel (2, 1, 0) = (10 + 4, 20 + 3, 30).
  EXPECT_DOUBLE_EQ(p.affine[0][3], 14);
  EXPECT_DOUBLE_EQ(p.affine[1][3], 23);
  EXPECT_DOUBLE_EQ(p.affine[2][3], 30);
  EXPECT_DOUBLE_EQ(p.affine[0][0], 2);

  // The fractions are (i, j): 0.5 of 16 = 8 from 4, all 12 of j from 0.
  o.steps = {{"center_crop", {0.5, 1.0}, ""}};
  const PreparedCase q = prepare_case(c, o, 2);
  ASSERT_EQ(q.image.sizes(), (std::vector<int64_t>{1, 2, 12, 8}));
  EXPECT_EQ(q.image[0][0][0][0].item<float>(), 4.0f);
  EXPECT_DOUBLE_EQ(q.affine[0][3], 18);
  EXPECT_DOUBLE_EQ(q.affine[1][3], 20);
}

TEST(PrepareCase, PadCentresTheVolumeWithZerosAndMovesTheOriginBack) {
  Case c = blank_case(5, 6, 8);
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 6; ++j)
      for (int64_t i = 0; i < 5; ++i) c.image.data[at(c, i, j, k)] = static_cast<float>(1 + i);
  c.label[at(c, 0, 0, 0)] = 1;
  c.label[at(c, 4, 5, 7)] = 1;
  PreprocessOptions o;
  o.steps.push_back({"pad", {8, 8, 8}, ""});
  const PreparedCase p = prepare_case(c, o, 2);
  // i: 8 - 5 = 3 extra, (1 before, 2 after); j: 8 - 6 = 2, (1, 1); k: 8 already, (0, 0).
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
  ASSERT_EQ(p.label.sizes(), (std::vector<int64_t>{8, 8, 8}));
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 8; ++j)
      for (int64_t i = 0; i < 8; ++i) {
        const bool inside = i >= 1 && i <= 5 && j >= 1 && j <= 6;
        ASSERT_EQ(p.image[0][k][j][i].item<float>(), inside ? static_cast<float>(i) : 0.0f)
            << i << "," << j << "," << k;  // old i = new i - 1, value 1 + old i
      }
  EXPECT_EQ(p.label[0][1][1].item<int>(), 1);  // old (0, 0, 0)
  EXPECT_EQ(p.label[7][6][5].item<int>(), 1);  // old (4, 5, 7)
  EXPECT_EQ(p.label.gt(0).sum().item<int64_t>(), 2);
  // Voxel (0, 0, 0) is old (-1, -1, 0): origin (10 - 2, 20 - 3, 30).
  EXPECT_DOUBLE_EQ(p.affine[0][3], 8);
  EXPECT_DOUBLE_EQ(p.affine[1][3], 17);
  EXPECT_DOUBLE_EQ(p.affine[2][3], 30);
  EXPECT_DOUBLE_EQ(p.affine[1][1], 3);

  // A volume that is already large enough is left as it is.
  o.steps = {{"pad", {4, 4, 4}, ""}};
  const PreparedCase same = prepare_case(c, o, 2);
  EXPECT_EQ(same.image.sizes(), (std::vector<int64_t>{1, 8, 6, 5}));
  EXPECT_DOUBLE_EQ(same.affine[0][3], 10);
}

// ---- SliceSampler ---------------------------------------------------------------------------

// A prepared case whose slice k is filled with 10 * tag + k, so a sampled slice names its
// source; fg lists the slices that get a foreground voxel.
PreparedCase tagged_case(const std::string& id, int tag, int64_t slices, int64_t h, int64_t w,
                         const std::vector<int64_t>& fg) {
  PreparedCase p;
  p.id = id;
  p.image = torch::empty({1, slices, h, w});
  for (int64_t k = 0; k < slices; ++k) p.image[0][k].fill_(static_cast<float>(10 * tag + k));
  p.label = torch::zeros({slices, h, w}, torch::kUInt8);
  for (int64_t k : fg) p.label[k][h - 1][0] = 1;
  p.fg_slices = fg;
  return p;
}

std::vector<PreparedCase> two_cases() {
  return {tagged_case("a", 0, 4, 3, 5, {2}), tagged_case("b", 1, 3, 3, 5, {0, 1})};
}

TEST(SliceSampler, BatchHasTheDocumentedShapesAndTypes) {
  const auto cases = two_cases();
  const SliceSampler sampler(cases, 0.5);
  Rng rng(5);
  const SliceBatch b = sampler.sample(6, rng);
  EXPECT_EQ(b.image.sizes(), (std::vector<int64_t>{6, 1, 3, 5}));
  EXPECT_EQ(b.label.sizes(), (std::vector<int64_t>{6, 3, 5}));
  EXPECT_EQ(b.image.scalar_type(), torch::kFloat32);
  EXPECT_EQ(b.label.scalar_type(), torch::kInt64);
}

TEST(SliceSampler, SameSeedGivesTheSameBatches) {
  const auto cases = two_cases();
  const SliceSampler sampler(cases, 0.5);
  Rng r1(20240611), r2(20240611), other(7);
  for (int round = 0; round < 3; ++round) {
    const SliceBatch a = sampler.sample(16, r1), b = sampler.sample(16, r2);
    EXPECT_TRUE(torch::equal(a.image, b.image)) << "round " << round;
    EXPECT_TRUE(torch::equal(a.label, b.label)) << "round " << round;
  }
  // 16 draws over 7 slices: another seed agreeing on all of them would be a broken Rng.
  const SliceBatch c = sampler.sample(16, other);
  Rng again(20240611);
  EXPECT_FALSE(torch::equal(c.image, sampler.sample(16, again).image));
}

TEST(SliceSampler, ForegroundFractionOneDrawsOnlyForegroundSlices) {
  const auto cases = two_cases();
  const SliceSampler sampler(cases, 1.0);
  Rng rng(99);
  const SliceBatch b = sampler.sample(64, rng);
  std::set<int> seen;
  for (int64_t n = 0; n < 64; ++n) {
    const int tag = static_cast<int>(b.image[n][0][0][0].item<float>());
    EXPECT_TRUE(tag == 2 || tag == 10 || tag == 11) << "drew slice tag " << tag;
    EXPECT_GT(b.label[n].sum().item<int64_t>(), 0);
    seen.insert(tag);
  }
  // Uniform over cases, then over their foreground slices: all three show up in 64 draws.
  EXPECT_EQ(seen, (std::set<int>{2, 10, 11}));
}

TEST(SliceSampler, ForegroundFractionZeroDrawsFromEverySlice) {
  const auto cases = two_cases();
  const SliceSampler sampler(cases, 0.0);
  Rng rng(3);
  const SliceBatch b = sampler.sample(400, rng);
  std::set<int> seen;
  for (int64_t n = 0; n < 400; ++n)
    seen.insert(static_cast<int>(b.image[n][0][0][0].item<float>()));
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3, 10, 11, 12}));
}

TEST(SliceSampler, WithoutAnyForegroundFallsBackToUniformSlices) {
  const std::vector<PreparedCase> cases = {tagged_case("empty", 0, 3, 2, 2, {})};
  const SliceSampler sampler(cases, 1.0);
  Rng rng(1);
  const SliceBatch b = sampler.sample(8, rng);
  EXPECT_EQ(b.image.size(0), 8);
  EXPECT_EQ(b.label.sum().item<int64_t>(), 0);
}

TEST(SliceSampler, MismatchedInPlaneSizesThrowNamingBothCases) {
  std::vector<PreparedCase> cases = two_cases();
  cases.push_back(tagged_case("odd_one", 2, 2, 4, 5, {0}));
  expect_error_mentioning([&] { SliceSampler s(cases, 0.5); }, {"odd_one", "'a'", "resize"});
  std::vector<PreparedCase> wide = two_cases();
  wide.push_back(tagged_case("wide_one", 2, 2, 3, 6, {0}));
  expect_error_mentioning([&] { SliceSampler s(wide, 0.5); }, {"wide_one"});
}

TEST(SliceSampler, NoCasesThrows) {
  const std::vector<PreparedCase> none;
  EXPECT_THROW(SliceSampler(none, 0.5), Error);
}

}  // namespace
}  // namespace orch
