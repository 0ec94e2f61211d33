#include "worker/data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/cache/foreground.h"

namespace orch {

namespace F = torch::nn::functional;

namespace {

struct Work {
  torch::Tensor image;  // (C, Z, Y, X)
  torch::Tensor label;  // (Z, Y, X) uint8
  std::array<double, 3> spacing;
  Affine affine;
};

std::string fmt_args(const PreprocessStep& st) {
  const std::string s = join(st.args);  // 64, 0.5: as written in the YAML
  return st.op + (st.mode.empty() ? " [" + s + "]" : " " + st.mode);
}

// Affine of a sub-grid whose voxel n sits at old index offset + n * scale (per axis i, j, k).
Affine regrid(const Affine& a, const std::array<double, 3>& offset,
              const std::array<double, 3>& scale) {
  Affine out = a;
  for (int r = 0; r < 3; ++r) {
    out[r][3] = a[r][3] + a[r][0] * offset[0] + a[r][1] * offset[1] + a[r][2] * offset[2];
    for (int c = 0; c < 3; ++c) out[r][c] = a[r][c] * scale[c];
  }
  return out;
}

torch::Tensor remap_labels(torch::Tensor label, const PreprocessOptions& o) {
  if (o.label_map.empty()) return label;
  auto lut = torch::arange(256, torch::kUInt8);
  for (const auto& [from, to] : o.label_map) lut[from] = to;
  return lut.index({label.to(torch::kLong)});
}

// Crops half-open ranges (k0, k1, j0, j1, i0, i1) in tensor order and moves the origin.
void crop(Work& w, std::array<int64_t, 6> r) {
  w.image = w.image.slice(1, r[0], r[1]).slice(2, r[2], r[3]).slice(3, r[4], r[5]).contiguous();
  w.label = w.label.slice(0, r[0], r[1]).slice(1, r[2], r[3]).slice(2, r[4], r[5]).contiguous();
  w.affine = regrid(w.affine, {double(r[4]), double(r[2]), double(r[0])}, {1, 1, 1});
}

void crop_box(Work& w, const PreprocessStep& st, const std::string& id) {
  const auto& a = st.args;
  const int64_t nz = w.image.size(1), ny = w.image.size(2), nx = w.image.size(3);
  const std::array<int64_t, 6> r = {a.size() == 6 ? int64_t(a[4]) : 0,
                                    a.size() == 6 ? int64_t(a[5]) : nz,
                                    int64_t(a[2]),
                                    int64_t(a[3]),
                                    int64_t(a[0]),
                                    int64_t(a[1])};
  if (r[1] > nz || r[3] > ny || r[5] > nx)
    throw Error("case '" + id + "': step " + fmt_args(st) + " exceeds the volume " +
                std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz));
  crop(w, r);
}

// The bounding box of `mask` (Z, Y, X) plus the step's (mi, mj, mk) margins, clipped to the
// volume, as crop() takes it; nullopt when the mask is empty.
std::optional<std::array<int64_t, 6>> margin_box(const torch::Tensor& mask,
                                                 const PreprocessStep& st) {
  if (!mask.any().item<bool>()) return std::nullopt;
  std::array<int64_t, 6> r{};
  for (int64_t d = 0; d < 3; ++d) {
    std::vector<int64_t> others;
    for (int64_t o = 0; o < 3; ++o)
      if (o != d) others.push_back(o);
    const auto idx = mask.amax(others).nonzero().flatten();
    const int64_t margin = static_cast<int64_t>(st.args[static_cast<size_t>(2 - d)]);
    r[2 * d] = std::max<int64_t>(0, idx.min().item<int64_t>() - margin);
    r[2 * d + 1] = std::min<int64_t>(mask.size(d), idx.max().item<int64_t>() + 1 + margin);
  }
  return r;
}

// The label's box: a case without foreground is kept whole (nothing to centre on).
void crop_foreground(Work& w, const PreprocessStep& st) {
  if (const auto r = margin_box(w.label.gt(0), st)) crop(w, *r);
}

// E6: the box of image != 0 in any channel (the imaged object, e.g. a skull-stripped brain in
// its MNI frame), plus margins; found from the image alone, so test cases crop the same way.
void crop_nonzero(Work& w, const PreprocessStep& st) {
  if (const auto r = margin_box(w.image.ne(0).any(0), st)) crop(w, *r);  // all-zero: kept whole
}

// E7: the central fi x fj of the in-plane size (the thesis's 75% MRA crop); the start is
// floor((n - m) / 2), as numpy's centre crops take it.
void center_crop(Work& w, const PreprocessStep& st) {
  const int64_t nz = w.image.size(1), ny = w.image.size(2), nx = w.image.size(3);
  const int64_t mx = std::max<int64_t>(1, std::llround(nx * st.args[0]));
  const int64_t my = std::max<int64_t>(1, std::llround(ny * st.args[1]));
  const int64_t x0 = (nx - mx) / 2, y0 = (ny - my) / 2;
  crop(w, {0, nz, y0, y0 + my, x0, x0 + mx});
}

// E6: zero padding, centred (the extra voxel after), to at least the given (i, j, k) size, so
// that a patch fits a cropped volume. The label pads with background.
void pad(Work& w, const PreprocessStep& st) {
  std::vector<int64_t> p;  // F::pad order: last dim first (X before, X after, Y ..., Z ...)
  std::array<double, 3> offset{};
  for (int a = 0; a < 3; ++a) {
    const int64_t n = w.image.size(3 - a), want = static_cast<int64_t>(st.args[a]);
    const int64_t extra = std::max<int64_t>(0, want - n);
    p.push_back(extra / 2);
    p.push_back(extra - extra / 2);
    offset[a] = -static_cast<double>(extra / 2);
  }
  if (std::all_of(p.begin(), p.end(), [](int64_t v) { return v == 0; })) return;
  w.image = F::pad(w.image, F::PadFuncOptions(p)).contiguous();
  w.label = F::pad(w.label, F::PadFuncOptions(p)).contiguous();
  w.affine = regrid(w.affine, offset, {1, 1, 1});
}

// Nearest-exact label interpolation to `size`. LibTorch's C++ interpolate only exempts `nearest`
// and `area` from its align_corners check, so nearest-exact without the flag prints "Default
// upsampling behavior ... align_corners=False" on every call, once per case and step. The
// nearest-exact kernels never read the flag: passing false silences the warning and changes no
// voxel.
F::InterpolateFuncOptions nearest_exact(const std::vector<int64_t>& size) {
  return F::InterpolateFuncOptions().size(size).mode(torch::kNearestExact).align_corners(false);
}

void resample(Work& w, const PreprocessStep& st) {
  std::vector<int64_t> size(3);
  std::array<double, 3> scale{}, offset{}, spacing{};
  for (int a = 0; a < 3; ++a) {  // a = i, j, k; tensor dim 3 - a
    const int64_t n = w.image.size(3 - a);
    const int64_t m = std::max<int64_t>(1, std::llround(n * w.spacing[a] / st.args[a]));
    size[static_cast<size_t>(2 - a)] = m;
    scale[a] = double(n) / double(m);
    offset[a] = 0.5 * scale[a] - 0.5;  // align_corners=false: voxel centres map to centres
    spacing[a] = w.spacing[a] * scale[a];
  }
  w.image = F::interpolate(
                w.image.unsqueeze(0),
                F::InterpolateFuncOptions().size(size).mode(torch::kTrilinear).align_corners(false))
                .squeeze(0);
  w.label =
      F::interpolate(w.label.unsqueeze(0).unsqueeze(0).to(torch::kFloat32), nearest_exact(size))
          .squeeze(0)
          .squeeze(0)
          .to(torch::kUInt8);
  w.affine = regrid(w.affine, offset, scale);
  w.spacing = spacing;
}

void resize(Work& w, const PreprocessStep& st) {
  const int64_t nx = w.image.size(3), ny = w.image.size(2);
  const std::vector<int64_t> size = {int64_t(st.args[1]), int64_t(st.args[0])};  // (Y, X)
  // (C, Z, Y, X) -> (Z, C, Y, X): the slices are the batch of a 2D interpolation.
  w.image = F::interpolate(
                w.image.permute({1, 0, 2, 3}),
                F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false))
                .permute({1, 0, 2, 3})
                .contiguous();
  w.label = F::interpolate(w.label.unsqueeze(1).to(torch::kFloat32), nearest_exact(size))
                .squeeze(1)
                .to(torch::kUInt8);
  const std::array<double, 3> scale = {double(nx) / size[1], double(ny) / size[0], 1.0};
  w.affine = regrid(w.affine, {0.5 * scale[0] - 0.5, 0.5 * scale[1] - 0.5, 0}, scale);
  for (int a = 0; a < 2; ++a) w.spacing[a] *= scale[a];
}

