#include "worker/infer/predictor.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "worker/data/grid.h"
#include "worker/train/device.h"

namespace orch {

namespace {

// Softmax over the class dimension `class_dim` of the model's logits, averaged over mirrored
// copies of `x` along `axes` when mirroring is on.
torch::Tensor forward_probs(SegmentationModelImpl& model, const torch::Tensor& cpu_x,
                            int64_t class_dim, const std::vector<int64_t>& axes,
                            const PredictOptions& o) {
  const torch::Device device = module_device(model);
  const torch::Tensor x = cpu_x.to(device);
  const AutocastScope autocast(device, o.bf16);
  const auto probs = [&](const torch::Tensor& in) {
    return torch::softmax(model.forward(in).to(torch::kFloat32), class_dim);
  };
  torch::Tensor sum = probs(x);
  if (o.mirror) {
    int count = 1;
    for (unsigned mask = 1; mask < (1u << axes.size()); ++mask) {
      std::vector<int64_t> dims;
      for (std::size_t a = 0; a < axes.size(); ++a)
        if (mask & (1u << a)) dims.push_back(axes[a]);
      sum += probs(x.flip(dims)).flip(dims);
      ++count;
    }
    sum /= count;
  }
  return sum.to(torch::kCPU);
}

torch::Tensor predict_slices(SegmentationModelImpl& model, const PreparedCase& c,
                             const PredictOptions& o) {
  const int64_t slices = c.image.size(1), step = std::max(1, 4 * o.sw_batch);
  std::vector<torch::Tensor> out;
  for (int64_t k = 0; k < slices; k += step) {
    const int64_t end = std::min(k + step, slices);
    const auto x = c.image.slice(1, k, end).permute({1, 0, 2, 3}).contiguous();  // (B, C, H, W)
    out.push_back(forward_probs(model, x, 1, {2, 3}, o));
  }
  return torch::cat(out).permute({1, 0, 2, 3}).contiguous();  // (K, Z, H, W)
}

torch::Tensor predict_sequences(SegmentationModelImpl& model, const PreparedCase& c,
                                const PredictOptions& o) {
  const int64_t slices = c.image.size(1);
  const int64_t t = std::min<int64_t>(std::max<int64_t>(1, model.sequence_length()), slices);
  const int64_t stride = std::max<int64_t>(1, t - std::llround(t * o.overlap));
  std::vector<int64_t> starts;
  for (int64_t k = 0; k + t <= slices; k += stride) starts.push_back(k);
  if (starts.back() + t < slices) starts.push_back(slices - t);
  torch::Tensor sum, count = torch::zeros({slices}, torch::kFloat32);
  for (std::size_t s = 0; s < starts.size(); s += static_cast<std::size_t>(o.sw_batch)) {
    std::vector<torch::Tensor> windows;
    const std::size_t end = std::min(starts.size(), s + static_cast<std::size_t>(o.sw_batch));
    for (std::size_t w = s; w < end; ++w)  // (C, T, H, W) -> (T, C, H, W)
      windows.push_back(c.image.slice(1, starts[w], starts[w] + t).permute({1, 0, 2, 3}));
    const auto probs = forward_probs(model, torch::stack(windows), 2, {3, 4}, o);
    if (!sum.defined())
      sum = torch::zeros({slices, probs.size(2), probs.size(3), probs.size(4)}, torch::kFloat32);
    for (std::size_t w = s; w < end; ++w) {
      sum.slice(0, starts[w], starts[w] + t) += probs[static_cast<int64_t>(w - s)];
      count.slice(0, starts[w], starts[w] + t) += 1;
    }
  }
  return (sum / count.view({-1, 1, 1, 1})).permute({1, 0, 2, 3}).contiguous();  // (K, Z, H, W)
}

torch::Tensor predict_patches(SegmentationModelImpl& model, const PreparedCase& c,
                              const PredictOptions& o) {
  GridOptions g;
  g.patch = o.patch;
  for (int a = 0; a < 3; ++a) {
    const int64_t p = std::max<int64_t>(1, o.patch[a]);
    int64_t ov = static_cast<int64_t>(std::floor(p * o.overlap));
    ov -= ov % 2;
    g.overlap[a] = std::min(ov, p % 2 == 0 ? p - 2 : p - 1);
    if (g.overlap[a] < 0) g.overlap[a] = 0;
  }
  g.padding = GridPadding::kEdge;
  const GridSampler grid({c.image.size(3), c.image.size(2), c.image.size(1)}, g);
  const torch::Tensor padded = grid.pad(c.image);
  GridAggregator agg(grid, o.gaussian ? OverlapMode::kGaussian : OverlapMode::kAverage);
  const auto& locs = grid.locations();
  for (std::size_t s = 0; s < locs.size(); s += static_cast<std::size_t>(o.sw_batch)) {
    const std::size_t end = std::min(locs.size(), s + static_cast<std::size_t>(o.sw_batch));
    std::vector<torch::Tensor> patches;
    std::vector<PatchLocation> where(locs.begin() + static_cast<std::ptrdiff_t>(s),
                                     locs.begin() + static_cast<std::ptrdiff_t>(end));
    for (const auto& loc : where) patches.push_back(GridSampler::crop(padded, loc));
    agg.add_batch(forward_probs(model, torch::stack(patches), 1, {2, 3, 4}, o), where);
  }
  return agg.output();
}

}  // namespace

torch::Tensor predict_probabilities(SegmentationModelImpl& model, const PreparedCase& c,
                                    const PredictOptions& o) {
  torch::NoGradGuard no_grad;
  model.eval();
  switch (model.input_form()) {
    case InputForm::kSequence:
      return predict_sequences(model, c, o);
    case InputForm::kPatch3d:
      return predict_patches(model, c, o);
    case InputForm::kSlice2d:
      break;
  }
  return predict_slices(model, c, o);
}

double probability_loss(const torch::Tensor& probabilities, const torch::Tensor& label) {
  const int64_t k = probabilities.size(0);
  const auto p = probabilities.reshape({k, -1});
  const auto y = label.reshape({-1}).to(torch::kLong);
  const double ce = -p.clamp_min(1e-8).log().gather(0, y.unsqueeze(0)).mean().item<double>();
  const auto onehot = torch::one_hot(y, k).t().to(torch::kFloat32);  // (K, N)
  const auto tp = (p * onehot).sum(1), total = p.sum(1) + onehot.sum(1);
  const double dice = (1 - (2 * tp + 1e-5) / (total + 1e-5)).mean().item<double>();
  return ce + dice;
}

}  // namespace orch
