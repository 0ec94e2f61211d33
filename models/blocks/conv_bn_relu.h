// 2D U-Net blocks in the common PyTorch order Conv -> BN -> ReLU (milesial/Pytorch-UNet's
// DoubleConv, docs/MODELS.md section 4), as opposed to blocks/conv.h's Keras-order Conv -> ReLU ->
// BN. Convs are 3x3 'same' without bias (the BN that follows has one); BN and initialisation are
// PyTorch's defaults.
#pragma once

#include <torch/torch.h>

namespace orch {

// (Conv3x3 -> BN -> ReLU) x 2.
struct DoubleConvBnReluImpl : torch::nn::Module {
  DoubleConvBnReluImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(DoubleConvBnRelu);

// Decoder step: upsample `x` x2 (bilinear, align_corners=true, keeping its channels; or a
// ConvTranspose2d 2x2 stride 2 to `out` channels), crop it to the skip's size (ceil-mode pooling
// rounds odd sizes up), concat [skip, up], then DoubleConvBnRelu to `out` channels.
struct UpDoubleConvImpl : torch::nn::Module {
  UpDoubleConvImpl(int64_t in, int64_t skip, int64_t out, bool bilinear);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);
  torch::nn::ConvTranspose2d deconv{nullptr};  // null when bilinear
  DoubleConvBnRelu conv{nullptr};
};
TORCH_MODULE(UpDoubleConv);

}  // namespace orch
