#include "worker/data/grid.h"

#include <algorithm>
#include <cmath>

#include "common/status.h"

namespace orch {
namespace {

namespace F = torch::nn::functional;

std::string triple(const Index3& s) {
  return "(" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) +
         ")";
}

// 1-D weights of length p; their outer product is the patch's weight map.
std::vector<double> axis_weights(int64_t p, OverlapMode mode) {
  constexpr double kPi = 3.14159265358979323846;
  std::vector<double> w(static_cast<size_t>(p));
  if (mode == OverlapMode::kHann) {
    // hann_window(p + 2, periodic=False)[1:-1]: 0.5 - 0.5 cos(2 pi m / (p + 1)), m = 1..p.
    for (int64_t n = 0; n < p; ++n) w[n] = 0.5 - 0.5 * std::cos(2 * kPi * (n + 1) / (p + 1));
    return w;
  }
  // scipy.ndimage.gaussian_filter of a unit impulse at p // 2: the sampled Gaussian, truncated
  // at radius int(4 sigma + 0.5) (scipy's default), as nnU-Net's compute_gaussian does.
  const double sigma = static_cast<double>(p) / 8.0;
  const int64_t centre = p / 2;
  const auto radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  for (int64_t n = 0; n < p; ++n) {
    const double d = static_cast<double>(n - centre);
    w[n] = std::abs(n - centre) <= radius ? std::exp(-0.5 * d * d / (sigma * sigma)) : 0.0;
  }
  return w;
}

torch::Tensor to_tensor(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }

}  // namespace

std::vector<int64_t> grid_starts(int64_t length, int64_t patch, int64_t overlap) {
  if (patch < 1 || overlap < 0 || overlap >= patch || overlap % 2 != 0)
    throw Error("grid: overlap " + std::to_string(overlap) + " must be even, >= 0 and below " +
                "the patch size " + std::to_string(patch));
  if (length < patch)
    throw Error("grid: axis of length " + std::to_string(length) + " is shorter than the patch " +
                std::to_string(patch) + "; enable padding");
  std::vector<int64_t> starts;
  for (int64_t s = 0; s < length - patch + 1; s += patch - overlap) starts.push_back(s);
  if (starts.back() != length - patch) starts.push_back(length - patch);
  return starts;
}

GridSampler::GridSampler(Index3 volume_shape, GridOptions options)
    : options_(options), shape_(volume_shape) {
  for (int a = 0; a < 3; ++a) {
    const int64_t p = options_.patch[a], o = options_.overlap[a];
    if (p < 1 || o < 0 || o >= p || o % 2 != 0)
      throw Error("grid: patch " + triple(options_.patch) + " and overlap " +
                  triple(options_.overlap) + ": overlap must be even, >= 0 and below the patch");
    if (shape_[a] < 1) throw Error("grid: empty volume shape " + triple(shape_));
    before_[a] = after_[a] = padded() ? o / 2 : 0;
    const int64_t missing = p - (shape_[a] + before_[a] + after_[a]);
    if (padded() && missing > 0) {
      before_[a] += missing / 2;
      after_[a] += missing - missing / 2;
    }
    padded_[a] = shape_[a] + before_[a] + after_[a];
    if (padded_[a] < p)
      throw Error("grid: volume " + triple(shape_) + " is smaller than the patch " +
                  triple(options_.patch) + "; set a padding mode");
  }
  const auto si = grid_starts(padded_[0], options_.patch[0], options_.overlap[0]);
  const auto sj = grid_starts(padded_[1], options_.patch[1], options_.overlap[1]);
  const auto sk = grid_starts(padded_[2], options_.patch[2], options_.overlap[2]);
  for (int64_t i : si)
    for (int64_t j : sj)
      for (int64_t k : sk) locations_.push_back({{i, j, k}, options_.patch});
  const auto key = [](const PatchLocation& l) { return l.start; };
  std::sort(locations_.begin(), locations_.end(),
            [&](const PatchLocation& a, const PatchLocation& b) { return key(a) < key(b); });
  locations_.erase(
      std::unique(locations_.begin(), locations_.end(),
                  [&](const PatchLocation& a, const PatchLocation& b) { return key(a) == key(b); }),
      locations_.end());
}

torch::Tensor GridSampler::pad(const torch::Tensor& image) const {
  if (!padded()) return image;
  const std::vector<int64_t> amounts{before_[0], after_[0],  before_[1],
                                     after_[1],  before_[2], after_[2]};
  if (options_.padding == GridPadding::kConstant)
    return F::pad(image,
                  F::PadFuncOptions(amounts).mode(torch::kConstant).value(options_.pad_value));
  // Replicate padding wants a batched floating-point tensor.
  const bool unbatched = image.dim() == 4;
  auto x = image.dim() == 3 ? image.unsqueeze(0).unsqueeze(0) : image.unsqueeze(0);
  const auto dtype = x.scalar_type();
  if (!x.is_floating_point()) x = x.to(torch::kFloat32);
  x = F::pad(x, F::PadFuncOptions(amounts).mode(torch::kReplicate)).to(dtype);
  return unbatched ? x.squeeze(0) : x.squeeze(0).squeeze(0);
}

