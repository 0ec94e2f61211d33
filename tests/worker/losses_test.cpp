// soft Dice and Dice + cross-entropy, against values worked out by hand with MONAI's conventions
// (smooth_nr = smooth_dr = 1e-5, the mean over samples and classes, CE on the logits).
#include "worker/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace orch {
namespace {

constexpr double kSmooth = 1e-5;
const double kLn3 = std::log(3.0);

torch::Tensor f64(std::initializer_list<double> values, torch::IntArrayRef shape) {
  return torch::tensor(std::vector<double>(values), torch::kFloat64).reshape(shape);
}

torch::Tensor i64(std::initializer_list<int64_t> values, torch::IntArrayRef shape) {
  return torch::tensor(std::vector<int64_t>(values), torch::kInt64).reshape(shape);
}

// One sample, two classes, a 1x2 image. Pixel 0 has logits (0, ln 3): softmax (1/4, 3/4);
// pixel 1 has logits (0, 0): softmax (1/2, 1/2). Targets: pixel 0 is class 1, pixel 1 class 0.
struct TinyCase {
  torch::Tensor logits = f64({0.0, 0.0, kLn3, 0.0}, {1, 2, 1, 2});  // (B, K, H, W)
  torch::Tensor target = i64({1, 0}, {1, 1, 2});
  // class 0: y = (0, 1), p = (1/4, 1/2): intersection 1/2, sum p 3/4, sum y 1.
  // class 1: y = (1, 0), p = (3/4, 1/2): intersection 3/4, sum p 5/4, sum y 1.
  double dice0 = (2 * 0.5 + kSmooth) / (0.75 + 1 + kSmooth);
  double dice1 = (2 * 0.75 + kSmooth) / (1.25 + 1 + kSmooth);
  double dice_loss = 1 - (dice0 + dice1) / 2;
  // -mean log softmax at the target: pixel 0 -log(3/4), pixel 1 -log(1/2).
  double ce = (std::log(4.0 / 3.0) + std::log(2.0)) / 2;
};

TEST(SoftDiceLoss, MatchesHandComputedMonaiValueOnATinyImage) {
  const TinyCase t;
  EXPECT_NEAR(soft_dice_loss(t.logits, t.target).item<double>(), t.dice_loss, 1e-12);
}

TEST(SoftDiceLoss, UsesTheGivenSmoothingInNumeratorAndDenominator) {
  const TinyCase t;
  // Smoothing 1: class 0 (1 + 1) / (1.75 + 1), class 1 (1.5 + 1) / (2.25 + 1).
  const double expected = 1 - (2.0 / 2.75 + 2.5 / 3.25) / 2;
  EXPECT_NEAR(soft_dice_loss(t.logits, t.target, 1.0).item<double>(), expected, 1e-12);
}

TEST(SoftDiceLoss, AveragesOverSamplesAndClassesIncludingAbsentClasses) {
  // Two single-pixel samples. Sample 0: logits (0, ln 3), softmax (1/4, 3/4), target 1.
  // Sample 1: logits (ln 3, 0), softmax (3/4, 1/4), target 0. In each sample one class is absent
  // from the target, and its Dice is smooth / (sum p + smooth), almost 0.
  const auto logits = f64({0.0, kLn3, kLn3, 0.0}, {2, 2, 1, 1});
  const auto target = i64({1, 0}, {2, 1, 1});
  const double absent = kSmooth / (0.25 + kSmooth);
  const double present = (2 * 0.75 + kSmooth) / (0.75 + 1 + kSmooth);
  const double expected = 1 - (absent + present + present + absent) / 4;
  EXPECT_NEAR(soft_dice_loss(logits, target).item<double>(), expected, 1e-12);
}

TEST(SoftDiceLoss, IsNearZeroForAPerfectConfidentPrediction) {
  // Three classes on a 1x3x5 image, two samples; logits +30 at the target class, -30 elsewhere.
  const auto target = i64({0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 1, 1, 1, 1,  //
                           2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2},
                          {2, 3, 5});
  const auto logits =
      (torch::one_hot(target, 3).permute({0, 3, 1, 2}).to(torch::kFloat64) * 60.0 - 30.0);
  const double loss = soft_dice_loss(logits, target).item<double>();
  EXPECT_GE(loss, -1e-12);
  EXPECT_LT(loss, 1e-9);
}

TEST(SoftDiceLoss, IsNearOneForAConfidentlyWrongPrediction) {
  const auto target = i64({1, 0, 1, 0}, {1, 2, 2});
  const auto logits =
      (torch::one_hot(1 - target, 2).permute({0, 3, 1, 2}).to(torch::kFloat64) * 60.0 - 30.0);
  // Each class: no overlap, sum p ~ 2 (the two wrong pixels), sum y = 2, so
  // Dice ~ smooth / (4 + smooth).
  EXPECT_NEAR(soft_dice_loss(logits, target).item<double>(), 1.0 - kSmooth / (4 + kSmooth), 1e-12);
}

TEST(SoftDiceLoss, AcceptsVolumetricLogits) {
  // (B, K, D, H, W) = (1, 2, 2, 1, 1): the same pixels as TinyCase, on the depth axis.
  const TinyCase t;
  const auto logits = t.logits.reshape({1, 2, 2, 1, 1});
  const auto target = t.target.reshape({1, 2, 1, 1});
  EXPECT_NEAR(soft_dice_loss(logits, target).item<double>(), t.dice_loss, 1e-12);
}

TEST(DiceCeLoss, IsSoftDicePlusHandComputedCrossEntropy) {
  const TinyCase t;
  EXPECT_NEAR(dice_ce_loss(t.logits, t.target).item<double>(), t.dice_loss + t.ce, 1e-12);
}

TEST(DiceCeLoss, CrossEntropyIsTheMeanOverEveryPixelOfTheBatch) {
  // Two samples of one pixel each (see AveragesOverSamplesAndClasses): both pixels have softmax
  // 3/4 at their target, so CE = -log(3/4).
  const auto logits = f64({0.0, kLn3, kLn3, 0.0}, {2, 2, 1, 1});
  const auto target = i64({1, 0}, {2, 1, 1});
  const double ce = -std::log(0.75);
  EXPECT_NEAR((dice_ce_loss(logits, target) - soft_dice_loss(logits, target)).item<double>(), ce,
              1e-12);
}

TEST(DiceCeLoss, BackwardGivesFiniteGradientsThatMatchFiniteDifferences) {
  torch::manual_seed(7);
  const auto base = torch::randn({2, 3, 3, 5}, torch::kFloat64);
  const auto target = torch::randint(0, 3, {2, 3, 5}, torch::kInt64);
  auto logits = base.clone().requires_grad_(true);
  const auto loss = dice_ce_loss(logits, target);
  loss.backward();
  const auto grad = logits.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  // Central differences on a few entries.
  const double h = 1e-6;
  for (int64_t flat : {0, 7, 22, 44, 89}) {
    auto plus = base.clone(), minus = base.clone();
    plus.view(-1)[flat] += h;
    minus.view(-1)[flat] -= h;
    const double numeric =
        (dice_ce_loss(plus, target).item<double>() - dice_ce_loss(minus, target).item<double>()) /
        (2 * h);
    EXPECT_NEAR(grad.view(-1)[flat].item<double>(), numeric, 1e-6) << "entry " << flat;
  }
}

TEST(DiceCeLoss, WorksInFloat32WithGradients) {
  torch::manual_seed(3);
  auto logits = torch::randn({3, 2, 7, 9}).requires_grad_(true);
  const auto target = torch::randint(0, 2, {3, 7, 9}, torch::kInt64);
  const auto loss = dice_ce_loss(logits, target);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_TRUE(std::isfinite(loss.item<float>()));
  loss.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
}

}  // namespace
}  // namespace orch
