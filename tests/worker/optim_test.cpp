// Optimisers, schedules and clipping (worker/train/optim.h), against update rules worked out by
// hand on one-parameter problems and against the schedule formulas of MONAI's WarmupCosineSchedule
// (monai/optimizers/lr_scheduler.py) and torch's ReduceLROnPlateau.
#include "worker/train/optim.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/status.h"

namespace orch {
namespace {

const double kPi = std::acos(-1.0);

TrainingConfig schedule_config(const std::string& kind) {
  TrainingConfig c;
  c.schedule = kind;
  c.lr = 1e-3;
  c.epochs = 12;
  return c;
}

// --- names ------------------------------------------------------------------------------------

// The YAML parser accepts exactly these lists (orchestrator/plan.cpp), so each name must build.
TEST(OptimizerNames, EveryListedOptimizerAndScheduleBuilds) {
  EXPECT_EQ(optimizer_names(), (std::vector<std::string>{"adam", "adamw", "rmsprop", "sgd"}));
  torch::nn::Linear fc(3, 2);
  for (const auto& name : optimizer_names()) {
    TrainingConfig c;
    c.optimizer = name;
    EXPECT_NO_THROW(make_optimizer(c, fc->parameters())) << name;
  }
  for (const auto& name : schedule_names()) EXPECT_NO_THROW(LrSchedule(schedule_config(name)));
  TrainingConfig c;
  c.optimizer = "lamb";
  EXPECT_THROW(make_optimizer(c, fc->parameters()), Error);
}

// --- warm-up cosine ---------------------------------------------------------------------------

TEST(WarmupCosine, RisesLinearlyFromZeroThenFollowsHalfACosineToZero) {
  TrainingConfig c = schedule_config("warmup_cosine");
  c.warmup_epochs = 4;  // cosine over the remaining 12 - 4 = 8 epochs
  const LrSchedule s(c);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.25e-3);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.5e-3);
  EXPECT_DOUBLE_EQ(s.lr(4), 1e-3);                                       // the peak
  EXPECT_NEAR(s.lr(6), 1e-3 * (1 + std::sqrt(0.5)) / 2, 1e-15);          // cos(pi/4)
  EXPECT_NEAR(s.lr(8), 0.5e-3, 1e-15);                                   // cos(pi/2)
  EXPECT_NEAR(s.lr(11), 1e-3 * (1 + std::cos(7 * kPi / 8)) / 2, 1e-15);  // last epoch
  EXPECT_NEAR(s.lr(12), 0.0, 1e-15);
  EXPECT_NEAR(s.lr(20), 0.0, 1e-15);  // past the end it stays at the bottom
}

TEST(WarmupCosine, RunsTheCosineDownToMinLr) {
  TrainingConfig c = schedule_config("warmup_cosine");
  c.warmup_epochs = 4;
  c.min_lr = 1e-4;
  const LrSchedule s(c);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.5e-3);  // the warm-up ignores min_lr, as MONAI's does
  EXPECT_DOUBLE_EQ(s.lr(4), 1e-3);
  EXPECT_NEAR(s.lr(8), 1e-4 + 0.9e-3 / 2, 1e-15);
  EXPECT_NEAR(s.lr(12), 1e-4, 1e-15);
}

TEST(WarmupCosine, WithoutWarmUpStartsAtThePeak) {
  const LrSchedule s(schedule_config("warmup_cosine"));
  EXPECT_DOUBLE_EQ(s.lr(0), 1e-3);
  EXPECT_NEAR(s.lr(6), 0.5e-3, 1e-15);
}

TEST(ConstantSchedule, IgnoresEpochsAndMetrics) {
  LrSchedule s(schedule_config("constant"));
  for (int e = 0; e < 30; ++e) s.observe(e, -1.0 * e);
  EXPECT_DOUBLE_EQ(s.lr(0), 1e-3);
  EXPECT_DOUBLE_EQ(s.lr(29), 1e-3);
}

