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

// What the store keeps for one case: with `background`, class 0's confusion counts first (its
// surface metrics NaN: reports' background rows need only the counts); then for each class
// 1..num_classes-1, the confusion counts and
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