void znorm(Work& w, const PreprocessStep& st, const std::string& id) {
  for (int64_t c = 0; c < w.image.size(0); ++c) {
    auto ch = w.image[c];
    torch::Tensor mask;
    if (st.mode == "nonzero") mask = ch.ne(0);
    if (st.mode == "foreground") mask = w.label.gt(0);
    const auto values = mask.defined() ? ch.masked_select(mask) : ch.flatten();
    if (values.numel() < 2)
      throw Error("case '" + id + "': step " + fmt_args(st) + " has fewer than 2 voxels to use");
    const double mean = values.mean().item<double>(), sd = values.std().item<double>();
    if (!(sd > 0))
      throw Error("case '" + id + "': step " + fmt_args(st) + ": channel " + std::to_string(c) +
                  " is constant (std 0)");
    ch.sub_(mean).div_(sd);
  }
}

void apply(Work& w, const PreprocessStep& st, const std::string& id) {
  if (st.op == "window" || st.op == "clip") {
    w.image.clamp_(st.args[0], st.args[1]);
    if (st.op == "window") w.image.sub_(st.args[0]).div_(st.args[1] - st.args[0]);
  } else if (st.op == "scale") {
    for (int64_t c = 0; c < w.image.size(0); ++c) {
      auto ch = w.image[c];
      const double lo = ch.min().item<double>(), hi = ch.max().item<double>();
      if (hi > lo)
        ch.sub_(lo).mul_((st.args[1] - st.args[0]) / (hi - lo)).add_(st.args[0]);
      else
        ch.fill_(st.args[0]);
    }
  } else if (st.op == "znorm") {
    znorm(w, st, id);
  } else if (st.op == "resample") {
    resample(w, st);
  } else if (st.op == "crop") {
    crop_box(w, st, id);
  } else if (st.op == "crop_foreground") {
    crop_foreground(w, st);
  } else if (st.op == "resize") {
    resize(w, st);
  } else if (st.op == "crop_nonzero") {
    crop_nonzero(w, st);
  } else if (st.op == "center_crop") {
    center_crop(w, st);
  } else if (st.op == "pad") {
    pad(w, st);
  } else {
    throw Error("case '" + id + "': unknown preprocessing step '" + st.op + "'");
  }
}

}  // namespace

