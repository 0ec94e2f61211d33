#include "worker/data/samplers.h"

#include <algorithm>
#include <numeric>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/cache/foreground.h"

namespace orch {
namespace {

std::string shape_text(const Index3& s) { return "(" + join(s) + ")"; }

void check_size(const Index3& size, const char* who) {
  for (int64_t p : size)
    if (p < 1) throw Error(std::string(who) + ": patch size " + shape_text(size) + " must be >= 1");
}

// Start of a patch of length p on an axis of length L that is shorter than it (centred pad).
int64_t overhang_start(int64_t L, int64_t p) { return -((p - L) / 2); }

int64_t uniform_start(int64_t L, int64_t p, Rng& rng) {
  if (L < p) return overhang_start(L, p);
  return static_cast<int64_t>(rng.below(static_cast<uint64_t>(L - p + 1)));
}

// Start that puts voxel x at the patch centre, shifted as little as needed to fit.
int64_t centred_start(int64_t x, int64_t L, int64_t p) {
  if (L < p) return overhang_start(L, p);
  return std::clamp(x - p / 2, int64_t{0}, L - p);
}

Index3 decode(int64_t linear, const Index3& shape) {
  return {linear % shape[0], (linear / shape[0]) % shape[1], linear / (shape[0] * shape[1])};
}

// Chooses index c with probability weights[c] / sum; at least one weight must be positive.
size_t choose(const std::vector<double>& weights, Rng& rng) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double u = rng.uniform() * total;
  size_t last = 0;
  for (size_t c = 0; c < weights.size(); ++c) {
    if (weights[c] <= 0) continue;
    last = c;
    if (u < weights[c]) return c;
    u -= weights[c];
  }
  return last;  // rounding left u >= the final weight
}

// Uses v.fg when given, else indexes the label (slow path, documented in the header).
std::vector<std::vector<int64_t>> foreground_of(const VolumeView& v) {
  return v.fg.empty() ? label_foreground(v.label, v.id) : v.fg;
}

}  // namespace

Index3 volume_shape(const VolumeView& v) {
  if (v.image.dim() != 4 || v.label.dim() != 3 || v.image.size(1) != v.label.size(0) ||
      v.image.size(2) != v.label.size(1) || v.image.size(3) != v.label.size(2))
    throw Error("case '" + v.id + "': image " + c10::str(v.image.sizes()) + " and label " +
                c10::str(v.label.sizes()) + " must be (C, Z, Y, X) and (Z, Y, X) of one shape");
  return {v.label.size(2), v.label.size(1), v.label.size(0)};
}

std::vector<std::vector<int64_t>> label_foreground(const torch::Tensor& label,
                                                   const std::string& case_id) {
  const auto flat = label.contiguous().to(torch::kUInt8).flatten();
  const auto* data = flat.data_ptr<uint8_t>();
  const auto n = static_cast<std::size_t>(flat.numel());
  const int classes = n ? *std::max_element(data, data + n) + 1 : 1;
  return foreground_index(data, n, classes, case_id);
}

std::vector<int64_t> foreground_slices(const VolumeView& v) {
  const Index3 shape = volume_shape(v);
  if (v.fg.empty()) {
    const auto any = v.label.reshape({shape[2], -1}).gt(0).any(1);
    const auto ks = torch::nonzero(any).flatten().contiguous();
    return std::vector<int64_t>(ks.data_ptr<int64_t>(), ks.data_ptr<int64_t>() + ks.numel());
  }
  // Indices ascend, so each class's slices are found by jumping to the next slice's first index.
  const int64_t plane = shape[0] * shape[1];
  std::vector<int64_t> slices;
  for (size_t c = 1; c < v.fg.size(); ++c) {
    const auto& idx = v.fg[c];
    for (auto it = idx.begin(); it != idx.end();) {
      const int64_t k = *it / plane;
      slices.push_back(k);
      it = std::lower_bound(it, idx.end(), (k + 1) * plane);
    }
  }
  std::sort(slices.begin(), slices.end());
  slices.erase(std::unique(slices.begin(), slices.end()), slices.end());
  return slices;
}

