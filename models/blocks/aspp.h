// Atrous spatial pyramid pooling (DeepLabv3, torchvision's `ASPP` pattern; docs/MODELS.md section
// 9): parallel branches on the same map, concatenated and projected back by a 1x1 conv.
//   - a 1x1 conv (no bias) + BN + ReLU;
//   - one 3x3 conv with dilation r and padding r (no bias) + BN + ReLU per rate r;
//   - optionally image pooling: global average -> 1x1 conv (no bias) + BN + ReLU -> bilinear
//     up-sampling (align_corners = false; from 1x1 that is a constant map);
//   - projection: concat -> 1x1 conv (no bias) + BN + ReLU.
// torchvision adds Dropout(0.5) after the projection; this block has none (the RB-CBAM paper does
// not mention one, and a skip connection is a poor place to drop half the features).
// Padding = dilation keeps every branch at the input's size, so any H, W >= 1 works. The image-
// pooling branch's BN sees one value per sample; a training batch of one uses its running
// statistics (norm_any_batch).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace orch {

struct AsppOptions {
  std::vector<int64_t> rates = {6, 12, 18};  // one dilated 3x3 branch per rate (DeepLabv3 OS16)
  bool image_pooling = true;                 // the global-average branch
};

struct AsppImpl : torch::nn::Module {
  // Every branch and the projection have `out_channels` filters.
  AsppImpl(int64_t in_channels, int64_t out_channels, const AsppOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  // Branches in concatenation order: the 1x1, then one per rate.
  std::vector<torch::nn::Sequential> branches;
  torch::nn::Conv2d pool_conv{nullptr};  // image pooling; null without it
  torch::nn::BatchNorm2d pool_bn{nullptr};
  torch::nn::Sequential project{nullptr};
};
TORCH_MODULE(Aspp);

}  // namespace orch
