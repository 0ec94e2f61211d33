// resunet2d: the deep residual U-Net of Zhang, Liu, Wang 2018 ("Road Extraction by Deep Residual
// U-Net"), which the BTCV 13-organ paper (seed 001) trains on axial slices (docs/MODELS.md section
// 5).
//
// Default = the paper as docs/MODELS.md recalls it ([M], not re-read):
//   - full pre-activation residual units (BN -> ReLU -> Conv3x3, twice) with identity or 1x1
//     projection shortcuts; the first (input) unit has no pre-activation;
//   - downsampling by the stride-2 first conv of a unit, no pooling;
//   - 3 encoder levels (64, 128, 256) + a bridge (512) + 3 decoder levels (256, 128, 64);
//   - decoder: nearest x2 upsampling, concat [up, skip], one residual unit; final 1x1 conv.
// The paper claims ~7.8 M parameters: unverified. This layout with 3 input channels and one output
// has 8,219,585 (hand count in tests/models/resunet2d_test.cpp); the gap is not explained.
// Convs that feed a BN directly have no bias here (the reference code keeps them; BN absorbs them).
//
// Where the reference code rishikksh20/ResUnet ([R]) differs, it is an option:
//   - `shortcut: conv3x3`: 3x3 conv + BN shortcuts (3x3 conv without BN in the input unit);
//   - `upsample: deconv`: ConvTranspose2d(c, c, 2, stride 2) instead of nearest upsampling;
//   - its sigmoid head: this model returns num_classes logits (14 for BTCV: 13 organs +
//     background); the activation (softmax for CE + Dice, as the seed says) belongs to the loss.
// The seed's "hidden layer 18" matches nothing in either source and is not modelled.
//
// Odd sizes: a stride-2 conv gives ceil(H/2); the upsampled map is cropped to its skip's size.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/residual.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

enum class ResUpsample { kNearest, kDeconv };

struct ResUnet2dOptions {
  std::vector<int64_t> filters = {64, 128, 256, 512};  // 3 encoder levels + the bridge
  double width = 1.0;  // multiplies every filter count (rounded, at least 1)
  ResidualShortcut shortcut = ResidualShortcut::kProjection1x1;  // `projection1x1` | `conv3x3`
  ResUpsample upsample = ResUpsample::kNearest;                  // `nearest` | `deconv`
  int64_t in_channels = 1;                                       // image channels (from ModelShape)
  int64_t num_classes = 2;  // logits, background included (from ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static ResUnet2dOptions from_json(const nlohmann::json& j);
};

class ResUnet2dImpl : public SegmentationModelImpl {
 public:
  explicit ResUnet2dImpl(const ResUnet2dOptions& options);
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSlice2d; }

 private:
  ResidualInputUnit input_{nullptr};
  std::vector<ResidualUnit> down_;                  // two stride-2 encoder units, then the bridge
  std::vector<torch::nn::ConvTranspose2d> deconv_;  // `upsample: deconv` only
  std::vector<ResidualUnit> up_;                    // decoder units, deepest first
  torch::nn::Conv2d logits_{nullptr};
};

ModelKind resunet2d_kind();

}  // namespace orch
