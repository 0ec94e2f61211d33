// Augmentation transforms against independent facts: index reversal, closed-form maps (a 90-degree
// rotation is a transpose and a flip, scaling about the centre, translation by whole voxels),
// identity parameters, moments of z-normalised and noisy images, B-spline weights worked out by
// hand from ITK's geometry, and the literal fftn formulation of TorchIO's motion.
#include "worker/data/transforms.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "common/status.h"

namespace orch {
namespace {

Subject ramp_subject(int64_t z, int64_t y, int64_t x, std::uint64_t seed = 1) {
  torch::manual_seed(seed);
  Subject s;
  s.image = torch::rand({1, z, y, x}) * 100 + 1;
  s.label = (torch::rand({z, y, x}) * 3).floor().to(torch::kUInt8) * 3 + 1;  // values 1, 4, 7
  s.label.index_put_({s.label == 4}, 0);                                     // now 0, 1, 7
  return s;
}

Subject run(const std::vector<std::string>& specs, Subject s, std::uint64_t seed = 7) {
  std::vector<TransformSpec> parsed;
  for (const auto& t : specs) parsed.push_back(parse_transform(t));
  return Pipeline(parsed)(std::move(s), seed);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

TEST(Flip, AxisZeroReversesTheFastestIndexOfAHandMade2x3x4Volume) {
  Subject s;
  s.image = torch::arange(24, torch::kFloat).view({1, 2, 3, 4});  // value = 12k + 4j + i
  FlipParams p;
  p.flip[0] = true;
  const auto out = apply_flip(s, p).image;
  EXPECT_EQ(out[0][0][0][0].item<float>(), 3);   // (i=0, j=0, k=0) <- i=3
  EXPECT_EQ(out[0][1][2][1].item<float>(), 22);  // (i=1, j=2, k=1) <- i=2: 12 + 8 + 2
}

TEST(Flip, EveryAxisEqualsTorchFlipOfTheMatchingDimForImageAndLabel) {
  const Subject s = ramp_subject(5, 6, 7);
  const Subject out = run({"flip(axes=(0,1,2),flip_probability=1)"}, s);
  EXPECT_TRUE(torch::equal(out.image, torch::flip(s.image, {3, 2, 1})));
  EXPECT_TRUE(torch::equal(out.label, torch::flip(s.label, {2, 1, 0})));
}

TEST(Flip, ComposedWithAnIdentityAffineStillEqualsIndexReversal) {
  const Subject s = ramp_subject(5, 6, 7);
  // scales=(1,1,1,1,1,1) and degrees=0 are an identity affine; the grid path does the flip.
  const Subject out = run({"flip(axes=(0,2),flip_probability=1)", "affine(scales=(1,1),degrees=0)",
                           "elastic(max_displacement=0)"},
                          s);
  EXPECT_LT(max_abs_diff(out.image, torch::flip(s.image, {3, 1})), 1e-3);
  EXPECT_TRUE(torch::equal(out.label, torch::flip(s.label, {2, 0})));
}

TEST(IdentityParameters, ReturnTheInput) {
  const Subject s = ramp_subject(9, 10, 11);
  for (const std::string t : {"affine(scales=0,degrees=0)", "elastic(max_displacement=0)",
                              "motion(degrees=0,translation=0)", "bias_field(coefficients=0)",
                              "noise(std=0)", "gamma(log_gamma=0)"}) {
    const Subject out = run({t}, s);
    EXPECT_LT(max_abs_diff(out.image, s.image), 1e-2) << t;  // values up to 101
    EXPECT_TRUE(torch::equal(out.label, s.label)) << t;
  }
}

TEST(Affine, NinetyDegreesAboutKIsATransposeAndAFlip) {
  const Subject s = ramp_subject(3, 5, 5);
  AffineParams p;
  p.degrees = {0, 0, 90};  // +i turns towards +j: out(i, j) = in(j, n - 1 - i)
  const Subject out = apply_affine(s, p);
  EXPECT_LT(max_abs_diff(out.image, s.image.transpose(2, 3).flip(3)), 1e-3);
  EXPECT_TRUE(torch::equal(out.label, s.label.transpose(1, 2).flip(2)));
}

TEST(Affine, NinetyDegreesAboutIIsATransposeAndAFlip) {
  const Subject s = ramp_subject(6, 6, 4);
  AffineParams p;
  p.degrees = {90, 0, 0};  // +j turns towards +k: out(j, k) = in(k, n - 1 - j)
  const Subject out = apply_affine(s, p);
  EXPECT_LT(max_abs_diff(out.image, s.image.transpose(1, 2).flip(2)), 1e-3);
}

TEST(Affine, AfterAnElasticStepComposesThroughTheDenseField) {
  // Pipeline order elastic then affine: the affine acts first on the output grid, so the elastic
  // field is sampled at rotated points (the general composition path).
  const Subject s = ramp_subject(3, 5, 5);
  const Subject out =
      run({"elastic(max_displacement=0)", "affine(scales=0,degrees=(0,0,0,0,90,90))"}, s);
  EXPECT_LT(max_abs_diff(out.image, s.image.transpose(2, 3).flip(3)), 1e-2);
  EXPECT_TRUE(torch::equal(out.label, s.label.transpose(1, 2).flip(2)));
}

TEST(Affine, TwoDimensionalSliceRotatesInPlane) {
  // A (C, 1, Y, X) slice takes the 2-D path; degrees about i and j are dropped (TorchIO's 2-D
  // rule).
  const Subject s = ramp_subject(1, 6, 6);
  const Subject out = run({"affine(scales=0,degrees=(30,30,-20,-20,90,90))"}, s);
  EXPECT_LT(max_abs_diff(out.image, s.image.transpose(2, 3).flip(3)), 1e-2);
  EXPECT_TRUE(torch::equal(out.label, s.label.transpose(1, 2).flip(2)));
}

TEST(Affine, ScaleTwoMagnifiesAboutTheCentre) {
  Subject s;
  s.image = torch::arange(9, torch::kFloat).view({1, 1, 1, 9}).expand({1, 3, 3, 9}).clone();
  AffineParams p;
  p.scales = {2, 1, 1};  // out(u) = in(c + (u - c) / 2), c = 4
  const auto out = apply_affine(s, p).image;
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(out[0][1][1][i].item<float>(), 4 + (i - 4) / 2.0, 1e-4);
}

TEST(Affine, TranslationMovesContentByMillimetresAndPadsWithTheMinimum) {
  Subject s;
  s.image = torch::arange(8, torch::kFloat).add(10).view({1, 1, 1, 8}).expand({1, 2, 2, 8}).clone();
  s.spacing = {2, 1, 1};
  AffineParams p;
  p.translation = {4, 0, 0};  // 4 mm along i = 2 voxels
  const auto out = apply_affine(s, p).image;
  EXPECT_FLOAT_EQ(out[0][0][0][0].item<float>(), 10);  // outside: the minimum
  EXPECT_FLOAT_EQ(out[0][0][0][1].item<float>(), 10);
  for (int i = 2; i < 8; ++i) EXPECT_NEAR(out[0][0][0][i].item<float>(), 10 + i - 2, 1e-4);
}

TEST(SpatialTransforms, LabelsKeepOnlyTheirOriginalValues) {
  const Subject s = ramp_subject(20, 21, 22);
  for (const std::string t : {"affine(scales=0.3,degrees=30)", "elastic(max_displacement=10)",
                              "flip(axes=(0,1,2))", "motion"}) {
    for (std::uint64_t seed = 0; seed < 3; ++seed) {
      const Subject out = run({t}, s, seed);
      const auto values = std::get<0>(at::_unique(out.label));
      for (int64_t v = 0; v < values.numel(); ++v)
        EXPECT_TRUE(std::set<int>({0, 1, 7}).count(values[v].item<int>())) << t;
    }
  }
  EXPECT_TRUE(torch::equal(run({"motion"}, s).label, s.label));  // intensity-only for labels
}

TEST(Elastic, BSplineWeightsArePartitionOfUnityAndMatchHandValues) {
  for (int64_t n : {1, 8, 33, 144}) {
    const auto w = bspline_basis(n, 7);
    EXPECT_LT((w.sum(1) - 1).abs().max().item<double>(), 1e-12) << n;
  }
  // n = 8, mesh 4: gs = 8.25 / 4, voxel 0 at t = 0.625 / gs = 0.30303.
  const auto w = bspline_basis(8, 7);
  const double want[] = {0.056427, 0.588753, 0.350182, 0.004638, 0, 0, 0};
  for (int m = 0; m < 7; ++m) EXPECT_NEAR(w[0][m].item<double>(), want[m], 1e-6) << m;
}

TEST(Elastic, SingleControlPointDisplacesByTheCubeOfItsWeight) {
  ElasticParams p;
  p.control_points = torch::zeros({7, 7, 7, 3}, torch::kFloat64);
  p.control_points[3][3][3][0] = 1.0;  // 1 mm along i at the centre control point
  const auto d = elastic_displacement(p, {8, 8, 8}, {1, 1, 1}, torch::kFloat);
  // Voxel 3: t = 3.625 / 2.0625, weight beta3(t - 2) = 0.6150207; product over three axes.
  EXPECT_NEAR(d[3][3][3][0].item<float>(), 0.2326319, 1e-6);
  EXPECT_EQ(d[3][3][3][1].item<float>(), 0);
}

TEST(Elastic, LockedBordersZeroOnlyAxesZeroAndOne) {
  const auto spec = parse_transform("elastic(locked_borders=2)");
  Rng rng(3);
  const auto drawn = draw_transform(spec, {40, 40, 40}, rng);
  const auto& cp = std::get<ElasticParams>(drawn.params).control_points;
  for (int64_t i : {0, 1, 5, 6}) {
    EXPECT_EQ(cp.select(0, i).abs().max().item<double>(), 0.0) << i;
    EXPECT_EQ(cp.select(1, i).abs().max().item<double>(), 0.0) << i;
  }
  EXPECT_GT(cp.select(2, 0).abs().max().item<double>(), 0.0);  // TorchIO's quirk: k unlocked
  EXPECT_GT(cp.select(0, 3).abs().max().item<double>(), 0.0);
  EXPECT_LE(cp.abs().max().item<double>(), 7.5);
}

TEST(Motion, OneDimensionalFftMixEqualsTheFullFftnFormulation) {
  torch::manual_seed(5);
  for (const std::vector<double>& times :
       {std::vector<double>{0.3, 0.62}, {0.2, 0.45}, {0.22, 0.51, 0.77}}) {
    for (int64_t z : {8, 9}) {
      const auto stack = torch::rand({static_cast<int64_t>(times.size()) + 1, 2, z, 5, 6});
      const auto volumes = stack.unbind(0);
      const auto fast = motion_kspace_mix(volumes, times);
      const auto ref = motion_kspace_mix_reference(volumes, times);
      EXPECT_LT(max_abs_diff(fast, ref), 1e-5) << z;
    }
  }
}

TEST(BiasField, LinearXTermIsExpOfTheUnitCoordinateAlongI) {
  Subject s;
  s.image = torch::ones({1, 3, 4, 5});
  BiasFieldParams p;
  p.coefficients.assign(20, 0.0);
  p.coefficients[10] = 0.5;  // loop order x, y, z: index 10 is x^1 y^0 z^0
  const auto out = apply_bias_field(s, p).image;
  for (int i = 0; i < 5; ++i)  // coordinate 2i / 4 - 1
    EXPECT_NEAR(out[0][2][3][i].item<float>(), std::exp(0.5 * (i / 2.0 - 1)), 1e-5);
}

TEST(BiasField, IsPositiveAndSmooth) {
  const Subject s = ramp_subject(33, 33, 33);
  const Subject out = run({"bias_field(coefficients=0.5)"}, s);
  const auto log_ratio = (out.image / s.image).log();
  EXPECT_GT((out.image / s.image).min().item<double>(), 0.0);
  // |d log f / d coordinate| <= 0.5 * sum of the degrees along one axis (15); a step is 2/32.
  for (int64_t d = 1; d <= 3; ++d)
    EXPECT_LT(log_ratio.diff(1, d).abs().max().item<double>(), 0.5 * 15 * 2 / 32.0 + 1e-4);
}

TEST(Noise, DifferenceHasTheDrawnStandardDeviation) {
  const Subject s = ramp_subject(40, 40, 40);
  const auto spec = parse_transform("noise(std=0.5)");
  Rng rng(11);
  const auto drawn = draw_transform(spec, {40, 40, 40}, rng);
  const auto& p = std::get<NoiseParams>(drawn.params);
  ASSERT_GT(p.std, 0.0);
  ASSERT_LT(p.std, 0.5);
  const auto diff = apply_noise(s, p).image - s.image;
  EXPECT_NEAR(diff.std().item<double>(), p.std, 0.02 * p.std);
  EXPECT_NEAR(diff.mean().item<double>(), 0.0, 0.02 * p.std);
}

TEST(ZNorm, MaskedVoxelsHaveMeanZeroAndUnbiasedStdOne) {
  const Subject s = ramp_subject(7, 8, 9);
  const Subject out = run({"znorm(masking_method=label)"}, s);
  const auto inside = out.image.masked_select(s.label.unsqueeze(0) > 0).to(torch::kFloat64);
  EXPECT_NEAR(inside.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(inside.std(/*unbiased=*/true).item<double>(), 1.0, 1e-5);
  Subject flat = s;
  flat.image = torch::full_like(s.image, 3.0);
  EXPECT_THROW(run({"znorm"}, flat), Error);
}

TEST(Pipeline, SameSeedGivesIdenticalBytesAndAnotherSeedDiffers) {
  const Subject s = ramp_subject(12, 13, 14);
  const std::vector<std::string> ms = {"flip(axes=(0,1,2))", "affine", "elastic", "motion",
                                       "bias_field",         "noise",  "znorm"};
  const Subject a = run(ms, s, 42), b = run(ms, s, 42), c = run(ms, s, 43);
  EXPECT_TRUE(torch::equal(a.image, b.image));
  EXPECT_TRUE(torch::equal(a.label, b.label));
  EXPECT_FALSE(torch::equal(a.image, c.image));
}

TEST(Pipeline, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Subject s = ramp_subject(16, 17, 18);
  const std::vector<std::string> chain = {
      "flip", "affine", "elastic", "motion", "bias_field", "noise", "znorm(masking_method=label)"};
  Subject g = s;
  g.image = s.image.cuda();
  g.label = s.label.cuda();
  const Subject cpu = run(chain, s), gpu = run(chain, g);
  EXPECT_LT(max_abs_diff(cpu.image, gpu.image.cpu()), 1e-2);
  EXPECT_LE((cpu.label != gpu.label.cpu()).sum().item<int64_t>(), 5);  // nearest ties may differ
}

}  // namespace
}  // namespace orch
