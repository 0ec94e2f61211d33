// Segmentation metrics derived from confusion counts, the way nnU-Net derives them: counts are
// what the store keeps per case and class, and every metric is a pure function of them.
//
// Empty-mask policy (docs/MODELS.md section 12): a metric whose denominator is zero is
// undefined and returned as NaN, and aggregates skip NaN values.
//   DSC       = 2TP / (2TP + FP + FN)   NaN when reference and prediction are both empty
//   IoU       = TP / (TP + FP + FN)     NaN when reference and prediction are both empty
//   precision = TP / (TP + FP)          NaN when the prediction is empty
//   recall    = TP / (TP + FN)          NaN when the reference is empty
// So an empty reference with a non-empty prediction scores DSC 0 (a false alarm is penalised),
// and a class absent from both does not pull a case's mean towards 0 or 1.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace orch {

struct ConfusionCounts {
  std::int64_t tp = 0, fp = 0, fn = 0, tn = 0;
};

inline double nan_value() { return std::numeric_limits<double>::quiet_NaN(); }

inline double ratio_or_nan(double num, double den) { return den > 0 ? num / den : nan_value(); }

inline double dice(const ConfusionCounts& c) {
  return ratio_or_nan(2.0 * c.tp, 2.0 * c.tp + c.fp + c.fn);
}
inline double iou(const ConfusionCounts& c) {
  return ratio_or_nan(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fp + c.fn));
}
inline double precision(const ConfusionCounts& c) {
  return ratio_or_nan(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fp));
}
inline double recall(const ConfusionCounts& c) {
  return ratio_or_nan(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fn));
}

}  // namespace orch
