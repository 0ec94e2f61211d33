// Training losses. dice_ce follows MONAI's DiceCELoss(softmax=True, to_onehot_y=True,
// include_background=True): soft Dice per (sample, class) with smooth_nr = smooth_dr = 1e-5,
// averaged over samples and classes, plus cross-entropy on the logits, both weighted 1.
#pragma once

#include <torch/torch.h>

namespace orch {

// logits (B, K, ...), target (B, ...) int64 class indices. Returns 1 - mean soft Dice.
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             double smooth = 1e-5);
torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace orch
