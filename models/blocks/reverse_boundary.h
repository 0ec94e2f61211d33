// Reverse and boundary attention, and their combination with CBAM (RB-CBAM) from Hwang, Ji, Yoon
// and Lee, J. IEMEK 17(5):265, 2022 (docs/MODELS.md section 9). No public code exists; this follows
// the paper's equations (5)-(9) as far as they survive, with PraNet (reverse) and UACANet
// (boundary) for the details the paper leaves out.
//   P      the next-deeper decoder level's 1-channel logit (deep supervision), up-sampled to the
//          skip's grid with upsample_to;
//   F_c    = CBAM(skip)                                  (the skip is the ASPP output when on)
//   R      = 1 - sigmoid(P)                              (eq. 5, PraNet)
//   B      = 1 - |2 sigmoid(P) - 1| = 2 (0.5 - |sigmoid(P) - 0.5|)   (eq. 7, UACANet's 2 cg)
//   F_r    = F_c * R,  F_b = F_c * B                     (eqs. 6, 8; broadcast over channels)
//   out    = concat[F_r, F_b] along channels             (eq. 9; no 1x1 conv after it)
// With only one of reverse/boundary on, out is that one product (C channels); with neither, out
// is F_c, i.e. plain CBAM (the ablation's first row).
#pragma once

#include <torch/torch.h>

#include "models/blocks/attention.h"

namespace orch {

// 1 - sigmoid(logit): ~1 on the predicted background, 0.5 on the boundary, ~0 inside.
torch::Tensor reverse_map(const torch::Tensor& logit);

// 1 - |2 sigmoid(logit) - 1|: 1 where the logit is 0 (the predicted boundary), -> 0 far from it.
torch::Tensor boundary_map(const torch::Tensor& logit);

struct RbCbamImpl : torch::nn::Module {
  RbCbamImpl(int64_t channels, int64_t reduction, bool reverse, bool boundary);
  // skip (B, C, H, W), coarse logit (B, 1, h, w) on the ceil-mode half grid or any grid (it is
  // up-sampled to H, W). The logit may be undefined only when reverse and boundary are both off.
  torch::Tensor forward(const torch::Tensor& skip, const torch::Tensor& coarse_logit);
  // C * (reverse + boundary), or C for CBAM alone.
  int64_t out_channels() const { return out_channels_; }
  // True when forward needs the coarse logit.
  bool needs_logit() const { return reverse_ || boundary_; }
  Cbam cbam{nullptr};

 private:
  bool reverse_, boundary_;
  int64_t out_channels_;
};
TORCH_MODULE(RbCbam);

}  // namespace orch
