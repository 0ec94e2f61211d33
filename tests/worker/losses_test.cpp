// The training losses (worker/train/losses.h) against values worked out by hand: MONAI's Dice
// conventions (smooth_nr = smooth_dr = 1e-5, the mean over samples and classes, CE on the
// logits), MONAI's GeneralizedDiceLoss, PyMIC's focal Dice and the Spider code's
// WeightedDiceScoreLoss.
#include "worker/train/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/status.h"

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

// --- cross-entropy and the single-channel (sigmoid) convention ---------------------------------

TEST(CeLoss, IsTheMeanNegativeLogSoftmaxAtTheTarget) {
  const TinyCase t;
  EXPECT_NEAR(ce_loss(t.logits, t.target).item<double>(), t.ce, 1e-12);
}

TEST(CeLoss, SingleChannelLogitsUseBinaryCrossEntropy) {
  // Logits ln 3 and 0 have sigmoid 3/4 and 1/2; targets 1 and 0: -log(3/4) and -log(1/2).
  const auto logits = f64({kLn3, 0.0}, {1, 1, 1, 2});
  const auto target = i64({1, 0}, {1, 1, 2});
  EXPECT_NEAR(ce_loss(logits, target).item<double>(), (std::log(4.0 / 3.0) + std::log(2.0)) / 2,
              1e-12);
}

TEST(SoftDiceLoss, SingleChannelLogitsScoreTheSigmoidForegroundOnly) {
  // p = (3/4, 1/2), y = (1, 0): intersection 3/4, sum p 5/4, sum y 1.
  const auto logits = f64({kLn3, 0.0}, {1, 1, 1, 2});
  const auto target = i64({1, 0}, {1, 1, 2});
  EXPECT_NEAR(soft_dice_loss(logits, target).item<double>(), 1 - (1.5 + kSmooth) / (2.25 + kSmooth),
              1e-12);
}

TEST(SoftDiceLoss, AClassAbsentFromTargetAndPredictionCostsNothing) {
  // Three classes, class 2 in neither: its probabilities are ~1e-26, so its term is
  // 1 - (0 + 1e-5) / (0 + 1e-5) = 0, and a confident correct prediction scores ~0, not 1/3.
  const auto target = i64({0, 1, 1, 0}, {1, 1, 4});
  const auto logits =
      torch::one_hot(target, 3).permute({0, 3, 1, 2}).to(torch::kFloat64) * 60.0 - 30.0;
  const double loss = soft_dice_loss(logits, target).item<double>();
  EXPECT_GE(loss, -1e-12);
  EXPECT_LT(loss, 1e-9);
}

// --- BCE + Dice
// ------------------------------------------------------------------------------------

TEST(BceDiceLoss, TwoChannelLogitsActOnTheForegroundLogitDifference) {
  // TinyCase's logit difference is (ln 3, 0): sigmoid (3/4, 1/2), which is softmax's class 1.
  // So BCE equals TinyCase's CE, and the Dice term is class 1's alone.
  const TinyCase t;
  EXPECT_NEAR(bce_dice_loss(t.logits, t.target).item<double>(), t.ce + 1 - t.dice1, 1e-12);
}

TEST(BceDiceLoss, OneChannelLogitsGiveTheSameValue) {
  const TinyCase t;
  const auto logits = f64({kLn3, 0.0}, {1, 1, 1, 2});
  EXPECT_NEAR(bce_dice_loss(logits, t.target).item<double>(), t.ce + 1 - t.dice1, 1e-12);
}

TEST(BceDiceLoss, RejectsMoreThanTwoClasses) {
  const auto logits = torch::zeros({1, 3, 2, 2}, torch::kFloat64);
  EXPECT_THROW(bce_dice_loss(logits, torch::zeros({1, 2, 2}, torch::kInt64)), Error);
}

// --- generalized Dice
// ------------------------------------------------------------------------------

TEST(GeneralizedDiceLoss, WeightsEachClassByItsInverseSquaredVolume) {
  // A 1x3 image, logits 0 (p = 1/2), target (0, 0, 1): volumes (2, 1), weights (1/4, 1).
  // tp = (1, 1/2), sum p + sum y = (3.5, 2.5).
  const auto logits = torch::zeros({1, 2, 1, 3}, torch::kFloat64);
  const auto target = i64({0, 0, 1}, {1, 1, 3});
  const double numer = 2 * (0.25 * 1 + 1 * 0.5) + kSmooth;
  const double denom = 0.25 * 3.5 + 1 * 2.5 + kSmooth;
  EXPECT_NEAR(generalized_dice_loss(logits, target).item<double>(), 1 - numer / denom, 1e-12);
}

