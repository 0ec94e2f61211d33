#include "worker/train/losses.h"

#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

namespace F = torch::nn::functional;

struct Inputs {
  torch::Tensor logits;  // float32 or float64
  torch::Tensor target;  // int64
};

// Checks the shapes, promotes autocast dtypes to float32 and the target to int64.
Inputs prepare(const char* loss, const torch::Tensor& logits, const torch::Tensor& target) {
  const bool ok = logits.dim() >= 3 && target.dim() == logits.dim() - 1 &&
                  target.size(0) == logits.size(0) &&
                  target.sizes().slice(1) == logits.sizes().slice(2);
  if (!ok) {
    std::ostringstream os;
    os << loss << ": expected logits (B, K, ...spatial) and target (B, ...spatial); got logits "
       << logits.sizes() << " and target " << target.sizes();
    throw Error(os.str());
  }
  const auto t = logits.scalar_type();
  const bool low = t == torch::kHalf || t == torch::kBFloat16;
  return {low ? logits.to(torch::kFloat) : logits, target.to(torch::kLong)};
}

std::vector<int64_t> spatial_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// Class probabilities: softmax over K >= 2 channels, sigmoid of a single channel.
torch::Tensor probabilities(const torch::Tensor& logits) {
  return logits.size(1) == 1 ? torch::sigmoid(logits) : torch::softmax(logits, 1);
}

// The target as channels (B, K, ...) of `dtype`: one-hot for K >= 2, the 0/1 mask for K == 1.
torch::Tensor channels(const torch::Tensor& target, int64_t k, torch::ScalarType dtype) {
  if (k == 1) return target.unsqueeze(1).to(dtype);
  // one_hot appends the class axis last; move it next to the batch axis.
  auto y = torch::one_hot(target, k).to(dtype);
  std::vector<int64_t> perm = {0, y.dim() - 1};
  for (int64_t d = 1; d < y.dim() - 1; ++d) perm.push_back(d);
  return y.permute(perm);
}

// Soft Dice per (sample, class), shape (B, K): (2 sum(p y) + s) / (sum p + sum y + s).
torch::Tensor dice_per_sample_class(const torch::Tensor& p, const torch::Tensor& y, double smooth) {
  const auto dims = spatial_dims(p);
  return (2 * (p * y).sum(dims) + smooth) / (p.sum(dims) + y.sum(dims) + smooth);
}

// The one foreground logit of a binary problem, (B, 1, ...).
torch::Tensor foreground_logit(const char* loss, const torch::Tensor& logits) {
  if (logits.size(1) == 1) return logits;
  if (logits.size(1) == 2) return logits.narrow(1, 1, 1) - logits.narrow(1, 0, 1);
  throw Error(std::string(loss) + ": a two-class loss needs 1 or 2 output channels, got " +
              std::to_string(logits.size(1)));
}

}  // namespace

torch::Tensor ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const Inputs in = prepare("ce", logits, target);
  if (in.logits.size(1) == 1)
    return F::binary_cross_entropy_with_logits(in.logits.squeeze(1),
                                               in.target.to(in.logits.scalar_type()));
  return F::cross_entropy(in.logits, in.target);
}

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             double smooth) {
  const Inputs in = prepare("dice", logits, target);
  const auto p = probabilities(in.logits);
  const auto y = channels(in.target, p.size(1), p.scalar_type());
  return (1 - dice_per_sample_class(p, y, smooth)).mean();
}

torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return soft_dice_loss(logits, target) + ce_loss(logits, target);
}

torch::Tensor bce_dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const Inputs in = prepare("bce_dice", logits, target);
  const auto l = foreground_logit("bce_dice", in.logits);
  return ce_loss(l, in.target) + soft_dice_loss(l, in.target);
}

torch::Tensor generalized_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                    double smooth) {
  const Inputs in = prepare("generalized_dice", logits, target);
  const auto p = probabilities(in.logits);
  const auto y = channels(in.target, p.size(1), p.scalar_type());
  const auto dims = spatial_dims(p);
  const auto tp = (p * y).sum(dims);  // (B, K)
  const auto ground = y.sum(dims);    // (B, K)
  const auto total = ground + p.sum(dims);
  auto w = torch::reciprocal(ground * ground);
  const auto absent = torch::isinf(w);
  w = torch::where(absent, torch::zeros_like(w), w);
  w = torch::where(absent, std::get<0>(w.max(1, true)).expand_as(w), w);
  const auto numer = 2 * (tp * w).sum(1) + smooth;
  const auto denom = (total * w).sum(1) + smooth;
  return (1 - numer / denom).mean();
}

