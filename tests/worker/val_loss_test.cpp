// training.val_loss: training (E11): predict_options (worker/trial/trial_runner.h) scores a whole
// case's probabilities P with the trial's own loss by feeding log(P) as logits. That is right
// because softmax(log softmax(L)) = softmax(L): every loss that reads logits through a softmax
// (or, with two classes, through logit[1] - logit[0]) gives the same value for L and for
// log softmax(L) = L - logsumexp(L), a per-voxel shift.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "common/config/config.h"
#include "worker/train/losses.h"
#include "worker/trial/trial_runner.h"

namespace orch {
namespace {

TEST(ValLoss, LossOfLogitsEqualsLossOfTheirLogSoftmax) {
  torch::manual_seed(5);
  // (B, K, Z, Y, X) = (1, 2, 3, 4, 5), logits of either sign up to a few units.
  const auto logits = 3 * torch::randn({1, 2, 3, 4, 5});
  const auto target = torch::randint(0, 2, {1, 3, 4, 5}, torch::kInt64);
  // As the runner forms them: probabilities, clamped at 1e-8, then log.
  const auto log_probs = torch::softmax(logits, 1).clamp_min(1e-8).log();
  for (const std::string loss :
       {"bce_dice", "dice_ce", "ce", "dice", "generalized_dice", "focal_dice"}) {
    SCOPED_TRACE(loss);
    TrainingConfig t;
    t.loss = loss;
    const LossFn fn = make_loss(t);
    const double a = fn(logits, target).item<double>();
    const double b = fn(log_probs, target).item<double>();
    EXPECT_NEAR(a, b, 1e-5);
    // log(P) is not L itself (the shift is not zero): the identity is not trivially met.
    EXPECT_GT((log_probs - logits).abs().max().item<double>(), 0.1);
  }
}

// bce_dice by hand on two voxels (K = 2): P(class 1) = (3/4, 1/2), labels (1, 0).
// BCE = -(log 3/4 + log 1/2) / 2; foreground soft Dice (smooth 1e-5):
// (2 * 3/4 + 1e-5) / (3/4 + 1/2 + 1 + 1e-5); loss = BCE + 1 - Dice.
TEST(ValLoss, PredictOptionsScoresProbabilitiesWithTheTrialsLoss) {
  TrialSpec spec;
  spec.training.loss = "bce_dice";
  spec.training.val_loss = "training";
  const PredictOptions o = predict_options(spec);
  ASSERT_TRUE(static_cast<bool>(o.loss));
  const auto probs = torch::tensor({0.25f, 0.5f, 0.75f, 0.5f}).reshape({2, 1, 1, 2});  // (K,Z,Y,X)
  const auto label = torch::tensor({1, 0}, torch::kUInt8).reshape({1, 1, 2});
  const double bce = -(std::log(0.75) + std::log(0.5)) / 2;
  const double dice = (2 * 0.75 + 1e-5) / (0.75 + 0.5 + 1 + 1e-5);
  EXPECT_NEAR(o.loss(probs, label), bce + 1 - dice, 1e-5);

  // The default, dice_ce, leaves the predictor's own validation loss.
  spec.training.val_loss = "dice_ce";
  EXPECT_FALSE(static_cast<bool>(predict_options(spec).loss));
}

}  // namespace
}  // namespace orch