Patch crop(const VolumeView& v, const PatchLocation& where) {
  const Index3 shape = volume_shape(v);
  const auto& s = where.start;
  const auto& p = where.size;
  // Overlap of the patch with the volume along each axis, in volume and in patch coordinates.
  Index3 lo{}, hi{};
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::max<int64_t>(s[a], 0);
    hi[a] = std::min<int64_t>(s[a] + p[a], shape[a]);
    if (hi[a] <= lo[a])
      throw Error("case '" + v.id + "': patch at " + shape_text(s) + " of size " + shape_text(p) +
                  " misses the volume " + shape_text(shape));
  }
  auto img = v.image.narrow(3, lo[0], hi[0] - lo[0])
                 .narrow(2, lo[1], hi[1] - lo[1])
                 .narrow(1, lo[2], hi[2] - lo[2]);
  auto lab = v.label.narrow(2, lo[0], hi[0] - lo[0])
                 .narrow(1, lo[1], hi[1] - lo[1])
                 .narrow(0, lo[2], hi[2] - lo[2]);
  const bool inside = lo[0] == s[0] && lo[1] == s[1] && lo[2] == s[2] && hi[0] == s[0] + p[0] &&
                      hi[1] == s[1] + p[1] && hi[2] == s[2] + p[2];
  if (inside) return {img.clone(), lab.clone()};
  const int64_t channels = v.image.size(0);
  auto out_img = torch::empty({channels, p[2], p[1], p[0]}, v.image.options());
  out_img.copy_(
      v.image.reshape({channels, -1}).amin(1).reshape({channels, 1, 1, 1}).expand_as(out_img));
  auto out_lab = torch::zeros({p[2], p[1], p[0]}, v.label.options());
  using torch::indexing::Slice;
  const Slice si(lo[0] - s[0], hi[0] - s[0]), sj(lo[1] - s[1], hi[1] - s[1]),
      sk(lo[2] - s[2], hi[2] - s[2]);
  out_img.index_put_({Slice(), sk, sj, si}, img);
  out_lab.index_put_({sk, sj, si}, lab);
  return {out_img, out_lab};
}

std::vector<PatchLocation> PatchSampler::draw_many(const VolumeView& v, int64_t n, Rng& rng) const {
  std::vector<PatchLocation> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) out.push_back(draw(v, rng));
  return out;
}

UniformSampler::UniformSampler(Index3 size) : size_(size) { check_size(size, "UniformSampler"); }

PatchLocation UniformSampler::draw(const VolumeView& v, Rng& rng) const {
  const Index3 shape = volume_shape(v);
  PatchLocation loc{{}, size_};
  for (int a = 0; a < 3; ++a) loc.start[a] = uniform_start(shape[a], size_[a], rng);
  return loc;
}

ForegroundOversampler::ForegroundOversampler(Index3 size, double fraction)
    : size_(size), fraction_(fraction) {
  check_size(size, "ForegroundOversampler");
  if (!(fraction >= 0 && fraction <= 1))
    throw Error("ForegroundOversampler: fraction " + std::to_string(fraction) +
                " must be in [0, 1]");
}

PatchLocation ForegroundOversampler::draw(const VolumeView& v, Rng& rng) const {
  const Index3 shape = volume_shape(v);
  if (rng.uniform() < fraction_) {
    const auto fg = foreground_of(v);
    std::vector<size_t> present;
    for (size_t c = 1; c < fg.size(); ++c)
      if (!fg[c].empty()) present.push_back(c);
    if (!present.empty()) {
      const auto& voxels = fg[present[rng.below(present.size())]];
      const Index3 x = decode(voxels[rng.below(voxels.size())], shape);
      PatchLocation loc{{}, size_};
      for (int a = 0; a < 3; ++a) loc.start[a] = centred_start(x[a], shape[a], size_[a]);
      return loc;
    }
  }
  PatchLocation loc{{}, size_};
  for (int a = 0; a < 3; ++a) loc.start[a] = uniform_start(shape[a], size_[a], rng);
  return loc;
}

SliceSequenceSampler::SliceSequenceSampler(int64_t length, double foreground_fraction)
    : length_(length), fg_fraction_(foreground_fraction) {
  if (length < 1)
    throw Error("SliceSequenceSampler: length " + std::to_string(length) + " must be >= 1");
  if (!(foreground_fraction >= 0 && foreground_fraction <= 1))
    throw Error("SliceSequenceSampler: foreground fraction " + std::to_string(foreground_fraction) +
                " must be in [0, 1]");
}

