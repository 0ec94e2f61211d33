// wide_unet: the "2D U-Net" baseline of the Spider U-Net thesis (docs/MODELS.md section 1), as in
// the author's Keras code: filters (64, 128, 196, 256, 512), every conv is Conv3x3 -> ReLU -> BN,
// four levels of two convs with 2x2 max-pooling, a single-conv 512 bottleneck, ConvTranspose
// 2x2 + ReLU up-sampling with [skip, up] concatenation, a 32-filter top conv and a 3x3 logits
// conv. `width` scales every filter count (the quick profile trains narrow versions).
// Odd sizes: pooling uses ceil mode and the up-sampled map is cropped to the skip.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/conv.h"
#include "models/model.h"
#include "models/options.h"
#include "models/registry.h"

namespace orch {

struct WideUnetOptions {
  std::vector<int64_t> filters = {64, 128, 196, 256, 512};  // 4 encoder levels + bottleneck
  double width = 1.0;        // multiplies every filter count (rounded, at least 1)
  int64_t top_filters = 32;  // the conv before the logits
  int64_t in_channels = 1;   // image channels
  int64_t num_classes = 2;   // logits, background included
  BnOptions bn;              // Keras defaults; `bn_momentum` overrides the momentum (the
                             // PyTorch convention: 0.01 = Keras 0.99)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static WideUnetOptions from_json(const nlohmann::json& j);
  // Adds filters, width, top_filters and bn_momentum to `reader`, read into this (which must
  // outlive the reader's read). The Spider sequence models read their shared keys with it.
  void add_options(ModelOptionReader& reader);
};

// A filter count scaled by `width`: rounded, at least 1.
int64_t scale_filters(int64_t filters, double width);

// The encoder and decoder that wide_unet shares with the Spider family's sequence models
// (spider_unet, fcn_rnn), which run them on (B*T, C, H, W). They register their modules on
// `owner` under wide_unet's names (down0..down3; up3, up_conv3, ..., up0, up_conv0).

// Four levels of TwoConv, each followed by 2x2 max-pooling in ceil mode (Keras 'same').
class WideUnetEncoder {
 public:
  WideUnetEncoder() = default;
  // `f`: the (scaled) filter counts; levels use f[0..3].
  WideUnetEncoder(torch::nn::Module& owner, int64_t in_channels, const std::vector<int64_t>& f,
                  const BnOptions& bn);
  // Returns the fourth level's pooled map; appends each level's output (before pooling) to skips.
  torch::Tensor forward(torch::Tensor x, std::vector<torch::Tensor>& skips);

 private:
  std::vector<TwoConv> down_;
};

// Four levels of UpCat ([skip, up]) then TwoConv, deepest first.
class WideUnetDecoder {
 public:
  WideUnetDecoder() = default;
  // `in`: channels entering the deepest up-sampling; `f`: as for the encoder.
  WideUnetDecoder(torch::nn::Module& owner, int64_t in, const std::vector<int64_t>& f,
                  const BnOptions& bn);
  // `skips`: the encoder's four outputs, shallowest first. Returns f[0] channels at full size.
  torch::Tensor forward(torch::Tensor x, const std::vector<torch::Tensor>& skips);

 private:
  std::vector<UpCat> up_;
  std::vector<TwoConv> up_conv_;
};

// The family's 3x3 logits conv ('same', he_normal, zero bias); the caller registers it.
torch::nn::Conv2d make_logits_conv(int64_t in, int64_t num_classes);

class WideUnetImpl : public SegmentationModelImpl {
 public:
  explicit WideUnetImpl(const WideUnetOptions& options);
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSlice2d; }

 private:
  WideUnetEncoder encoder_;
  ConvReluBn bottleneck_{nullptr};
  WideUnetDecoder decoder_;
  ConvReluBn top_{nullptr};
  torch::nn::Conv2d logits_{nullptr};
};

ModelKind wide_unet_kind();

}  // namespace orch
