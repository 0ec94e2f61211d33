// fcn_rnn: the Spider thesis's FCN-RNN baseline (docs/MODELS.md sections 1 and 3), `fcn_rnn` in the
// author's Keras code (siniphia/SpiderUnet, mra_keras_models.py): wide_unet applied to each of
// T slices with shared weights (the slices folded into the batch), whose 32-filter top conv is
// replaced by a bidirectional ConvLSTM (64 filters, 3x3, merge 'ave', no BN) across T on the
// decoder's full-resolution maps, then the 3x3 logits conv per slice. The bottleneck stays
// wide_unet's single conv. Input (B, T, C, H, W) -> logits (B, T, K, H, W).
//
// This is the thesis author's model, not Chen et al.'s NeurIPS 2016 FCN-RNN (kU-Net plus a
// stacked BDC-LSTM), which the thesis cites; for reproducing the thesis the author's is used.
// T and the gates' activation follow spider_unet (see spider_unet.h).
#pragma once

#include <nlohmann/json.hpp>

#include "models/blocks/convlstm.h"
#include "models/model.h"
#include "models/registry.h"
#include "models/spider_unet.h"
#include "models/wide_unet.h"

namespace orch {

struct FcnRnnOptions {
  WideUnetOptions unet;       // filters, width, bn_momentum (top_filters is unused and rejected);
                              // in_channels and num_classes come from the dataset
  int64_t lstm_filters = 64;  // the ConvLSTM's filters, scaled by width
  SequenceOptions sequence;   // T and the ConvLSTM's kernel and gates

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message).
  static FcnRnnOptions from_json(const nlohmann::json& j);
};

class FcnRnnImpl : public SegmentationModelImpl {
 public:
  explicit FcnRnnImpl(const FcnRnnOptions& options);
  // (B, T, C, H, W) -> logits (B, T, K, H, W), any T >= 1 and H, W >= 1.
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSequence; }
  int64_t sequence_length() const override { return options_.sequence.sequence_length; }

 private:
  FcnRnnOptions options_;
  WideUnetEncoder encoder_;
  ConvReluBn bottleneck_{nullptr};
  WideUnetDecoder decoder_;
  BiConvLstm2d rnn_{nullptr};
  torch::nn::Conv2d logits_{nullptr};
};

ModelKind fcn_rnn_kind();

}  // namespace orch
