#include "worker/losses.h"

namespace orch {

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             double smooth) {
  const int64_t k = logits.size(1);
  const auto p = torch::softmax(logits, 1);
  // one_hot appends the class axis last; move it next to the batch axis.
  auto y = torch::one_hot(target, k).to(p.dtype());
  std::vector<int64_t> perm = {0, y.dim() - 1};
  for (int64_t d = 1; d < y.dim() - 1; ++d) perm.push_back(d);
  y = y.permute(perm);
  std::vector<int64_t> spatial;
  for (int64_t d = 2; d < p.dim(); ++d) spatial.push_back(d);
  const auto inter = (p * y).sum(spatial);
  const auto denom = p.sum(spatial) + y.sum(spatial);
  return (1 - (2 * inter + smooth) / (denom + smooth)).mean();
}

torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return soft_dice_loss(logits, target) + torch::nn::functional::cross_entropy(logits, target);
}

}  // namespace orch
