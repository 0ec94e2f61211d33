#include "datastore/cache/foreground.h"

#include "common/status.h"

namespace orch {

std::vector<std::vector<std::int64_t>> foreground_index(const std::uint8_t* label, std::size_t n,
                                                        int num_classes,
                                                        const std::string& case_id) {
  if (num_classes < 1)
    throw Error("case '" + case_id + "': num_classes must be >= 1 to index the foreground, got " +
                std::to_string(num_classes));
  // Two passes: count (and check) first, so that each list is allocated once.
  std::vector<std::int64_t> counts(static_cast<std::size_t>(num_classes), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (label[i] >= num_classes)
      throw Error("case '" + case_id + "': label value " + std::to_string(label[i]) + " at voxel " +
                  std::to_string(i) + " is not below num_classes " + std::to_string(num_classes));
    ++counts[label[i]];
  }
  std::vector<std::vector<std::int64_t>> fg(static_cast<std::size_t>(num_classes));
  for (int c = 1; c < num_classes; ++c) fg[c].reserve(static_cast<std::size_t>(counts[c]));
  for (std::size_t i = 0; i < n; ++i)
    if (label[i] > 0) fg[label[i]].push_back(static_cast<std::int64_t>(i));
  return fg;
}

}  // namespace orch
