// Confusion counts of a predicted label map against a reference, per class. The metrics
// themselves (and the empty-mask policy) are in common/confusion.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/confusion.h"

namespace orch {

// Counts for every class 0..num_classes-1 over n voxels; labels >= num_classes are ignored.
std::vector<ConfusionCounts> confusion_counts(const std::uint8_t* prediction,
                                              const std::uint8_t* reference, std::size_t n,
                                              int num_classes);

// Mean over foreground classes (1..) of a metric, skipping undefined (NaN) ones.
double mean_foreground(const std::vector<ConfusionCounts>& per_class,
                       double (*metric)(const ConfusionCounts&));

}  // namespace orch