TEST(GeneralizedDiceLoss, AnAbsentClassTakesTheLargestWeightOfItsOwnSample) {
  // Three classes, logits 0 (p = 1/3), two 1x3 samples.
  // A: target (0, 0, 1): volumes (2, 1, 0), weights (1/4, 1, inf -> 1); tp (2/3, 1/3, 0),
  //    sum p + sum y (3, 2, 1).
  // B: target (1, 1, 1): volumes (0, 3, 0), weights (inf -> 1/9, 1/9, inf -> 1/9); tp (0, 1, 0),
  //    sum p + sum y (1, 4, 1). A batch-wide maximum would give B's absent classes weight 1.
  const auto logits = torch::zeros({2, 3, 1, 3}, torch::kFloat64);
  const auto target = i64({0, 0, 1, 1, 1, 1}, {2, 1, 3});
  const double a = 1 - (2 * (0.25 * 2 / 3 + 1.0 / 3) + kSmooth) / (0.25 * 3 + 2 + 1 + kSmooth);
  const double b = 1 - (2.0 / 9 + kSmooth) / (6.0 / 9 + kSmooth);
  EXPECT_NEAR(generalized_dice_loss(logits, target).item<double>(), (a + b) / 2, 1e-12);
}

// --- focal Dice
// ------------------------------------------------------------------------------------

TEST(FocalDiceLoss, ClampsTheForegroundDiceAndRaisesItToOneOverBeta) {
  const TinyCase t;
  for (double beta : {1.0, 1.5, 2.0}) {
    const double expected = 1 - std::pow(0.005 + 0.99 * t.dice1, 1 / beta);
    EXPECT_NEAR(focal_dice_loss(t.logits, t.target, beta).item<double>(), expected, 1e-12)
        << "beta " << beta;
  }
}

TEST(FocalDiceLoss, EachClassDiceSpansTheWholeBatch) {
  // Two single-pixel samples (see SoftDiceLoss.AveragesOverSamples...): over the batch, class 1
  // has intersection 3/4, sum p 3/4 + 1/4, sum y 1.
  const auto logits = f64({0.0, kLn3, kLn3, 0.0}, {2, 2, 1, 1});
  const auto target = i64({1, 0}, {2, 1, 1});
  const double dice1 = (1.5 + kSmooth) / (2 + kSmooth);
  EXPECT_NEAR(focal_dice_loss(logits, target, 1.5).item<double>(),
              1 - std::pow(0.005 + 0.99 * dice1, 1 / 1.5), 1e-12);
}

TEST(FocalDiceLoss, AveragesTheForegroundClassesOnly) {
  // Three classes, logits 0 (p = 1/3), target (1, 2): classes 1 and 2 each have intersection
  // 1/3, sum p 2/3, sum y 1. Background is absent (Dice ~0) and must not enter the mean.
  const auto logits = torch::zeros({1, 3, 1, 2}, torch::kFloat64);
  const auto target = i64({1, 2}, {1, 1, 2});
  const double dice = (2.0 / 3 + kSmooth) / (5.0 / 3 + kSmooth);
  EXPECT_NEAR(focal_dice_loss(logits, target, 2.0).item<double>(),
              1 - std::pow(0.005 + 0.99 * dice, 0.5), 1e-12);
}

TEST(FocalDiceLoss, APerfectPredictionStopsAtTheClampFloor) {
  const auto target = i64({1, 0, 0, 1, 1, 0}, {1, 2, 3});
  const auto logits =
      torch::one_hot(target, 2).permute({0, 3, 1, 2}).to(torch::kFloat64) * 60.0 - 30.0;
  EXPECT_NEAR(focal_dice_loss(logits, target, 1.5).item<double>(), 1 - std::pow(0.995, 1 / 1.5),
              1e-9);
}

// --- the Spider code's weighted Dice
// ---------------------------------------------------------------

