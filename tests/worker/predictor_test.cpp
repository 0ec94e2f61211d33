// Whole-case inference by input form, checked with hand-made models whose logits are known
// functions of their input, so every expected probability is computed here independently.
#include "worker/infer/predictor.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "worker/data/batch_sampler.h"

namespace orch {
namespace {

// Two classes with logits (0, x): p1 = sigmoid(x) per voxel, for any input form.
class PixelModel : public SegmentationModelImpl {
 public:
  PixelModel(InputForm form, int64_t t = 1) : form_(form), t_(t) {}
  torch::Tensor forward(torch::Tensor x) override {
    const int64_t class_dim = form_ == InputForm::kSequence ? 2 : 1;
    return torch::cat({torch::zeros_like(x), x}, class_dim);  // C = 1 in, K = 2 out
  }
  InputForm input_form() const override { return form_; }
  int64_t sequence_length() const override { return t_; }

 private:
  InputForm form_;
  int64_t t_;
};

// A sequence model whose logit for slice t of a window is x + t: windows disagree, so the
// average over overlapping windows is observable.
class PositionModel : public PixelModel {
 public:
  PositionModel() : PixelModel(InputForm::kSequence, 3) {}
  torch::Tensor forward(torch::Tensor x) override {  // (B, T, 1, H, W)
    const auto t = torch::arange(x.size(1), torch::kFloat32).view({1, -1, 1, 1, 1});
    return torch::cat({torch::zeros_like(x), x + t}, 2);
  }
};

// A 2D model that is not mirror-symmetric: logit x + column index.
class RampModel : public PixelModel {
 public:
  RampModel() : PixelModel(InputForm::kSlice2d) {}
  torch::Tensor forward(torch::Tensor x) override {  // (B, 1, H, W)
    const auto col = torch::arange(x.size(3), torch::kFloat32).view({1, 1, 1, -1});
    return torch::cat({torch::zeros_like(x), x + col}, 1);
  }
};

PreparedCase ramp_case(int64_t z, int64_t y, int64_t x) {
  PreparedCase c;
  c.id = "ramp";
  c.image = torch::linspace(-2, 2, z * y * x).view({1, z, y, x});
  c.label = (c.image[0] > 0).to(torch::kUInt8);
  return c;
}

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

TEST(PredictProbabilities, SlicesGiveThePerPixelSoftmax) {
  PixelModel model(InputForm::kSlice2d);
  const PreparedCase c = ramp_case(5, 3, 4);
  const auto p = predict_probabilities(model, c, PredictOptions{});
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 5, 3, 4}));
  for (int64_t n = 0; n < 60; ++n) {
    const double x = c.image.flatten()[n].item<double>();
    EXPECT_NEAR(p[1].flatten()[n].item<double>(), sigmoid(x), 1e-6);
  }
}

TEST(PredictProbabilities, PatchGridCoversOddVolumesAndBlendsToThePerVoxelValue) {
  // Every window predicts the same value for a voxel, so any normalised blend gives it back,
  // and every voxel must be covered exactly as often as its weights say.
  PixelModel model(InputForm::kPatch3d);
  const PreparedCase c = ramp_case(11, 9, 7);
  for (bool gaussian : {true, false}) {
    PredictOptions o;
    o.patch = {4, 4, 4};
    o.overlap = 0.5;
    o.gaussian = gaussian;
    const auto p = predict_probabilities(model, c, o);
    ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 11, 9, 7}));
    EXPECT_TRUE(torch::allclose(p[1], torch::sigmoid(c.image[0]), 1e-5, 1e-6));
  }
  PredictOptions big;  // a patch larger than the volume: padded at the edges, cropped back
  big.patch = {16, 16, 16};
  const auto p = predict_probabilities(model, c, big);
  EXPECT_TRUE(torch::allclose(p[1], torch::sigmoid(c.image[0]), 1e-5, 1e-6));
}

TEST(PredictProbabilities, SequenceWindowsAreAveragedPerSlice) {
  // Z = 5, T = 3, overlap 0.5: stride 3 - round(1.5) = 1, windows start at 0, 1, 2. Slice k is
  // at position k - s in window s, so its probability is the mean of sigmoid(x + k - s) over
  // the windows s that cover it.
  PositionModel model;
  const PreparedCase c = ramp_case(5, 2, 2);
  const auto p = predict_probabilities(model, c, PredictOptions{});
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 5, 2, 2}));
  for (int64_t k = 0; k < 5; ++k) {
    const double x = c.image[0][k][1][0].item<double>();
    double sum = 0;
    int n = 0;
    for (int64_t s = 0; s <= 2; ++s)
      if (s <= k && k < s + 3) {
        sum += sigmoid(x + static_cast<double>(k - s));
        ++n;
      }
    EXPECT_NEAR(p[1][k][1][0].item<double>(), sum / n, 1e-6) << "slice " << k;
  }
}

