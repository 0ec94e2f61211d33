#include "worker/data/batch_sampler.h"

#include <algorithm>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

BatchSampler::BatchSampler(const std::vector<PreparedCase>& cases, BatchSamplingOptions options)
    : cases_(cases), options_(std::move(options)) {
  if (cases.empty()) throw Error("no training cases to sample from");
  switch (options_.form) {
    case InputForm::kSlice2d:
      slices_ = std::make_unique<SliceSampler>(cases, options_.foreground_fraction);
      return;
    case InputForm::kSequence:
      patches_ = std::make_unique<SliceSequenceSampler>(
          std::max<int64_t>(1, options_.sequence_length), options_.foreground_fraction);
      break;
    case InputForm::kPatch3d:
      if (options_.sampler == "uniform")
        patches_ = std::make_unique<UniformSampler>(options_.patch);
      else if (options_.sampler == "label")
        patches_ = std::make_unique<LabelSampler>(options_.patch);
      else if (options_.sampler == "foreground")
        patches_ =
            std::make_unique<ForegroundOversampler>(options_.patch, options_.foreground_fraction);
      else
        throw Error("unknown patch sampler '" + options_.sampler +
                    "'; known: " + join(patch_sampler_names()));
      break;
  }
  for (const auto& c : cases) views_.push_back({c.id, c.image, c.label, c.fg});
}

TrainBatch BatchSampler::sample(int batch, Rng& rng, const Pipeline* augment) const {
  return slices_ ? sample_slices(batch, rng, augment) : sample_volumes(batch, rng, augment);
}

TrainBatch BatchSampler::sample_slices(int batch, Rng& rng, const Pipeline* augment) const {
  SliceBatch b = slices_->sample(batch, rng);
  if (augment) {
    const std::uint64_t seed = rng.next();
    for (int64_t n = 0; n < b.image.size(0); ++n) {
      // A slice is TorchIO's 2-D case: (C, 1, Y, X), rotation about k only.
      Subject s{b.image[n].unsqueeze(1), b.label[n].unsqueeze(0).to(torch::kUInt8),
                cases_.front().spacing};
      s = (*augment)(std::move(s), Rng::derive(seed, static_cast<std::uint64_t>(n)));
      b.image[n].copy_(s.image.squeeze(1));
      b.label[n].copy_(s.label.reshape(b.label[n].sizes()).to(torch::kLong));
    }
  }
  return {b.image, b.label};
}

TrainBatch BatchSampler::sample_volumes(int batch, Rng& rng, const Pipeline* augment) const {
  std::vector<torch::Tensor> images, labels;
  const int per_case = std::max(1, options_.samples_per_volume);
  while (static_cast<int>(images.size()) < batch) {
    const std::size_t ci = rng.below(views_.size());
    const VolumeView& v = views_[ci];
    const int n = std::min(per_case, batch - static_cast<int>(images.size()));
    for (const PatchLocation& where : patches_->draw_many(v, n, rng)) {
      Patch p = crop(v, where);  // (C, k, j, i) and (k, j, i)
      if (augment) {
        Subject s{p.image, p.label, cases_[ci].spacing};
        s = (*augment)(std::move(s), rng.next());
        p.image = s.image;
        p.label = s.label.reshape(p.label.sizes());
      }
      if (options_.form == InputForm::kSequence) p.image = p.image.permute({1, 0, 2, 3});
      images.push_back(p.image.contiguous());
      labels.push_back(p.label.to(torch::kLong));
    }
  }
  return {torch::stack(images), torch::stack(labels)};
}

}  // namespace orch
