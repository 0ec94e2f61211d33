// Training losses of the five papers. Every loss takes logits (B, K, ...spatial), any number of
// spatial dims, and a target (B, ...spatial) of int64 class indices in [0, K), and returns a
// scalar. Half and bfloat16 logits (autocast) are promoted to float32 first.
//
// Channels: with K >= 2 the probabilities are softmax over K classes. With K == 1 the single
// channel is a sigmoid foreground logit and the target is 0/1 (MONAI's single-channel case);
// cross-entropy then becomes binary cross-entropy on the logit.
//
// Conventions (docs/MODELS.md section 10 and section 1):
//   soft Dice        MONAI DiceLoss: per (sample, class), smooth_nr = smooth_dr = 1e-5,
//                    mean over B x K, background included.
//   dice_ce          MONAI DiceCELoss(softmax, to_onehot_y): soft Dice + CE, both weight 1.
//   generalized_dice MONAI GeneralizedDiceLoss (w_type square): per sample,
//                    w_c = 1 / (sum y_c)^2; the weight of a class absent from the target
//                    (infinite) becomes the largest finite weight of that sample (0 if none);
//                    L_b = 1 - (2 sum_c w tp + 1e-5) / (sum_c w (sum p + sum y) + 1e-5).
//   focal_dice       Wang & Chung 2018 as in PyMIC's MyFocalDiceLoss: per-class soft Dice over
//                    the whole batch (smooth 1e-5), D <- 0.005 + 0.99 D,
//                    L = mean_c (1 - D_c^(1/beta)). PyMIC averages over every class; we average
//                    over the foreground classes only (c >= 1, the paper's "structures of
//                    interest"); with K == 1 the single channel is the foreground.
//   spider_dice      the Spider code's WeightedDiceScoreLoss: two classes; per 2-D slice
//                    (the last two dims; every other index, batch or depth or time, is its own
//                    slice), D_c = 2 sum(y p) / (sum(y + p) + 1), and
//                    L = mean_slices [0.9 (1 - D_1) + (0.1 (1 - D_0))^2]; the square applies
//                    to the weighted background term, as the Keras code's precedence gives.
//   bce_dice         two classes: BCEWithLogits(l, y) + DiceLoss(sigmoid(l), y) on one
//                    foreground logit l, the MS paper's 1-channel form. With K == 2, l is
//                    logit[:,1] - logit[:,0]: sigmoid(l) is then softmax(logits)[:,1], so BCE
//                    equals CE and the Dice term covers the foreground channel only.
//   refnet           CE(P, T) + soft Dice(P, T) + CE(P, S), S = the source model's label map.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "common/config/config.h"

namespace orch {

using LossFn =
    std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& target)>;

// Mean cross-entropy over every pixel of the batch (binary cross-entropy when K == 1).
torch::Tensor ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
// 1 - mean soft Dice (MONAI DiceLoss).
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             double smooth = 1e-5);
torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
// K must be 1 or 2.
torch::Tensor bce_dice_loss(const torch::Tensor& logits, const torch::Tensor& target);
torch::Tensor generalized_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                    double smooth = 1e-5);
// beta >= 1.
torch::Tensor focal_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                              double beta = 1.5);
// K must be 1 or 2 and there must be at least two spatial dims.
torch::Tensor spider_dice_loss(const torch::Tensor& logits, const torch::Tensor& target);
// `source` has the target's shape and holds the source model's int64 labels (argmax).
torch::Tensor refnet_loss(const torch::Tensor& logits, const torch::Tensor& target,
                          const torch::Tensor& source);

// The loss named by config.loss (focal_dice takes config.focal_beta). Throws orch::Error for
// an unknown name and for "refnet", which needs the input batch (make_step_loss).
LossFn make_loss(const TrainingConfig& config);
// Every loss name make_loss or make_step_loss accepts (the YAML parser checks against these).
const std::vector<std::string>& loss_names();

// The training step's loss, which also sees the model's input batch. Every loss but refnet
// ignores it. A refining model's input is the source model's label map (B, 1, spatial...), so
// refnet takes S from it: refnet_loss(logits, target, round(input[:, 0])).
using StepLossFn = std::function<torch::Tensor(
    const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& input)>;
StepLossFn make_step_loss(const TrainingConfig& config);

}  // namespace orch
