// 2D residual units of the deep residual U-Net (Zhang, Liu, Wang 2018; docs/MODELS.md section 5).
// Both units add a main path to a shortcut; the shortcut kind decides the projection:
//   kProjection1x1 (the paper, [M]): identity when the shapes already match, else a 1x1 conv with
//                   the unit's stride (He et al.'s projection shortcut, no BN);
//   kConv3x3       (the reference code rishikksh20/ResUnet, [R]): always a 3x3 conv with the
//                   unit's stride, followed by BN in ResidualUnit and by nothing in the input unit.
// BN and initialisation use PyTorch's defaults, as the reference code does. Unlike that code, a
// conv that feeds a BN directly has no bias (BN's shift makes it redundant); every other conv has.
#pragma once

#include <torch/torch.h>

namespace orch {

enum class ResidualShortcut { kProjection1x1, kConv3x3 };

// The shortcut branch; an empty Sequential is the identity.
torch::nn::Sequential residual_shortcut(int64_t in, int64_t out, int64_t stride,
                                        ResidualShortcut kind, bool bn_after_conv3x3);

// Full pre-activation unit: BN -> ReLU -> Conv3x3(stride) -> BN -> ReLU -> Conv3x3, plus the
// shortcut. With stride 2 the output is ceil(H/2) x ceil(W/2) (padding 1), which is how the
// encoder downsamples instead of pooling.
struct ResidualUnitImpl : torch::nn::Module {
  ResidualUnitImpl(int64_t in, int64_t out, int64_t stride, ResidualShortcut shortcut);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Sequential shortcut{nullptr};
};
TORCH_MODULE(ResidualUnit);

// The first unit sees the raw image, so it has no pre-activation:
// Conv3x3 -> BN -> ReLU -> Conv3x3, plus the shortcut (stride 1).
struct ResidualInputUnitImpl : torch::nn::Module {
  ResidualInputUnitImpl(int64_t in, int64_t out, ResidualShortcut shortcut);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Sequential shortcut{nullptr};
};
TORCH_MODULE(ResidualInputUnit);

}  // namespace orch