TEST(LrSchedule, UnknownScheduleIsAnError) {
  EXPECT_THROW(LrSchedule(schedule_config("step")), Error);
}

// --- plateau ----------------------------------------------------------------------------------

TEST(Plateau, HalvesAfterMoreThanPatienceEpochsWithoutImprovementAndStopsAtMinLr) {
  TrainingConfig c = schedule_config("plateau");
  c.plateau_factor = 0.5;
  c.plateau_patience = 2;
  c.min_lr = 0.3e-3;
  LrSchedule s(c);
  const std::vector<double> metrics = {0.5,  0.6,                // improvements
                                       0.6,  0.59, 0.58,         // 3 bad epochs > 2: halve
                                       0.55, 0.55, 0.55,         // 3 more: max(0.25, 0.3) = 0.3
                                       0.55, 0.55, 0.55, 0.55};  // at min_lr already
  const std::vector<double> expected_after = {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3};
  for (size_t e = 0; e < metrics.size(); ++e) {
    s.observe(static_cast<int>(e), metrics[e]);
    EXPECT_NEAR(s.lr(static_cast<int>(e) + 1), expected_after[e] * 1e-3, 1e-15) << "epoch " << e;
  }
}

TEST(Plateau, ImprovementMustExceedTheRelativeThresholdForEitherSign) {
  TrainingConfig c = schedule_config("plateau");
  c.plateau_patience = 0;  // the first bad epoch reduces
  {
    LrSchedule s(c);
    s.observe(0, 0.6);
    s.observe(1, 0.60001);  // +1.7e-5 relative < 1e-4: not an improvement
    EXPECT_DOUBLE_EQ(s.lr(2), 0.5e-3);
    s.observe(2, 0.6001);  // +1.7e-4 relative over the best 0.6
    EXPECT_DOUBLE_EQ(s.lr(3), 0.5e-3);
    s.observe(3, 0.6001);
    EXPECT_DOUBLE_EQ(s.lr(4), 0.25e-3);
  }
  {
    // A loss of 0.5 passed as -0.5: it must fall below 0.5 (1 - 1e-4) = 0.49995 to count.
    LrSchedule s(c);
    s.observe(0, -0.5);
    s.observe(1, -0.49996);
    EXPECT_DOUBLE_EQ(s.lr(2), 0.5e-3);
    s.observe(2, -0.4999);
    EXPECT_DOUBLE_EQ(s.lr(3), 0.5e-3);
  }
}

TEST(Plateau, NanIsNeverAnImprovementAndRepeatedEpochsCountOnce) {
  TrainingConfig c = schedule_config("plateau");
  c.plateau_patience = 1;
  LrSchedule s(c);
  s.observe(0, std::nan(""));
  s.observe(0, std::nan(""));  // the same epoch again (a crash repeat): ignored
  EXPECT_DOUBLE_EQ(s.lr(1), 1e-3);
  s.observe(1, std::nan(""));
  EXPECT_DOUBLE_EQ(s.lr(2), 0.5e-3);
}

TEST(Plateau, StateRoundTripContinuesIdentically) {
  TrainingConfig c = schedule_config("plateau");
  c.plateau_patience = 1;
  LrSchedule a(c);
  a.observe(0, 0.3);
  a.observe(1, 0.2);  // one bad epoch pending
  LrSchedule b(c);
  b.restore(nlohmann::json::parse(a.state().dump()));
  for (LrSchedule* s : {&a, &b}) s->observe(2, 0.2);  // the second: reduce
  EXPECT_DOUBLE_EQ(b.lr(3), 0.5e-3);
  EXPECT_EQ(a.state(), b.state());
  b.observe(1, 0.9);  // already seen before the restore: ignored
  EXPECT_EQ(a.state(), b.state());
}

TEST(LrSchedule, StateWithoutAnyObservationRoundTrips) {
  const TrainingConfig c = schedule_config("plateau");
  LrSchedule a(c), b(c);
  b.restore(nlohmann::json::parse(a.state().dump()));
  a.observe(0, -1e9);  // any finite metric is an improvement over no best yet
  b.observe(0, -1e9);
  EXPECT_EQ(a.state(), b.state());
  EXPECT_EQ(a.state().at("best").get<double>(), -1e9);
}

