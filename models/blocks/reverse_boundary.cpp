#include "models/blocks/reverse_boundary.h"

#include <algorithm>
#include <vector>

#include "common/status.h"

namespace orch {

torch::Tensor reverse_map(const torch::Tensor& logit) { return 1 - torch::sigmoid(logit); }

torch::Tensor boundary_map(const torch::Tensor& logit) {
  return 1 - (2 * torch::sigmoid(logit) - 1).abs();
}

RbCbamImpl::RbCbamImpl(int64_t channels, int64_t reduction, bool reverse, bool boundary)
    : reverse_(reverse),
      boundary_(boundary),
      out_channels_(channels * std::max(1, int(reverse) + int(boundary))) {
  cbam = register_module("cbam", Cbam(channels, reduction));
}

torch::Tensor RbCbamImpl::forward(const torch::Tensor& skip, const torch::Tensor& coarse_logit) {
  const auto fc = cbam(skip);
  if (!needs_logit()) return fc;
  if (!coarse_logit.defined() || coarse_logit.size(1) != 1)
    throw Error("rb_cbam: reverse/boundary attention needs a (B, 1, h, w) logit");
  const auto p = upsample_to(coarse_logit, skip.size(2), skip.size(3));
  std::vector<torch::Tensor> parts;
  if (reverse_) parts.push_back(fc * reverse_map(p));
  if (boundary_) parts.push_back(fc * boundary_map(p));
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
}

}  // namespace orch
