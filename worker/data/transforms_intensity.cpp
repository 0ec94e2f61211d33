// Intensity transforms: bias field, noise, gamma, z-normalisation. They touch the image only.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/status.h"
#include "worker/data/transforms.h"

namespace orch {

namespace {

// TorchIO's bias-field coordinates for n voxels: arange(-n/2, n/2) + 0.5 divided by its maximum,
// i.e. 2u / (n - 1) - 1 in [-1, 1]; a single voxel sits at 0.
torch::Tensor unit_coordinates(int64_t n) {
  if (n <= 1) return torch::zeros({n}, torch::kFloat64);
  return torch::linspace(-1.0, 1.0, n, torch::kFloat64);
}

// Columns 1, v, v^2, ..., v^order: (n, order + 1).
torch::Tensor powers(const torch::Tensor& v, int order) {
  std::vector<torch::Tensor> cols;
  auto p = torch::ones_like(v);
  for (int e = 0; e <= order; ++e) {
    cols.push_back(p);
    p = p * v;
  }
  return torch::stack(cols, 1);
}

}  // namespace

Subject apply_bias_field(Subject s, const BiasFieldParams& p) {
  const int64_t o = p.order + 1;
  const int64_t nz = s.image.size(1), ny = s.image.size(2), nx = s.image.size(3);
  // Coefficients as a dense (x-power a, y-power b, z-power c) cube, TorchIO's loop order.
  auto cube = torch::zeros({o, o, o}, torch::kFloat64);
  size_t i = 0;
  for (int a = 0; a <= p.order; ++a)
    for (int b = 0; b <= p.order - a; ++b)
      for (int c = 0; c <= p.order - a - b; ++c) {
        if (i >= p.coefficients.size()) throw Error("bias_field: too few coefficients");
        cube[a][b][c] = p.coefficients[i++];
      }
  // Separable: contract z powers, then y, then x (the last is one (Z*Y, o) x (o, X) GEMM).
  const auto pz = powers(unit_coordinates(nz), p.order);  // (Z, o)
  const auto py = powers(unit_coordinates(ny), p.order);
  const auto px = powers(unit_coordinates(nx), p.order);
  const auto t1 = pz.mm(cube.reshape({o * o, o}).t()).view({nz * o, o});  // (z, a) x b
  const auto t2 = t1.mm(py.t()).view({nz, o, ny}).permute({0, 2, 1}).reshape({nz * ny, o});
  const auto opts = s.image.options();
  auto field = t2.to(opts).mm(px.t().to(opts)).view({1, nz, ny, nx});
  field.exp_();
  s.image = s.image * field;
  return s;
}

Subject apply_noise(Subject s, const NoiseParams& p) {
  // Drawn on CPU from its own seed so CPU and CUDA subjects get identical noise.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(p.seed);
  auto noise = torch::randn(s.image.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat));
  noise = noise.to(s.image.options());
  s.image = s.image.add(noise, p.std);
  if (p.mean != 0.0) s.image.add_(p.mean);
  return s;
}

Subject apply_gamma(Subject s, const GammaParams& p) {
  // TorchIO: x ** gamma, or sign(x) |x| ** gamma when x has negative values; the same thing.
  if (s.image.min().item<double>() >= 0) {
    s.image = s.image.pow(p.gamma);
  } else {
    s.image = s.image.sign() * s.image.abs().pow(p.gamma);
  }
  return s;
}

Subject apply_znorm(Subject s, const ZNormOptions& o) {
  torch::Tensor values;
  if (o.masking_method.empty()) {
    values = s.image;
  } else if (o.masking_method == "label") {
    if (!s.label.defined()) throw Error("znorm(masking_method=label): the subject has no label");
    const auto mask = s.label.reshape({1, s.image.size(1), s.image.size(2), s.image.size(3)}) > 0;
    values = s.image.masked_select(mask);
  } else if (o.masking_method == "mean") {
    values = s.image.masked_select(s.image > s.image.mean());
  } else {
    throw Error("znorm: unknown masking_method '" + o.masking_method +
                "'; known: none, label, mean");
  }
  if (values.numel() < 2)
    throw Error("znorm: fewer than two masked values (masking_method '" + o.masking_method + "')");
  const auto sm = torch::std_mean(values, /*unbiased=*/true);  // float, cascade-summed
  const double sd = std::get<0>(sm).item<double>(), mean = std::get<1>(sm).item<double>();
  if (sd == 0.0 || !std::isfinite(sd))
    throw Error("znorm: standard deviation is 0 for the masked values (masking_method '" +
                o.masking_method + "')");
  s.image = (s.image - mean).mul_(1.0 / sd);
  return s;
}

}  // namespace orch