void index_foreground(PreparedCase& p, int num_classes) {
  const auto flat = p.label.flatten().contiguous();
  p.fg = foreground_index(flat.data_ptr<std::uint8_t>(), static_cast<std::size_t>(flat.numel()),
                          num_classes, p.id);
  p.fg_slices.clear();
  const auto any = p.label.flatten(1).amax(1).gt(0);
  for (int64_t k = 0; k < any.size(0); ++k)
    if (any[k].item<bool>()) p.fg_slices.push_back(k);
}

PreparedCase prepare_case(const Case& c, const PreprocessOptions& o, int num_classes) {
  const auto& d = c.image.dims;
  const int64_t ch = c.image.channels;
  // NIfTI memory order is (C, K, J, I) = (C, Z, Y, X); clone so nothing aliases the Case.
  Work w{
      torch::from_blob(const_cast<float*>(c.image.data.data()), {ch, d[2], d[1], d[0]},
                       torch::kFloat32)
          .clone(),
      torch::from_blob(const_cast<std::uint8_t*>(c.label.data()), {d[2], d[1], d[0]}, torch::kUInt8)
          .clone(),
      c.image.spacing, c.image.affine};
  w.label = remap_labels(w.label, o);
  for (const auto& st : o.steps) apply(w, st, c.id);
  const int top = w.label.numel() ? w.label.max().item<int>() : 0;
  if (top >= num_classes)
    throw Error("case '" + c.id + "': label " + std::to_string(top) +
                " exceeds num_classes - 1 = " + std::to_string(num_classes - 1) +
                " (map it with preprocess.label_map)");
  PreparedCase p;
  p.id = c.id;
  p.image = w.image.contiguous();
  p.label = w.label.contiguous();
  p.spacing = w.spacing;
  p.affine = w.affine;
  index_foreground(p, num_classes);
  return p;
}

}  // namespace orch
