#include "worker/data/slice_sampler.h"

#include "common/status.h"

namespace orch {

SliceSampler::SliceSampler(const std::vector<PreparedCase>& cases, double foreground_fraction)
    : cases_(cases), fg_fraction_(foreground_fraction) {
  if (cases.empty()) throw Error("no training cases to sample slices from");
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    if (c.image.size(2) != cases[0].image.size(2) || c.image.size(3) != cases[0].image.size(3))
      throw Error("case '" + c.id + "' has in-plane size " + std::to_string(c.image.size(3)) + "x" +
                  std::to_string(c.image.size(2)) + " but '" + cases[0].id + "' has " +
                  std::to_string(cases[0].image.size(3)) + "x" +
                  std::to_string(cases[0].image.size(2)) + "; set preprocess.resize");
    if (!c.fg_slices.empty()) with_fg_.push_back(i);
  }
}

SliceBatch SliceSampler::sample(int batch, Rng& rng) const {
  std::vector<torch::Tensor> images, labels;
  for (int b = 0; b < batch; ++b) {
    size_t ci = 0;
    int64_t k = 0;
    if (!with_fg_.empty() && rng.uniform() < fg_fraction_) {
      ci = with_fg_[rng.below(with_fg_.size())];
      const auto& fg = cases_[ci].fg_slices;
      k = fg[rng.below(fg.size())];
    } else {
      ci = rng.below(cases_.size());
      k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(cases_[ci].image.size(1))));
    }
    images.push_back(cases_[ci].image.select(1, k));
    labels.push_back(cases_[ci].label[k]);
  }
  return {torch::stack(images), torch::stack(labels).to(torch::kLong)};
}

}  // namespace orch