TEST(SpiderDiceLoss, MatchesTheKerasWeightedDiceWithTheSquareOnTheWeightedBackgroundTerm) {
  // TinyCase, +1 in the denominators only. Foreground: p (3/4, 1/2), y (1, 0):
  // D = 2 (3/4) / (1 + 5/4 + 1). Background: p (1/4, 1/2), y (0, 1): D = 2 (1/2) / (1 + 3/4 + 1).
  const TinyCase t;
  const double fg = 1.5 / 3.25, bg = 1.0 / 2.75;
  const double expected = 0.9 * (1 - fg) + std::pow(0.1 * (1 - bg), 2);
  const double loss = spider_dice_loss(t.logits, t.target).item<double>();
  EXPECT_NEAR(loss, expected, 1e-12);
  // The other reading of the exponent, 0.1 (1 - D_bg)^2, is far off.
  EXPECT_GT(std::abs(loss - (0.9 * (1 - fg) + 0.1 * std::pow(1 - bg, 2))), 0.03);
}

TEST(SpiderDiceLoss, AveragesOverEverySliceOfAVolume) {
  // (B, K, D, H, W) = (1, 2, 2, 1, 2). Depth slice 0 is TinyCase; slice 1 has logits 0 (p = 1/2)
  // and target (1, 1): foreground D = 2 / (2 + 1 + 1) = 1/2, background D = 0 / (1 + 1) = 0, so
  // its loss is 0.9 (1/2) + (0.1)^2 = 0.46.
  const auto logits = f64({0.0, 0.0, 0.0, 0.0, kLn3, 0.0, 0.0, 0.0}, {1, 2, 2, 1, 2});
  const auto target = i64({1, 0, 1, 1}, {1, 2, 1, 2});
  const double slice0 = 0.9 * (1 - 1.5 / 3.25) + std::pow(0.1 * (1 - 1.0 / 2.75), 2);
  EXPECT_NEAR(spider_dice_loss(logits, target).item<double>(), (slice0 + 0.46) / 2, 1e-12);
}

TEST(SpiderDiceLoss, APerfectPredictionStillPaysTheDenominatorsPlusOne) {
  // Target (1, 0), confident and right: each class has D = 2 / (2 + 1) = 2/3.
  const auto target = i64({1, 0}, {1, 1, 2});
  const auto logits =
      torch::one_hot(target, 2).permute({0, 3, 1, 2}).to(torch::kFloat64) * 60.0 - 30.0;
  EXPECT_NEAR(spider_dice_loss(logits, target).item<double>(), 0.9 / 3 + std::pow(0.1 / 3, 2),
              1e-12);
}

TEST(SpiderDiceLoss, OneChannelLogitsEqualTheirTwoChannelForm) {
  const TinyCase t;
  const auto one = f64({kLn3, 0.0}, {1, 1, 1, 2});
  EXPECT_NEAR(spider_dice_loss(one, t.target).item<double>(),
              spider_dice_loss(t.logits, t.target).item<double>(), 1e-12);
}

// --- RefNet
// ----------------------------------------------------------------------------------------

TEST(RefnetLoss, AddsTheCrossEntropyToTheSourceModelsLabels) {
  // Source labels (0, 0): softmax at class 0 is 1/4 and 1/2.
  const TinyCase t;
  const auto source = i64({0, 0}, {1, 1, 2});
  const double ce_source = (std::log(4.0) + std::log(2.0)) / 2;
  EXPECT_NEAR(refnet_loss(t.logits, t.target, source).item<double>(),
              t.ce + t.dice_loss + ce_source, 1e-12);
}

TEST(RefnetLoss, RejectsSourceLabelsOfAnotherShape) {
  const TinyCase t;
  EXPECT_THROW(refnet_loss(t.logits, t.target, i64({0, 0}, {1, 2, 1})), Error);
}

// --- make_loss and properties of every loss ------------------------------------------------------

const std::vector<std::string> kLossNames = {
    "dice_ce", "ce", "dice", "bce_dice", "generalized_dice", "focal_dice", "spider_dice"};

TEST(MakeLoss, ReturnsTheNamedLossWithTheConfiguredBeta) {
  torch::manual_seed(11);
  const auto logits = torch::randn({2, 2, 3, 5}, torch::kFloat64);
  const auto target = torch::randint(0, 2, {2, 3, 5}, torch::kInt64);
  const auto value = [&](const std::string& name, double beta = 1.5) {
    TrainingConfig c;
    c.loss = name;
    c.focal_beta = beta;
    return make_loss(c)(logits, target).item<double>();
  };
  EXPECT_DOUBLE_EQ(value("dice_ce"), dice_ce_loss(logits, target).item<double>());
  EXPECT_DOUBLE_EQ(value("ce"), ce_loss(logits, target).item<double>());
  EXPECT_DOUBLE_EQ(value("dice"), soft_dice_loss(logits, target).item<double>());
  EXPECT_DOUBLE_EQ(value("bce_dice"), bce_dice_loss(logits, target).item<double>());
  EXPECT_DOUBLE_EQ(value("generalized_dice"), generalized_dice_loss(logits, target).item<double>());
  EXPECT_DOUBLE_EQ(value("focal_dice", 3.0), focal_dice_loss(logits, target, 3.0).item<double>());
  EXPECT_DOUBLE_EQ(value("spider_dice"), spider_dice_loss(logits, target).item<double>());
}