TEST(PredictProbabilities, MirroringAveragesTheFlippedPredictionsFlippedBack) {
  // Flipping X turns the ramp's column c into W-1-c: the mirrored mean over {id, flip X, flip Y,
  // flip XY} of sigmoid(x + col') is (sigmoid(x + c) + sigmoid(x + W - 1 - c)) / 2.
  RampModel model;
  const PreparedCase c = ramp_case(2, 3, 4);
  PredictOptions o;
  o.mirror = true;
  const auto p = predict_probabilities(model, c, o);
  for (int64_t col = 0; col < 4; ++col) {
    const double x = c.image[0][1][2][col].item<double>();
    const double want = (sigmoid(x + col) + sigmoid(x + 3 - col)) / 2;
    EXPECT_NEAR(p[1][1][2][col].item<double>(), want, 1e-6) << "column " << col;
  }
}

TEST(ProbabilityLoss, PerfectConfidentPredictionCostsNothing) {
  const auto label = torch::tensor({0, 1, 1, 0}, torch::kUInt8).view({1, 2, 2});
  const auto p1 = label.to(torch::kFloat32).unsqueeze(0);
  EXPECT_NEAR(probability_loss(torch::cat({1 - p1, p1}), label), 0.0, 1e-6);
  // Uniform probabilities: CE = ln 2; Dice per class = 2 * 1 / (2 + 2) -> 1 - 0.5 each.
  const auto half = torch::full({2, 1, 2, 2}, 0.5f);
  EXPECT_NEAR(probability_loss(half, label), std::log(2.0) + 0.5, 1e-5);
}

// Slice k of the image holds the value k, so a sampled sequence reveals which slices it took.
std::vector<PreparedCase> tagged_cases() {
  PreparedCase c;
  c.id = "tagged";
  c.image = torch::arange(12, torch::kFloat32).view({1, 12, 1, 1}).expand({1, 12, 6, 5}).clone();
  c.label = torch::zeros({12, 6, 5}, torch::kUInt8);
  c.label[7][3][2] = 1;
  index_foreground(c, 2);
  return {c};
}

TEST(BatchSampler, SequencesAreConsecutiveSlicesInOrderWithTheirLabels) {
  const auto cases = tagged_cases();
  BatchSamplingOptions o;
  o.form = InputForm::kSequence;
  o.sequence_length = 4;
  o.foreground_fraction = 0.5;
  const BatchSampler sampler(cases, o);
  Rng rng(3);
  const TrainBatch b = sampler.sample(6, rng, nullptr);
  ASSERT_EQ(b.image.sizes(), (std::vector<int64_t>{6, 4, 1, 6, 5}));
  ASSERT_EQ(b.label.sizes(), (std::vector<int64_t>{6, 4, 6, 5}));
  EXPECT_EQ(b.label.scalar_type(), torch::kLong);
  for (int64_t n = 0; n < 6; ++n) {
    const double first = b.image[n][0][0][0][0].item<double>();
    for (int64_t t = 1; t < 4; ++t)
      EXPECT_EQ(b.image[n][t][0][0][0].item<double>(), first + static_cast<double>(t));
    const int64_t k7 = 7 - static_cast<int64_t>(first);  // where slice 7 sits, if inside
    EXPECT_EQ(b.label[n].sum().item<int64_t>(), (k7 >= 0 && k7 < 4) ? 1 : 0);
  }
}

TEST(BatchSampler, PatchesHaveThePatchShapeAndFindTheForeground) {
  const auto cases = tagged_cases();
  BatchSamplingOptions o;
  o.form = InputForm::kPatch3d;
  o.patch = {3, 4, 5};  // (i, j, k)
  o.foreground_fraction = 1.0;
  o.samples_per_volume = 2;
  const BatchSampler sampler(cases, o);
  Rng rng(9);
  const TrainBatch b = sampler.sample(5, rng, nullptr);
  ASSERT_EQ(b.image.sizes(), (std::vector<int64_t>{5, 1, 5, 4, 3}));
  ASSERT_EQ(b.label.sizes(), (std::vector<int64_t>{5, 5, 4, 3}));
  for (int64_t n = 0; n < 5; ++n) EXPECT_EQ(b.label[n].sum().item<int64_t>(), 1) << n;
}

}  // namespace
}  // namespace orch