torch::Tensor GridSampler::crop(const torch::Tensor& padded, const PatchLocation& where) {
  const int64_t d = padded.dim();
  return padded.narrow(d - 1, where.start[0], where.size[0])
      .narrow(d - 2, where.start[1], where.size[1])
      .narrow(d - 3, where.start[2], where.size[2]);
}

torch::Tensor patch_weights(const Index3& patch, OverlapMode mode) {
  if (mode != OverlapMode::kHann && mode != OverlapMode::kGaussian)
    throw Error("grid: patch weights exist only for the hann and gaussian modes");
  const auto wi = to_tensor(axis_weights(patch[0], mode));
  const auto wj = to_tensor(axis_weights(patch[1], mode));
  const auto wk = to_tensor(axis_weights(patch[2], mode));
  auto w = wk.view({-1, 1, 1}) * wj.view({1, -1, 1}) * wi.view({1, 1, -1});
  if (mode == OverlapMode::kGaussian) {
    w = w / w.max();
    // nnU-Net: zeros (beyond the truncation) become the smallest non-zero weight.
    const auto smallest = w.masked_select(w.gt(0)).min();
    w = torch::where(w.gt(0), w, smallest);
  }
  return w.to(torch::kFloat32);
}

GridAggregator::GridAggregator(const GridSampler& sampler, OverlapMode mode)
    : sampler_(sampler), mode_(mode) {
  if (mode == OverlapMode::kHann || mode == OverlapMode::kGaussian)
    kernel_ = patch_weights(sampler.options().patch, mode).unsqueeze(0);
}

void GridAggregator::add(const torch::Tensor& patch, const PatchLocation& where) {
  const Index3 p = sampler_.options().patch;
  if (patch.dim() != 4 || patch.size(1) != p[2] || patch.size(2) != p[1] || patch.size(3) != p[0])
    throw Error("grid aggregator: patch " + c10::str(patch.sizes()) + " is not (C, " +
                std::to_string(p[2]) + ", " + std::to_string(p[1]) + ", " + std::to_string(p[0]) +
                ")");
  const auto x = patch.to(torch::kFloat32);
  const Index3 full = sampler_.padded_shape();
  if (!sum_.defined()) {
    const auto opts = x.options();
    sum_ = torch::zeros({x.size(0), full[2], full[1], full[0]}, opts);
    if (mode_ != OverlapMode::kCrop) weight_ = torch::zeros({1, full[2], full[1], full[0]}, opts);
    if (kernel_.defined()) kernel_ = kernel_.to(opts.device());
  }
  if (x.size(0) != sum_.size(0))
    throw Error("grid aggregator: patch has " + std::to_string(x.size(0)) + " channels, earlier " +
                "patches had " + std::to_string(sum_.size(0)));
  if (mode_ == OverlapMode::kCrop) {
    // Keep [lo, p - hi) of the patch: overlap/2 off each side not on the border of the volume
    // (every side when padded, since the padding is what lies beyond the border).
    const Index3 o = sampler_.options().overlap;
    PatchLocation kept = where, inner{{}, {}};
    for (int a = 0; a < 3; ++a) {
      const int64_t lo = (sampler_.padded() || where.start[a] > 0) ? o[a] / 2 : 0;
      const int64_t hi = (sampler_.padded() || where.start[a] + p[a] != full[a]) ? o[a] / 2 : 0;
      kept.start[a] = where.start[a] + lo;
      kept.size[a] = inner.size[a] = p[a] - lo - hi;
      inner.start[a] = lo;
    }
    GridSampler::crop(sum_, kept).copy_(GridSampler::crop(x, inner));
    return;
  }
  if (mode_ == OverlapMode::kAverage) {
    GridSampler::crop(sum_, where).add_(x);
    GridSampler::crop(weight_, where).add_(1.0);
    return;
  }
  GridSampler::crop(sum_, where).add_(x * kernel_);
  GridSampler::crop(weight_, where).add_(kernel_);
}

void GridAggregator::add_batch(const torch::Tensor& patches,
                               const std::vector<PatchLocation>& where) {
  if (patches.size(0) != static_cast<int64_t>(where.size()))
    throw Error("grid aggregator: " + std::to_string(patches.size(0)) + " patches but " +
                std::to_string(where.size()) + " locations");
  for (size_t b = 0; b < where.size(); ++b) add(patches[static_cast<int64_t>(b)], where[b]);
}

torch::Tensor GridAggregator::output() const {
  if (!sum_.defined()) throw Error("grid aggregator: output() before any patch was added");
  auto out = mode_ == OverlapMode::kCrop ? sum_ : sum_ / weight_.clamp_min(1e-12);
  const Index3 b = sampler_.pad_before(), s = sampler_.volume_shape();
  return GridSampler::crop(out, {b, s}).contiguous();
}

}  // namespace orch
