// Optimisers, learning-rate schedules and gradient clipping named by TrainingConfig.
//
// Optimisers (LibTorch's, with torch's defaults for everything the config does not set):
//   adam     Adam(lr, betas (0.9, 0.999), eps 1e-8); weight_decay is L2 added to the gradient
//   adamw    AdamW; weight_decay is decoupled: p <- p (1 - lr wd) before the Adam step
//   rmsprop  RMSprop(lr, alpha 0.99, eps 1e-8, momentum); weight_decay is L2
//   sgd      SGD(lr, momentum, dampening 0, no Nesterov); weight_decay is L2
//
// Schedules, evaluated once per epoch (epoch e counts from 0; E = epochs, W = warmup_epochs):
//   constant       lr(e) = lr
//   warmup_cosine  e < W:  lr e / W   (linear warm-up from 0; epoch 0 trains at 0)
//                  e >= W: min_lr + (lr - min_lr) (1 + cos(pi min(1, (e - W) / max(1, E - W)))) / 2
//                  This is MONAI's WarmupCosineSchedule (monai/optimizers/lr_scheduler.py,
//                  warmup_multiplier 0, cycles 0.5) stepped per epoch; with min_lr > 0 the cosine
//                  runs down to min_lr like the BTCV script's LinearWarmupCosineAnnealingLR
//                  (eta_min), where MONAI would floor it there. That script's warm-up reaches the
//                  peak one epoch earlier (it divides by W - 1).
//   plateau        torch's ReduceLROnPlateau (threshold 1e-4 relative, cooldown 0): after more
//                  than plateau_patience epochs without improvement, lr <- max(lr factor, min_lr).
//                  "Improvement" means metric > best + |best| 1e-4, on a higher-is-better metric
//                  (pass minus a loss); a NaN is never an improvement.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.h"

namespace orch {

// An optimiser over `params` configured by config.optimizer, lr, momentum and weight_decay.
// Throws orch::Error for an unknown optimiser name.
// The names make_optimizer and LrSchedule accept (the YAML parser checks against these).
const std::vector<std::string>& optimizer_names();
const std::vector<std::string>& schedule_names();

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingConfig& config,
                                                        std::vector<torch::Tensor> params);

// Sets the learning rate of every parameter group, whatever the optimiser type.
void set_lr(torch::optim::Optimizer& optimizer, double lr);
// The learning rate of the first parameter group.
double get_lr(const torch::optim::Optimizer& optimizer);

// Scales the gradients in place so that their global L2 norm is at most max_norm (by
// max_norm / (norm + 1e-6), as torch does) and returns the norm before scaling. max_norm <= 0
// only measures. Parameters without a gradient are skipped.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// The learning rate for each epoch. Call lr(e) before epoch e and, for plateau, observe(e, m)
// after it; state() goes into the checkpoint and restore() brings it back on resume.
// Not thread-safe.
class LrSchedule {
 public:
  explicit LrSchedule(const TrainingConfig& config);  // throws orch::Error on an unknown name

  double lr(int epoch) const;
  // Records epoch e's metric (higher is better). Epochs must come in increasing order; an epoch
  // already observed is ignored, so that an epoch repeated after a crash counts once.
  void observe(int epoch, double metric_higher_is_better);

  nlohmann::json state() const;
  void restore(const nlohmann::json& state);  // throws orch::Error if it is another schedule's

 private:
  std::string kind_;
  double base_lr_;
  double min_lr_;
  int warmup_epochs_;
  int epochs_;
  double factor_;
  int patience_;
  // plateau state
  double current_lr_;
  double best_;  // -infinity until the first finite metric
  int bad_epochs_ = 0;
  int last_observed_ = -1;
};

}  // namespace orch
