// wide_unet: the "2D U-Net" baseline of the Spider U-Net thesis (MODELS.md section 1), as in the
// author's Keras code: filters (64, 128, 196, 256, 512), every conv is Conv3x3 -> ReLU -> BN,
// four levels of two convs with 2x2 max-pooling, a single-conv 512 bottleneck, ConvTranspose
// 2x2 + ReLU up-sampling with [skip, up] concatenation, a 32-filter top conv and a 3x3 logits
// conv. `width` scales every filter count (the quick profile trains narrow versions).
// Odd sizes: pooling uses ceil mode and the up-sampled map is cropped to the skip.
#pragma once

#include <array>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/conv.h"
#include "models/model.h"

namespace orch {

struct WideUnetOptions {
  std::vector<int64_t> filters = {64, 128, 196, 256, 512};  // 4 encoder levels + bottleneck
  double width = 1.0;        // multiplies every filter count (rounded, at least 1)
  int64_t top_filters = 32;  // the conv before the logits
  int64_t in_channels = 1;   // image channels
  int64_t num_classes = 2;   // logits, background included
  BnOptions bn;              // Keras defaults; `bn_momentum` overrides the momentum (the
                             // PyTorch convention: 0.01 = Keras 0.99)

  // Reads the YAML `options:` object; throws std::invalid_argument("key: message").
  static WideUnetOptions from_json(const nlohmann::json& j);
};

class WideUnetImpl : public SegmentationModelImpl {
 public:
  explicit WideUnetImpl(const WideUnetOptions& options);
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSlice2d; }

 private:
  std::vector<TwoConv> down_;
  ConvReluBn bottleneck_{nullptr};
  std::vector<UpCat> up_;
  std::vector<TwoConv> up_conv_;
  ConvReluBn top_{nullptr};
  torch::nn::Conv2d logits_{nullptr};
};

}  // namespace orch