TEST(LrSchedule, RestoringAnotherSchedulesStateIsAnError) {
  const LrSchedule cosine(schedule_config("warmup_cosine"));
  LrSchedule plateau(schedule_config("plateau"));
  EXPECT_THROW(plateau.restore(cosine.state()), Error);
  EXPECT_THROW(plateau.restore(nlohmann::json::object()), Error);
}

// --- optimisers -------------------------------------------------------------------------------

TrainingConfig optimizer_config(const std::string& name, double lr, double momentum = 0.9,
                                double weight_decay = 0.0) {
  TrainingConfig c;
  c.optimizer = name;
  c.lr = lr;
  c.momentum = momentum;
  c.weight_decay = weight_decay;
  return c;
}

// One optimiser step on x with gradient dloss/dx of `loss`.
template <typename Loss>
void step(torch::optim::Optimizer& opt, torch::Tensor& x, Loss loss) {
  opt.zero_grad();
  loss(x).backward();
  opt.step();
}

TEST(MakeOptimizer, BuildsEachTypeAndSetLrReachesEveryGroup) {
  for (const std::string name : {"adam", "adamw", "rmsprop", "sgd"}) {
    auto x = torch::ones({2}, torch::kFloat64).requires_grad_(true);
    auto y = torch::ones({3}, torch::kFloat64).requires_grad_(true);
    auto opt = make_optimizer(optimizer_config(name, 0.01), {x});
    opt->add_param_group(torch::optim::OptimizerParamGroup({y}, opt->defaults().clone()));
    EXPECT_DOUBLE_EQ(get_lr(*opt), 0.01) << name;
    set_lr(*opt, 0.123);
    ASSERT_EQ(opt->param_groups().size(), 2u);
    for (const auto& g : opt->param_groups()) EXPECT_DOUBLE_EQ(g.options().get_lr(), 0.123) << name;
  }
  EXPECT_NE(dynamic_cast<torch::optim::AdamW*>(
                make_optimizer(optimizer_config("adamw", 0.1), {torch::ones({1})}).get()),
            nullptr);
  EXPECT_THROW(make_optimizer(optimizer_config("lamb", 0.1), {torch::ones({1})}), Error);
}

TEST(MakeOptimizer, SgdAppliesMomentumAndL2DecayAsTorchDefinesThem) {
  // loss x^2 / 2, gradient x; lr 0.1, momentum 0.9, weight decay 0.01, x0 = 1.
  // step 1: d = 1 + 0.01 = 1.01, buf = 1.01, x1 = 1 - 0.101 = 0.899
  // step 2: d = 0.899 + 0.00899 = 0.90799, buf = 0.9 (1.01) + 0.90799 = 1.81699,
  //         x2 = 0.899 - 0.181699 = 0.717301
  auto x = torch::ones({1}, torch::kFloat64).requires_grad_(true);
  auto opt = make_optimizer(optimizer_config("sgd", 0.1, 0.9, 0.01), {x});
  const auto loss = [](const torch::Tensor& v) { return (v * v).sum() / 2; };
  step(*opt, x, loss);
  EXPECT_NEAR(x.item<double>(), 0.899, 1e-12);
  step(*opt, x, loss);
  EXPECT_NEAR(x.item<double>(), 0.717301, 1e-12);
}