PatchLocation SliceSequenceSampler::draw(const VolumeView& v, Rng& rng) const {
  const Index3 shape = volume_shape(v);
  const int64_t depth = shape[2];
  PatchLocation loc{{0, 0, 0}, {shape[0], shape[1], length_}};
  if (rng.uniform() < fg_fraction_) {
    const auto slices = foreground_slices(v);
    if (!slices.empty()) {
      std::vector<int64_t> fitting;
      for (int64_t s : slices)
        if (s - length_ / 2 >= 0 && s - length_ / 2 <= depth - length_) fitting.push_back(s);
      const auto& pool = fitting.empty() ? slices : fitting;
      loc.start[2] = centred_start(pool[rng.below(pool.size())], depth, length_);
      return loc;
    }
  }
  loc.start[2] = uniform_start(depth, length_, rng);
  return loc;
}

LabelSampler::LabelSampler(Index3 size, std::vector<double> class_probabilities)
    : size_(size), probabilities_(std::move(class_probabilities)) {
  check_size(size, "LabelSampler");
  for (double q : probabilities_)
    if (!(q >= 0)) throw Error("LabelSampler: class probabilities must be >= 0");
}

bool LabelSampler::use_indices(const VolumeView& v) const {
  return !v.fg.empty() && (probabilities_.empty() || probabilities_[0] == 0);
}

// Border clearing: on each axis the patch fits, c must lie in [p/2, L - 1 - (p-1)/2].
bool LabelSampler::centre_fits(int64_t linear, const Index3& shape) const {
  const Index3 x = decode(linear, shape);
  for (int a = 0; a < 3; ++a) {
    if (shape[a] < size_[a]) continue;  // the patch covers the whole axis (see header)
    if (x[a] < size_[a] / 2 || x[a] > shape[a] - 1 - (size_[a] - 1) / 2) return false;
  }
  return true;
}

PatchLocation LabelSampler::location_of(int64_t linear, const Index3& shape) const {
  const Index3 x = decode(linear, shape);
  PatchLocation loc{{}, size_};
  for (int a = 0; a < 3; ++a)
    loc.start[a] = shape[a] < size_[a] ? overhang_start(shape[a], size_[a]) : x[a] - size_[a] / 2;
  return loc;
}

PatchLocation LabelSampler::draw(const VolumeView& v, Rng& rng) const {
  return draw_many(v, 1, rng).front();
}

std::vector<PatchLocation> LabelSampler::draw_many(const VolumeView& v, int64_t n, Rng& rng) const {
  std::vector<PatchLocation> out;
  if (use_indices(v)) {
    for (int64_t i = 0; i < n; ++i) out.push_back(draw_from_indices(v, rng));
    return out;
  }
  // The TorchIO map, built once for the n draws: per-voxel weights, borders cleared, CDF.
  const Index3 shape = volume_shape(v);
  torch::Tensor map;
  if (probabilities_.empty()) {
    map = v.label.gt(0).to(torch::kFloat64);
  } else {
    map = torch::zeros(v.label.sizes(), torch::kFloat64);
    for (size_t c = 0; c < probabilities_.size() && c < 256; ++c) {
      const auto mask = v.label.eq(static_cast<int64_t>(c));
      const int64_t count = mask.sum().item<int64_t>();
      if (count > 0 && probabilities_[c] > 0) map.masked_fill_(mask, probabilities_[c] / count);
    }
  }
  for (int a = 0; a < 3; ++a) {
    if (shape[a] < size_[a]) continue;
    const int64_t dim = 2 - a, before = size_[a] / 2, after = (size_[a] - 1) / 2;
    map.narrow(dim, 0, before).zero_();
    map.narrow(dim, shape[a] - after, after).zero_();
  }
  const auto cdf = map.flatten().cumsum(0).contiguous();
  const double* c = cdf.data_ptr<double>();
  const int64_t count = cdf.numel();
  const double total = c[count - 1];
  if (!(total > 0))
    throw Error("case '" + v.id + "': label sampler has no voxel to centre a patch of size " +
                shape_text(size_) + " on (no foreground of the requested classes away from " +
                "the borders); pad the volume or use a smaller patch");
  for (int64_t i = 0; i < n; ++i) {
    // First voxel whose cumulative weight exceeds u: never a zero-weight voxel.
    auto it = std::upper_bound(c, c + count, rng.uniform() * total);
    if (it == c + count) it = std::lower_bound(c, c + count, total);
    out.push_back(location_of(it - c, shape));
  }
  return out;
}

