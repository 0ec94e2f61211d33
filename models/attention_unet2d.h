// attention_unet2d: the lung-nodule model of Hwang, Ji, Yoon and Lee, "Boundary and Reverse
// Attention Module for Lung Nodule Segmentation in CT Images", J. IEMEK 17(5):265, 2022
// (docs/MODELS.md section 9; seed 004). No public code exists; the paper gives the layout only.
//
// Backbone: a 4-level 2D U-Net in the milesial/Pytorch-UNet form (docs/MODELS.md section 4):
// filters base * (1, 2, 4, 8) and a 16 * base bottleneck, (Conv3x3 no bias -> BN -> ReLU) x 2 per
// stage, 2x2 max-pooling (ceil mode: odd sizes work and the up-sampled map is cropped to the skip),
// ConvTranspose 2x2 halving the channels, concat [skip', up], and a 1x1 logits conv. The paper
// starts from a "pretrained U-Net"; which weights is unknown (docs/MODELS.md 13.3), so orch trains
// from PyTorch's default initialisation.
//
// Each skip is rebuilt as skip' = attention(ASPP(skip)) before the concat (paper Fig. 2):
//   aspp        DeepLabv3 ASPP (blocks/aspp.h) with as many filters as the skip: a 1x1 branch plus
//               one dilated 3x3 per rate (the paper's "4 branches") and image pooling (the paper's
//               "image-wide" information), projected by a 1x1 conv.
//   attention   one module per skip (Table 1): none | se | attention_gate | bam | cbam | rb_cbam.
//               attention_gate is gated by the next-deeper decoder feature (the bottleneck for
//               the deepest skip), as in Attention U-Net.
// rb_cbam's reverse and boundary switches (Table 2, with `aspp`):
//   reverse  boundary  skip' (C = skip channels)
//   true     true      concat[CBAM * R, CBAM * B]  (2C)  the proposed RB-CBAM
//   true     false     CBAM * R                    (C)
//   false    true      CBAM * B                    (C)
//   false    false     CBAM                        (C)   the same network as attention: cbam
// R and B come from P, the next-deeper level's deep-supervision logit (blocks/reverse_boundary.h).
// Table 2's marks did not survive the seed's text extraction. Read with its text (none worst,
// all three best, both attentions beat either one): none (CBAM alone) 0.3728; without ASPP one
// attention 0.6201 / 0.6187, both 0.6259; ASPP alone 0.5425, ASPP + one attention 0.5691 /
// 0.6108; all three 0.6627. Which single attention is which is not recoverable.
//
// Deep supervision (rb_cbam with reverse or boundary on): a 1x1 conv head gives P, ONE channel,
// the foreground (label > 0, any class) logit, on the bottleneck and on decoder levels 3, 2 and 1;
// P of level l + 1 drives skip l. One channel because R and B are defined on a single probability
// (PraNet, UACANet, the paper's binary nodule task); a multi-class dataset supervises it with the
// union of its foreground classes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/blocks/aspp.h"
#include "models/blocks/attention.h"
#include "models/blocks/reverse_boundary.h"
#include "models/model.h"
#include "models/registry.h"

