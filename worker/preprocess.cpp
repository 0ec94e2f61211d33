#include "worker/preprocess.h"

#include "common/status.h"

namespace orch {

namespace F = torch::nn::functional;

namespace {

torch::Tensor remap_labels(torch::Tensor label, const PreprocessOptions& o) {
  if (o.label_map.empty()) return label;
  auto lut = torch::arange(256, torch::kUInt8);
  for (const auto& [from, to] : o.label_map)
    if (from >= 0 && from < 256) lut[from] = to;
  return lut.index({label.to(torch::kLong)});
}

}  // namespace

PreparedCase prepare_case(const Case& c, const PreprocessOptions& o, int num_classes) {
  const auto& d = c.image.dims;
  const int64_t ch = c.image.channels;
  // NIfTI memory order (C, K, J, I) -> (K, C, J, I): slices first. clone(): with one channel the
  // permuted view is already contiguous, and the prepared case must not alias the Case's buffer.
  auto image = torch::from_blob(const_cast<float*>(c.image.data.data()), {ch, d[2], d[1], d[0]},
                                torch::kFloat32)
                   .permute({1, 0, 2, 3})
                   .clone(torch::MemoryFormat::Contiguous);
  auto label =
      torch::from_blob(const_cast<std::uint8_t*>(c.label.data()), {d[2], d[1], d[0]}, torch::kUInt8)
          .clone();
  if (o.window) {
    const auto [lo, hi] = *o.window;
    image = (image.clamp(lo, hi) - lo) / (hi - lo);
  }
  label = remap_labels(label, o);
  if (o.crop) {
    const auto [i0, i1, j0, j1] = *o.crop;
    if (i1 > d[0] || j1 > d[1])
      throw Error("case '" + c.id + "': crop [" + std::to_string(i0) + ", " + std::to_string(i1) +
                  ", " + std::to_string(j0) + ", " + std::to_string(j1) +
                  ") exceeds the in-plane size " + std::to_string(d[0]) + "x" +
                  std::to_string(d[1]));
    image = image.slice(3, i0, i1).slice(2, j0, j1).contiguous();
    label = label.slice(2, i0, i1).slice(1, j0, j1).contiguous();
  }
  if (o.resize) {
    const std::vector<int64_t> size = {(*o.resize)[1], (*o.resize)[0]};  // (H=j, W=i)
    image = F::interpolate(
        image, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
    label = F::interpolate(label.unsqueeze(1).to(torch::kFloat32),
                           F::InterpolateFuncOptions().size(size).mode(torch::kNearest))
                .squeeze(1)
                .to(torch::kUInt8);
  }
  if (label.max().item<int>() >= num_classes)
    throw Error("case '" + c.id + "': label " + std::to_string(label.max().item<int>()) +
                " exceeds num_classes - 1 = " + std::to_string(num_classes - 1) +
                " (map it with preprocess.label_map)");
  PreparedCase p{c.id, image, label, {}};
  const auto any = label.flatten(1).amax(1).gt(0);
  for (int64_t k = 0; k < any.size(0); ++k)
    if (any[k].item<bool>()) p.fg_slices.push_back(k);
  return p;
}

}  // namespace orch