PatchLocation LabelSampler::draw_from_indices(const VolumeView& v, Rng& rng) const {
  const Index3 shape = volume_shape(v);
  std::vector<double> weights(v.fg.size(), 0.0);
  for (size_t c = 1; c < v.fg.size(); ++c) {
    if (v.fg[c].empty()) continue;
    weights[c] = probabilities_.empty() ? static_cast<double>(v.fg[c].size())
                                        : (c < probabilities_.size() ? probabilities_[c] : 0.0);
  }
  if (std::all_of(weights.begin(), weights.end(), [](double w) { return w <= 0; }))
    throw Error("case '" + v.id + "': label sampler found no voxel of the requested classes");
  constexpr int kTries = 64;
  for (int t = 0; t < kTries; ++t) {
    const auto& voxels = v.fg[choose(weights, rng)];
    const int64_t l = voxels[rng.below(voxels.size())];
    if (centre_fits(l, shape)) return location_of(l, shape);
  }
  return draw_exact_from_indices(v, rng);
}

// Class c's share of the cleared map is proportional to q_c * (valid_c / n_c).
PatchLocation LabelSampler::draw_exact_from_indices(const VolumeView& v, Rng& rng) const {
  const Index3 shape = volume_shape(v);
  std::vector<std::vector<int64_t>> valid(v.fg.size());
  std::vector<double> weights(v.fg.size(), 0.0);
  for (size_t c = 1; c < v.fg.size(); ++c) {
    for (int64_t l : v.fg[c])
      if (centre_fits(l, shape)) valid[c].push_back(l);
    if (valid[c].empty()) continue;
    const double q = probabilities_.empty() ? static_cast<double>(v.fg[c].size())
                                            : (c < probabilities_.size() ? probabilities_[c] : 0);
    weights[c] = q * static_cast<double>(valid[c].size()) / static_cast<double>(v.fg[c].size());
  }
  if (std::all_of(weights.begin(), weights.end(), [](double w) { return w <= 0; }))
    throw Error("case '" + v.id + "': label sampler has no voxel to centre a patch of size " +
                shape_text(size_) + " on (all foreground of the requested classes lies within " +
                "the borders); pad the volume or use a smaller patch");
  const auto& pool = valid[choose(weights, rng)];
  return location_of(pool[rng.below(pool.size())], shape);
}

std::vector<PlannedPatch> plan_queue_epoch(const std::vector<VolumeView>& volumes,
                                           const PatchSampler& sampler, const QueueOptions& options,
                                           Rng& rng) {
  if (options.samples_per_volume < 1 || options.max_length < 1)
    throw Error("patch queue: samples_per_volume (" + std::to_string(options.samples_per_volume) +
                ") and max_length (" + std::to_string(options.max_length) + ") must be >= 1");
  std::vector<size_t> order(volumes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (options.shuffle_subjects)
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<PlannedPatch> plan;
  plan.reserve(volumes.size() * static_cast<size_t>(options.samples_per_volume));
  for (size_t vi : order)
    for (const auto& loc : sampler.draw_many(volumes[vi], options.samples_per_volume, rng))
      plan.push_back({vi, loc});
  if (options.shuffle_patches) {
    const auto window = static_cast<size_t>(options.max_length);
    for (size_t begin = 0; begin < plan.size(); begin += window) {
      const size_t n = std::min(window, plan.size() - begin);
      for (size_t i = n; i > 1; --i) std::swap(plan[begin + i - 1], plan[begin + rng.below(i)]);
    }
  }
  return plan;
}

PatchQueue::PatchQueue(const std::vector<VolumeView>& volumes, const PatchSampler& sampler,
                       QueueOptions options, uint64_t seed)
    : volumes_(volumes), sampler_(sampler), options_(options), seed_(seed) {
  if (volumes.empty()) throw Error("patch queue: no volumes to sample from");
}

int64_t PatchQueue::patches_per_epoch() const {
  return static_cast<int64_t>(volumes_.size()) * options_.samples_per_volume;
}

PatchQueue::Item PatchQueue::next() {
  if (epoch_ < 0 || cursor_ >= plan_.size()) {
    ++epoch_;
    Rng rng(Rng::derive(seed_, static_cast<uint64_t>(epoch_)));
    plan_ = plan_queue_epoch(volumes_, sampler_, options_, rng);
    cursor_ = 0;
  }
  const PlannedPatch& p = plan_[cursor_++];
  return {crop(volumes_[p.volume], p.where), p, epoch_};
}

}  // namespace orch
