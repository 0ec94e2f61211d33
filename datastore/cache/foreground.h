// The per-class foreground index that patch samplers draw from. One builder, one rule, for the
// cache (compute_foreground in h5cache.h, which stores it as /cases/<id>/fg_<c>) and for the
// worker's preprocessing (index_foreground), so that a cached and a freshly prepared case always
// carry the same index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace orch {

// Indexes `n` label values (a (Z, Y, X) label in memory order): returns num_classes lists,
// fg[c] the ascending linear indices of the voxels whose value is c for c >= 1, and fg[0] empty.
// A label value >= num_classes is an error: throws orch::Error naming case `case_id`, the value
// and its voxel. Throws orch::Error as well when num_classes < 1.
std::vector<std::vector<std::int64_t>> foreground_index(const std::uint8_t* label, std::size_t n,
                                                        int num_classes,
                                                        const std::string& case_id);

}  // namespace orch
