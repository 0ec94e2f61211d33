// Scoring a predicted label map against a reference: confusion counts per class, and the
// surface metrics. The metrics themselves (and the empty-mask policy) are in common/metrics/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/metrics/confusion.h"
#include "common/metrics/metric.h"

namespace orch {

// Counts for every class 0..num_classes-1 over n voxels; labels >= num_classes are ignored.
std::vector<ConfusionCounts> confusion_counts(const std::uint8_t* prediction,
                                              const std::uint8_t* reference, std::size_t n,
                                              int num_classes);

// Per-slice Dice of every class 0..num_classes-1: for each axial slice (fixed k, the third axis of
// dims_ijk = (ni, nj, nk), label maps in NIfTI memory order) the slice's 2TP / (2TP + FP + FN),
// over the voxels whose labels are both < num_classes. `all` is the mean over the nk slices with
// an empty-empty slice (2TP + FP + FN == 0) scoring 0, the Spider U-Net author's rule; `nonempty`
// the mean over the other slices only (NaN when every slice is empty-empty). Both NaN when nk == 0.
// Throws orch::Error on a negative dimension.
struct SliceDice {
  std::vector<double> all;
  std::vector<double> nonempty;
};
SliceDice slice_dice(const std::uint8_t* prediction, const std::uint8_t* reference,
                     std::array<std::int64_t, 3> dims_ijk, int num_classes);

// What the store keeps for one case: with `background`, class 0's confusion counts and per-slice
// Dice first (its surface metrics NaN: reports' background rows need only the counts); then for
// each class 1..num_classes-1, the confusion counts, the per-slice Dice (slice_dice) and
// the surface metrics (worker/infer/surface_metrics.h: HD95, ASSD, surface Dice at
// nsd_tolerance_mm, with its empty-mask policy). Label maps in NIfTI memory order, dims_ijk = (ni,
// nj, nk), spacing in mm along (i, j, k). Labels >= num_classes count as background for the
// surfaces and are ignored by the counts. Throws orch::Error on bad geometry or tolerance.
std::vector<CaseClassCounts> score_prediction(const std::string& case_id, const std::uint8_t* pred,
                                              const std::uint8_t* ref,
                                              std::array<std::int64_t, 3> dims_ijk,
                                              std::array<double, 3> spacing, int num_classes,
                                              double nsd_tolerance_mm = 1.0,
                                              bool background = false);

}  // namespace orch