TEST(MakeOptimizer, AdamWDecaysTheWeightItselfWhereAdamAddsL2ToTheGradient) {
  // loss 2x (gradient 2), lr 0.1, weight decay 0.5, x0 = 1. Adam's first step is
  // lr g / (|g| + eps) with bias correction.
  // AdamW: x <- x (1 - 0.1 * 0.5) = 0.95, then - 0.1 * 2 / (2 + 1e-8)     ~ 0.85
  // Adam:  g = 2 + 0.5 * 1 = 2.5,        x <- 1 - 0.1 * 2.5 / (2.5 + 1e-8) ~ 0.90
  const auto loss = [](const torch::Tensor& v) { return (2 * v).sum(); };
  auto xw = torch::ones({1}, torch::kFloat64).requires_grad_(true);
  auto adamw = make_optimizer(optimizer_config("adamw", 0.1, 0.9, 0.5), {xw});
  step(*adamw, xw, loss);
  EXPECT_NEAR(xw.item<double>(), 0.95 - 0.1 * 2 / (2 + 1e-8), 1e-12);
  auto xa = torch::ones({1}, torch::kFloat64).requires_grad_(true);
  auto adam = make_optimizer(optimizer_config("adam", 0.1, 0.9, 0.5), {xa});
  step(*adam, xa, loss);
  EXPECT_NEAR(xa.item<double>(), 1 - 0.1 * 2.5 / (2.5 + 1e-8), 1e-12);
}

TEST(MakeOptimizer, RmspropUsesAlpha099AndTheConfiguredMomentum) {
  // loss 2x (gradient 2), lr 0.01, momentum 0.9, x0 = 1. square_avg starts at 0.
  // step 1: sq = 0.01 * 4 = 0.04, buf = 2 / (0.2 + 1e-8), x1 = 1 - 0.01 buf1
  // step 2: sq = 0.99 * 0.04 + 0.01 * 4, buf = 0.9 buf1 + 2 / (sqrt(sq) + 1e-8)
  const auto loss = [](const torch::Tensor& v) { return (2 * v).sum(); };
  auto x = torch::ones({1}, torch::kFloat64).requires_grad_(true);
  auto opt = make_optimizer(optimizer_config("rmsprop", 0.01, 0.9), {x});
  step(*opt, x, loss);
  const double buf1 = 2 / (0.2 + 1e-8);
  EXPECT_NEAR(x.item<double>(), 1 - 0.01 * buf1, 1e-12);
  step(*opt, x, loss);
  const double buf2 = 0.9 * buf1 + 2 / (std::sqrt(0.99 * 0.04 + 0.04) + 1e-8);
  EXPECT_NEAR(x.item<double>(), 1 - 0.01 * buf1 - 0.01 * buf2, 1e-12);
}

// --- gradient clipping ------------------------------------------------------------------------

TEST(ClipGradNorm, ScalesTheGlobalNormDownToTheLimitAndReturnsTheOriginal) {
  // Gradients (3, 4) and (12): global norm sqrt(9 + 16 + 144) = 13.
  auto a = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
  auto b = torch::zeros({1}, torch::kFloat64).requires_grad_(true);
  auto unused = torch::zeros({1}, torch::kFloat64).requires_grad_(true);  // no gradient
  const auto fill = [&] {
    a.mutable_grad() = torch::tensor({3.0, 4.0}, torch::kFloat64);
    b.mutable_grad() = torch::tensor({12.0}, torch::kFloat64);
  };
  fill();
  EXPECT_NEAR(clip_grad_norm({a, b, unused}, 6.5), 13.0, 1e-12);
  const double coef = 6.5 / (13 + 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3 * coef, 1e-12);
  EXPECT_NEAR(b.grad()[0].item<double>(), 12 * coef, 1e-12);
  EXPECT_NEAR(std::sqrt((a.grad().pow(2).sum() + b.grad().pow(2).sum()).item<double>()), 6.5, 1e-6);

  fill();
  EXPECT_NEAR(clip_grad_norm({a, b}, 20.0), 13.0, 1e-12);  // under the limit: untouched
  EXPECT_DOUBLE_EQ(a.grad()[1].item<double>(), 4.0);

  fill();
  EXPECT_NEAR(clip_grad_norm({a, b}, 0.0), 13.0, 1e-12);  // 0 only measures
  EXPECT_DOUBLE_EQ(b.grad()[0].item<double>(), 12.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm({unused}, 1.0), 0.0);
}

}  // namespace
}  // namespace orch
