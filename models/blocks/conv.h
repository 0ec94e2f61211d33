// 2D convolution blocks of the Spider U-Net family (docs/MODELS.md section 1), in the Keras code's
// order Conv -> ReLU -> BN, with Keras's BN defaults and he_normal initialisation.
#pragma once

#include <torch/torch.h>

namespace orch {

struct BnOptions {
  double eps = 1e-3;       // Keras BatchNormalization epsilon
  double momentum = 0.01;  // = 1 - Keras momentum 0.99
};

// Keras he_normal: a normal truncated at two standard deviations, std sqrt(2 / fan_in) / 0.8796.
void he_normal_(torch::Tensor weight);

// conv 3x3 ('same') -> ReLU -> BatchNorm.
struct ConvReluBnImpl : torch::nn::Module {
  ConvReluBnImpl(int64_t in, int64_t out, const BnOptions& bn);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvReluBn);

// Two ConvReluBn in a row.
struct TwoConvImpl : torch::nn::Module {
  TwoConvImpl(int64_t in, int64_t out, const BnOptions& bn);
  torch::Tensor forward(const torch::Tensor& x);
  ConvReluBn first{nullptr}, second{nullptr};
};
TORCH_MODULE(TwoConv);

// Transposed conv 2x2 stride 2 -> ReLU (no BN), then concat [skip, up] after cropping the
// upsampled map to the skip's size (odd sizes pool with ceil mode, so up may be one larger).
struct UpCatImpl : torch::nn::Module {
  UpCatImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);
  torch::nn::ConvTranspose2d deconv{nullptr};
};
TORCH_MODULE(UpCat);

}  // namespace orch