torch::Tensor focal_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                              double beta) {
  if (!(beta >= 1)) throw Error("focal_dice: beta must be >= 1, got " + std::to_string(beta));
  const Inputs in = prepare("focal_dice", logits, target);
  const auto p = probabilities(in.logits);
  const auto y = channels(in.target, p.size(1), p.scalar_type());
  std::vector<int64_t> dims = spatial_dims(p);
  dims.push_back(0);  // one Dice per class over the whole batch, as PyMIC does
  const auto dice = (2 * (p * y).sum(dims) + 1e-5) / (p.sum(dims) + y.sum(dims) + 1e-5);
  const auto clamped = 0.005 + 0.99 * dice;
  const auto per_class = 1 - clamped.pow(1.0 / beta);
  const int64_t k = per_class.size(0);
  return (k == 1 ? per_class : per_class.narrow(0, 1, k - 1)).mean();
}

torch::Tensor spider_dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const Inputs in = prepare("spider_dice", logits, target);
  if (in.logits.dim() < 4)
    throw Error("spider_dice: needs 2-D slices, logits (B, 2, ..., H, W); got " +
                std::to_string(in.logits.dim()) + " dims");
  const auto l = foreground_logit("spider_dice", in.logits);
  const auto fg = torch::sigmoid(l);  // = softmax(logits)[:, 1] when K == 2
  const auto p = torch::cat({1 - fg, fg}, 1);
  const auto y = channels(in.target, 2, p.scalar_type());
  const std::vector<int64_t> hw = {p.dim() - 2, p.dim() - 1};
  const auto dice = 2 * (y * p).sum(hw) / ((y + p).sum(hw) + 1);  // (B, 2, ...)
  const auto fg_loss = 0.9 * (1 - dice.select(1, 1));
  const auto bg_loss = 0.1 * (1 - dice.select(1, 0));
  return (fg_loss + bg_loss.pow(2)).mean();
}

torch::Tensor refnet_loss(const torch::Tensor& logits, const torch::Tensor& target,
                          const torch::Tensor& source) {
  if (source.sizes() != target.sizes()) {
    std::ostringstream os;
    os << "refnet: source labels " << source.sizes() << " differ in shape from the target "
       << target.sizes();
    throw Error(os.str());
  }
  return ce_loss(logits, target) + soft_dice_loss(logits, target) + ce_loss(logits, source);
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = {
      "dice_ce",          "ce",         "dice",        "bce_dice",
      "generalized_dice", "focal_dice", "spider_dice", "refnet"};
  return names;
}

LossFn make_loss(const TrainingConfig& config) {
  const std::string& name = config.loss;
  if (name == "dice_ce") return dice_ce_loss;
  if (name == "ce") return ce_loss;
  if (name == "dice")
    return [](const torch::Tensor& l, const torch::Tensor& t) { return soft_dice_loss(l, t); };
  if (name == "bce_dice") return bce_dice_loss;
  if (name == "generalized_dice")
    return
        [](const torch::Tensor& l, const torch::Tensor& t) { return generalized_dice_loss(l, t); };
  if (name == "focal_dice") {
    const double beta = config.focal_beta;
    return [beta](const torch::Tensor& l, const torch::Tensor& t) {
      return focal_dice_loss(l, t, beta);
    };
  }
  if (name == "spider_dice") return spider_dice_loss;
  if (name == "refnet")
    throw Error(
        "training.loss 'refnet' needs the source model's labels, which are the refining "
        "model's input: use make_step_loss");
  throw Error("training.loss: unknown loss '" + name + "'; known: " + join(loss_names()));
}

StepLossFn make_step_loss(const TrainingConfig& config) {
  if (config.loss == "refnet")
    return [](const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& in) {
      if (in.dim() != target.dim() + 1 || in.size(1) != 1) {
        std::ostringstream os;
        os << "refnet: the input " << in.sizes() << " is not one label map per target "
           << target.sizes();
        throw Error(os.str());
      }
      return refnet_loss(logits, target, in.select(1, 0).round().to(torch::kInt64));
    };
  LossFn loss = make_loss(config);
  return [loss](const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor&) {
    return loss(logits, target);
  };
}

}  // namespace orch