TEST(MakeLoss, RefusesRefnetAndSaysWhoSuppliesTheSource) {
  TrainingConfig c;
  c.loss = "refnet";
  try {
    make_loss(c);
    FAIL() << "make_loss(refnet) did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("make_step_loss"), std::string::npos) << e.what();
  }
  c.loss = "focal";
  EXPECT_THROW(make_loss(c), Error);
  EXPECT_THROW(make_step_loss(c), Error);
}

// The training step's refnet loss reads S from the refining model's input, the source label
// map stored as floats (B, 1, H, W); every other loss ignores the input.
TEST(MakeStepLoss, RefnetTakesTheSourceLabelsFromTheInputBatch) {
  const TinyCase t;  // logits (1, 2, 1, 2), target (1, 1, 2)
  TrainingConfig c;
  c.loss = "refnet";
  const auto input = torch::tensor({0.0, 0.0}, torch::kFloat32).reshape({1, 1, 1, 2});
  const double ce_source = (std::log(4.0) + std::log(2.0)) / 2;  // as in RefnetLoss above
  EXPECT_NEAR(make_step_loss(c)(t.logits, t.target, input).item<double>(),
              t.ce + t.dice_loss + ce_source, 1e-12);
  // Source labels equal to the target add the plain CE once more.
  const auto same = t.target.to(torch::kFloat32).unsqueeze(1);
  EXPECT_NEAR(make_step_loss(c)(t.logits, t.target, same).item<double>(), 2 * t.ce + t.dice_loss,
              1e-12);
  // An image with more than one channel is not a label map.
  EXPECT_THROW(make_step_loss(c)(t.logits, t.target, torch::zeros({1, 2, 1, 2})), Error);
  c.loss = "dice_ce";
  EXPECT_DOUBLE_EQ(make_step_loss(c)(t.logits, t.target, torch::rand({1, 1, 1, 2})).item<double>(),
                   dice_ce_loss(t.logits, t.target).item<double>());
}

TEST(Losses, EveryLossHasFiniteGradientsAlsoWithoutAnyForeground) {
  torch::manual_seed(5);
  const auto base = torch::randn({2, 2, 3, 4, 5});
  const auto random_target = torch::randint(0, 2, {2, 3, 4, 5}, torch::kInt64);
  const auto empty_target = torch::zeros({2, 3, 4, 5}, torch::kInt64);
  for (const auto& name : kLossNames) {
    TrainingConfig c;
    c.loss = name;
    const LossFn loss = make_loss(c);
    for (const auto& target : {random_target, empty_target}) {
      auto logits = base.clone().requires_grad_(true);
      const auto value = loss(logits, target);
      ASSERT_EQ(value.dim(), 0) << name;
      EXPECT_TRUE(std::isfinite(value.item<float>())) << name;
      value.backward();
      EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>()) << name;
      EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0) << name;
    }
  }
}

TEST(Losses, AutocastLogitsArePromotedToFloat32) {
  const TinyCase t;
  const auto loss = dice_ce_loss(t.logits.to(torch::kBFloat16), t.target);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(loss.item<double>(), t.dice_loss + t.ce, 1e-2);  // ln 3 rounds in bfloat16
}

TEST(Losses, MismatchedShapesAreAnErrorNamingBothShapes) {
  const TinyCase t;
  try {
    generalized_dice_loss(t.logits, i64({1, 0, 1}, {1, 1, 3}));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("generalized_dice"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 2, 1, 2]"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 1, 3]"), std::string::npos) << m;
  }
}

// The YAML parser accepts exactly loss_names() (orchestrator/plan.cpp), so each must build:
// refnet through make_step_loss (it reads the source labels from the input), the rest both ways.
TEST(LossNames, EveryListedLossBuilds) {
  EXPECT_EQ(loss_names().size(), 8u);
  for (const auto& name : loss_names()) {
    TrainingConfig c;
    c.loss = name;
    EXPECT_NO_THROW(make_step_loss(c)) << name;
    if (name != "refnet") EXPECT_NO_THROW(make_loss(c)) << name;
  }
}

}  // namespace
}  // namespace orch
