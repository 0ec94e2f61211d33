// spider_unet: Spider U-Net (docs/MODELS.md section 1), `lstm_unet` in the author's Keras code
// (siniphia/SpiderUnet, mra_keras_models.py). Input (B, T, C, H, W): T consecutive slices.
//   warp: wide_unet's encoder and decoder, one weight set shared by all T slices (Keras
//         TimeDistributed; here the slices are folded into the batch, (B*T, C, H, W), so BN
//         statistics run over B*T*H*W as Keras BN on the 5-D tensor does);
//   weft: the bottleneck is a bidirectional ConvLSTM (512 filters, 3x3, merge 'ave', no BN)
//         across T on the fourth level's pooled maps, in place of wide_unet's single conv;
//   then wide_unet's decoder, the 32-filter top conv and the 3x3 logits, per slice.
// Returns logits (B, T, K, H, W); softmax belongs to the loss.
//
// Thesis versus code: T = 5 in the thesis is the default, the code's T = 16 is the option
// `sequence_length`. The ConvLSTM gates use TF 2.x Keras's hard_sigmoid, what the code ran; the
// `recurrent_activation: sigmoid` option gives Shi et al.'s (and Keras 3's) logistic gates.
// forward accepts any T >= 1; sequence_length() is only what the engine should sample.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/blocks/convlstm.h"
#include "models/model.h"
#include "models/options.h"
#include "models/registry.h"
#include "models/wide_unet.h"

namespace orch {

// The options the Spider family's sequence models (spider_unet, fcn_rnn) add to wide_unet's.
struct SequenceOptions {
  int64_t sequence_length = 5;  // T, the slices per input (thesis 5; the author's code 16)
  int64_t lstm_kernel = 3;      // ConvLSTM kernel size, odd
  RecurrentActivation recurrent_activation = RecurrentActivation::kHardSigmoid;  // see above
  // `lstm_recurrent_init`: "orthogonal" (Keras) or "glorot_uniform", which skips the QR that
  // takes ~40 s per direction for the 512-filter bottleneck on this machine's LAPACK.
  RecurrentInit recurrent_init = RecurrentInit::kOrthogonal;

  // Adds sequence_length, lstm_kernel, recurrent_activation and lstm_recurrent_init to
  // `reader`, read into this (which must outlive the reader's read).
  void add_options(ModelOptionReader& reader);
};

// Throws orch::Error naming `model` unless x is (B >= 1, T >= 1, in_channels, H >= 1, W >= 1).
void check_sequence_input(const torch::Tensor& x, int64_t in_channels, const std::string& model);

struct SpiderUnetOptions {
  WideUnetOptions unet;      // filters (the last is the ConvLSTM's), width, top_filters,
                             // bn_momentum; in_channels and num_classes come from the dataset
  SequenceOptions sequence;  // T and the ConvLSTM's kernel and gates

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static SpiderUnetOptions from_json(const nlohmann::json& j);
};

class SpiderUnetImpl : public SegmentationModelImpl {
 public:
  explicit SpiderUnetImpl(const SpiderUnetOptions& options);
  // (B, T, C, H, W) -> logits (B, T, K, H, W), any T >= 1 and H, W >= 1.
  torch::Tensor forward(torch::Tensor x) override;
  // The warp path's encoder alone: (B, T, C, H, W) -> the pooled fourth-level maps that enter
  // the ConvLSTM, (B, T, f3, ceil(H/16), ceil(W/16)). Each slice is encoded on its own weights-
  // shared path, so (in eval mode) slice t's features do not depend on the other slices.
  torch::Tensor encode(const torch::Tensor& x);
  InputForm input_form() const override { return InputForm::kSequence; }
  int64_t sequence_length() const override { return options_.sequence.sequence_length; }

 private:
  SpiderUnetOptions options_;
  WideUnetEncoder encoder_;
  BiConvLstm2d weft_{nullptr};
  WideUnetDecoder decoder_;
  ConvReluBn top_{nullptr};
  torch::nn::Conv2d logits_{nullptr};
};

ModelKind spider_unet_kind();

}  // namespace orch