namespace orch {

enum class SkipAttentionKind { kNone, kSe, kAttentionGate, kBam, kCbam, kRbCbam };

struct AttentionUnet2dOptions {
  SkipAttentionKind attention = SkipAttentionKind::kRbCbam;  // the module on every skip
  bool aspp = true;      // ASPP on every skip, before the attention
  bool reverse = true;   // rb_cbam only: the reverse-attention half
  bool boundary = true;  // rb_cbam only: the boundary-attention half
  // Dilation rates of ASPP's 3x3 branches. The paper gives none; DeepLabv3's (6, 12, 18) serve
  // 33x33 maps (513 crops at output stride 16), while a 128x128 input's deepest skip is 16x16,
  // where a rate >= 16 leaves only the centre tap on the map. (6, 12, 18) / 3 keeps the largest
  // rate under half of that 16x16 map and the three rates in DeepLab's 1:2:3 ratio.
  std::vector<int64_t> aspp_rates = {2, 4, 6};
  bool aspp_pooling = true;  // ASPP's image-pooling branch
  // bam only. The BAM paper's sum is the default; the official bam.py's product is the option.
  BamCombine bam_combine = BamCombine::kSum;
  int64_t base_filters = 64;  // first level's filters; level k has base * 2^k, bottleneck 16 base
  double width = 1.0;         // multiplies every filter count (rounded, at least 1)
  int64_t reduction = 16;     // channel-MLP reduction of SE, BAM and CBAM
  int64_t in_channels = 1;    // image channels (from ModelShape)
  int64_t num_classes = 2;    // logits, background included (from ModelShape)

  // Reads the YAML `options:` object; throws orch::Error::Option(key, message). A key that
  // configures a part the other options switch off (reverse with attention se, aspp_rates with
  // aspp false, ...) is an error rather than silently ignored.
  static AttentionUnet2dOptions from_json(const nlohmann::json& j);
  // True when the model has deep-supervision heads (rb_cbam with reverse or boundary).
  bool deep_supervision() const;
};

const char* to_string(SkipAttentionKind kind);  // the YAML spelling: "none", "se", ...

// One skip's attention module. gate: the next-deeper decoder feature (attention_gate);
// logit: the next-deeper deep-supervision logit (rb_cbam with reverse or boundary).
class SkipAttentionImpl : public torch::nn::Module {
 public:
  SkipAttentionImpl(const AttentionUnet2dOptions& o, int64_t channels, int64_t gate_channels);
  torch::Tensor forward(const torch::Tensor& skip, const torch::Tensor& gate,
                        const torch::Tensor& logit);
  int64_t out_channels() const { return out_channels_; }

 private:
  SkipAttentionKind kind_;
  int64_t out_channels_;
  SqueezeExcite se_{nullptr};
  AttentionGate gate_{nullptr};
  Bam bam_{nullptr};
  Cbam cbam_{nullptr};
  RbCbam rb_{nullptr};
};
TORCH_MODULE(SkipAttention);

class AttentionUnet2dImpl : public SegmentationModelImpl {
 public:
  explicit AttentionUnet2dImpl(const AttentionUnet2dOptions& options);
  // (B, C, H, W) -> the final logits (B, K, H, W); deep-supervision logits go to aux_logits().
  torch::Tensor forward(torch::Tensor x) override;
  InputForm input_form() const override { return InputForm::kSlice2d; }
  // The deep-supervision logits P of the last forward, deepest first: the bottleneck's (H/16),
  // then decoder levels 3, 2, 1 (H/8, H/4, H/2), each (B, 1, ceil-mode size) and still attached
  // to the autograd graph; empty without deep supervision. A loss compares each with the
  // foreground mask (label > 0), e.g. after upsample_to(P, H, W). Replaced by the next forward.
  const std::vector<torch::Tensor>& aux_logits() const { return aux_; }
  std::vector<torch::Tensor> deep_supervision_logits() const override { return aux_; }

 private:
  std::vector<torch::nn::Sequential> down_;     // levels 0-3, then the bottleneck (index 4)
  std::vector<Aspp> aspp_;                      // per skip level; empty without ASPP
  std::vector<SkipAttention> attention_;        // per skip level
  std::vector<torch::nn::ConvTranspose2d> up_;  // up_[l]: level l + 1 -> level l
  std::vector<torch::nn::Sequential> up_conv_;  // up_conv_[l]: level l's decoder stage
  std::vector<torch::nn::Conv2d> aux_heads_;    // aux_heads_[l - 1]: P of level l = 1..4
  torch::nn::Conv2d logits_{nullptr};
  std::vector<torch::Tensor> aux_;
};

ModelKind attention_unet2d_kind();

}  // namespace orch
