// Whole-case inference in the model's input form, returning class probabilities:
//   slice2d:  every axial slice, `sw_batch` slices per forward pass;
//   sequence: windows of T consecutive slices sliding along Z with a stride of
//             max(1, T - round(T * overlap)), the last window flush with the end; each slice's
//             probabilities are the mean over the windows that cover it (2.5D);
//   patch3d:  a grid of `patch` (i, j, k) windows overlapping by `overlap` of the patch (rounded
//             down to even voxels), `sw_batch` per pass, blended with nnU-Net's Gaussian weights
//             (or a plain average), volumes smaller than a patch padded at their edges.
// With `mirror`, each pass is repeated on inputs flipped along every combination of the spatial
// axes (Y and X for slices and sequences, Z, Y and X for patches), flipped back and averaged.
// The model runs in eval mode without gradients.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "models/model.h"
#include "worker/data/preprocess.h"
#include "worker/data/samplers.h"

namespace orch {

// The names InferenceConfig::blend accepts: "gaussian" (PredictOptions::gaussian) or "average"
// (the YAML parser checks against these).
inline const std::vector<std::string>& blend_names() {
  static const std::vector<std::string> names = {"gaussian", "average"};
  return names;
}

struct PredictOptions {
  double overlap = 0.5;      // fraction of a window shared with its neighbour, in [0, 1)
  int sw_batch = 4;          // windows (or slices x 4) per forward pass
  bool gaussian = true;      // patch3d blending: Gaussian (true) or average
  bool mirror = false;       // test-time mirroring
  Index3 patch{96, 96, 96};  // patch3d window (i, j, k)
  bool bf16 = false;         // autocast to bfloat16 (CUDA only; worker/train/device.h)
  // The validation loss of a case's probabilities (K, Z, Y, X) against its label (Z, Y, X);
  // unset = probability_loss (training.val_loss dice_ce).
  std::function<double(const torch::Tensor& probabilities, const torch::Tensor& label)> loss;
};

// Probabilities (K, Z, Y, X) float32 on the CPU for the case's image (C, Z, Y, X) on the CPU.
// Windows are moved to the model's device, and their probabilities back.
torch::Tensor predict_probabilities(SegmentationModelImpl& model, const PreparedCase& c,
                                    const PredictOptions& options);

// Mean cross-entropy plus soft Dice (MONAI smoothing 1e-5) of probabilities (K, Z, Y, X)
// against a label (Z, Y, X): the validation loss of aggregated predictions.
double probability_loss(const torch::Tensor& probabilities, const torch::Tensor& label);

}  // namespace orch
