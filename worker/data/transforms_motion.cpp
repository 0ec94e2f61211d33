// RandomMotion (Shaw et al. 2019, TorchIO's Motion): k-space segments from moved copies.
//
// TorchIO: spectra S_s = fftshift(fftn(x_s)) of the original and each moved copy; spectrum 0 is
// swapped with the first one whose time exceeds 0.5; the result takes, along the LAST TorchIO
// axis (our Z), segment s of the shifted spectrum from S_s; output = real(ifftn(ifftshift(.))).
//
// Why 1-D FFTs suffice. Each segment mask M_s depends on the last-axis frequency only, so it
// commutes with the FFTs (and shifts) along the other two axes, which cancel with their inverses:
//   ifftn(sum_s M_s fftn(x_s)) = sum_s ifft_z(M_s fft_z(x_s)).
// For real x_s, Re(ifft(M X)) = ifft(Msym X) with Msym[f] = (M[f] + M[-f]) / 2 (X is Hermitian),
// and Msym X is Hermitian, so the real part is irfft_z(sum_s Msym_s rfft_z(x_s)): one batched
// real FFT along Z instead of n + 1 complex 3-D FFTs. motion_kspace_mix_reference is the literal
// fftn formulation the tests compare against.
#include <torch/fft.h>

#include <algorithm>
#include <numeric>

#include "common/status.h"
#include "worker/data/transforms_grid.h"

namespace orch {

namespace {

// Slot -> index into the stack after TorchIO's sort_spectra (the original fills the centre).
// As in TorchIO the index found in `times` is used to index the spectra, a quirk kept here.
std::vector<int64_t> spectra_order(const std::vector<double>& times) {
  const auto n = static_cast<int64_t>(times.size());
  std::vector<int64_t> order(static_cast<size_t>(n + 1));
  std::iota(order.begin(), order.end(), 0);
  int64_t index = n;
  for (int64_t i = 0; i < n; ++i)
    if (times[static_cast<size_t>(i)] > 0.5) {
      index = i;
      break;
    }
  std::swap(order[0], order[static_cast<size_t>(index)]);
  return order;
}

// Segment s of the shifted last axis is [ends[s - 1], ends[s]): floor(N t_s), then N.
std::vector<int64_t> segment_ends(const std::vector<double>& times, int64_t n) {
  std::vector<int64_t> ends;
  for (double t : times) ends.push_back(static_cast<int64_t>(static_cast<double>(n) * t));
  ends.push_back(n);
  return ends;
}

void check_volumes(const std::vector<torch::Tensor>& volumes, const std::vector<double>& times) {
  if (volumes.size() != times.size() + 1)
    throw Error("motion: expected n + 1 images for n = " + std::to_string(times.size()) +
                " motions, got " + std::to_string(volumes.size()));
  for (const auto& v : volumes)
    if (v.dim() != 4 || v.sizes() != volumes[0].sizes())
      throw Error("motion: the images must be (C, Z, Y, X) tensors of one shape");
}

}  // namespace

torch::Tensor motion_kspace_mix(const std::vector<torch::Tensor>& volumes,
                                const std::vector<double>& times) {
  check_volumes(volumes, times);
  const int64_t n = volumes[0].size(1), f_count = n / 2 + 1;
  const auto order = spectra_order(times);
  const auto ends = segment_ends(times, n);
  // Per volume, the symmetrised mask over rfft frequencies 0..N/2.
  auto w = torch::zeros({static_cast<int64_t>(volumes.size()), f_count}, torch::kFloat64);
  auto acc = w.accessor<double, 2>();
  int64_t ini = 0;
  for (size_t slot = 0; slot < order.size(); ++slot) {
    std::vector<double> mask(static_cast<size_t>(n), 0.0);  // unshifted frequency f
    for (int64_t q = ini; q < ends[slot]; ++q) mask[static_cast<size_t>((q - n / 2 + n) % n)] = 1;
    ini = std::max(ini, ends[slot]);
    for (int64_t f = 0; f < f_count; ++f)
      acc[order[slot]][f] +=
          0.5 * (mask[static_cast<size_t>(f)] + mask[static_cast<size_t>((n - f) % n)]);
  }
  // sum_s w_s rfft_z(x_s), accumulated in place: no stacked copy, no full-size temporaries.
  const auto weights =
      w.to(torch::kComplexFloat).to(volumes[0].device()).view({-1, 1, f_count, 1, 1});
  torch::Tensor sum;
  for (size_t s = 0; s < volumes.size(); ++s) {
    const auto spectrum = torch::fft::rfft(volumes[s], n, 1);  // (C, F, Y, X)
    if (s == 0)
      sum = spectrum.mul_(weights[0]);
    else
      sum.addcmul_(spectrum, weights[static_cast<int64_t>(s)]);
  }
  return torch::fft::irfft(sum, n, 1);
}

torch::Tensor motion_kspace_mix_reference(const std::vector<torch::Tensor>& volumes,
                                          const std::vector<double>& times) {
  check_volumes(volumes, times);
  const std::vector<int64_t> dims = {1, 2, 3};
  const auto order = spectra_order(times);
  const auto ends = segment_ends(times, volumes[0].size(1));
  std::vector<torch::Tensor> spectra;
  for (const auto& v : volumes)
    spectra.push_back(torch::fft::fftshift(torch::fft::fftn(v, c10::nullopt, dims), dims));
  auto result = torch::zeros_like(spectra[0]);
  int64_t ini = 0;
  for (size_t slot = 0; slot < order.size(); ++slot) {
    const int64_t fin = ends[slot];
    if (fin > ini)
      result.slice(1, ini, fin).copy_(spectra[static_cast<size_t>(order[slot])].slice(1, ini, fin));
    ini = fin;
  }
  return torch::real(torch::fft::ifftn(torch::fft::ifftshift(result, dims), c10::nullopt, dims))
      .to(torch::kFloat);
}

Subject apply_motion(Subject s, const MotionParams& p) {
  if (p.degrees.empty()) return s;
  const auto dims = detail::dims_of(s.image);
  std::vector<detail::Mat34> maps;
  for (size_t i = 0; i < p.degrees.size(); ++i)
    maps.push_back(detail::rigid_matrix(p.degrees[i], p.translation[i], dims, s.spacing));
  // All moved copies in one batched resampling (default value: the channel minimum).
  const auto moved =
      detail::resample_image(s.image, detail::affine_grids(maps, dims, s.image.options()));
  std::vector<torch::Tensor> volumes = {s.image};
  for (int64_t i = 0; i < moved.size(0); ++i) volumes.push_back(moved[i]);
  s.image = motion_kspace_mix(volumes, p.times);
  return s;
}

}  // namespace orch
