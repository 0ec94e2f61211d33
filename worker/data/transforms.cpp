// Parameter draws (TorchIO's get_params, from an orch::Rng) and the pipeline that composes
// consecutive spatial transforms into one resampling.
#include "worker/data/transforms.h"

#include <chrono>
#include <cmath>

#include "common/status.h"
#include "worker/data/transforms_grid.h"

namespace orch {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double draw(Rng& rng, const Range& r) { return rng.uniform(r.lo, r.hi); }

struct Drawer {
  const std::array<int64_t, 3>& dims;
  Rng& rng;
  bool is_2d() const { return dims[2] == 1; }

  TransformParams operator()(const FlipOptions& o) const {
    FlipParams p;
    for (int a : o.axes)
      if (rng.uniform() < o.flip_probability) p.flip[static_cast<size_t>(a)] = true;
    return p;
  }
  TransformParams operator()(const AffineOptions& o) const {
    AffineParams p;
    for (int a = 0; a < 3; ++a) p.scales[a] = draw(rng, o.scales[a]);
    if (o.isotropic) p.scales = {p.scales[0], p.scales[0], p.scales[0]};
    for (int a = 0; a < 3; ++a) p.degrees[a] = draw(rng, o.degrees[a]);
    for (int a = 0; a < 3; ++a) p.translation[a] = draw(rng, o.translation[a]);
    if (is_2d()) {  // TorchIO: scaling[2] = 1, rotation[:-1] = 0
      p.scales[2] = 1;
      p.degrees[0] = p.degrees[1] = 0;
    }
    return p;
  }
  TransformParams operator()(const ElasticOptions& o) const {
    const auto& n = o.num_control_points;
    auto field = torch::empty({n[0], n[1], n[2], 3}, torch::kFloat64);
    auto acc = field.accessor<double, 4>();
    for (int64_t a = 0; a < n[0]; ++a)
      for (int64_t b = 0; b < n[1]; ++b)
        for (int64_t c = 0; c < n[2]; ++c)
          for (int d = 0; d < 3; ++d)
            acc[a][b][c][d] = (2 * rng.uniform() - 1) * o.max_displacement[d];
    for (int64_t i = 0; i < o.locked_borders; ++i) {  // axes 0 and 1 only (TorchIO's code)
      field.select(0, i).zero_();
      field.select(0, n[0] - 1 - i).zero_();
      field.select(1, i).zero_();
      field.select(1, n[1] - 1 - i).zero_();
    }
    if (is_2d()) field.select(3, 2).zero_();
    return ElasticParams{field};
  }
  TransformParams operator()(const MotionOptions& o) const {
    MotionParams p;
    const auto n = static_cast<size_t>(o.num_transforms);
    p.degrees.resize(n);
    p.translation.resize(n);
    for (auto& d : p.degrees)
      for (auto& v : d) v = draw(rng, o.degrees);
    for (auto& t : p.translation)
      for (auto& v : t) v = draw(rng, o.translation);
    if (is_2d())
      for (size_t i = 0; i < n; ++i) {  // rotate about k only, translate in the i-j plane
        p.degrees[i][0] = p.degrees[i][1] = 0;
        p.translation[i][2] = 0;
      }
    const double step = 1.0 / static_cast<double>(n + 1);
    for (size_t i = 0; i < n; ++i)
      p.times.push_back(step * static_cast<double>(i + 1) + rng.uniform(-0.3 * step, 0.3 * step));
    return p;
  }
  TransformParams operator()(const BiasFieldOptions& o) const {
    BiasFieldParams p;
    p.order = o.order;
    for (int a = 0; a <= o.order; ++a)
      for (int b = 0; b <= o.order - a; ++b)
        for (int c = 0; c <= o.order - a - b; ++c)
          p.coefficients.push_back(draw(rng, o.coefficients));
    return p;
  }
  TransformParams operator()(const NoiseOptions& o) const {
    NoiseParams p;
    p.mean = draw(rng, o.mean);
    p.std = draw(rng, o.std);
    p.seed = rng.next();
    return p;
  }
  TransformParams operator()(const GammaOptions& o) const {
    return GammaParams{std::exp(draw(rng, o.log_gamma))};
  }
  TransformParams operator()(const ZNormOptions&) const { return ZNormParams{}; }
};

}  // namespace

DrawnTransform draw_transform(const TransformSpec& spec, const std::array<int64_t, 3>& dims,
                              Rng& rng) {
  DrawnTransform d;
  d.applied = rng.uniform() < spec.p;
  if (d.applied) d.params = std::visit(Drawer{dims, rng}, spec.options);
  return d;
}

Pipeline::Pipeline(std::vector<TransformSpec> specs) : specs_(std::move(specs)) {}

std::vector<DrawnTransform> Pipeline::draw(const Subject& subject, std::uint64_t seed) const {
  const auto dims = detail::dims_of(subject.image);
  std::vector<DrawnTransform> drawn;
  for (size_t t = 0; t < specs_.size(); ++t) {
    Rng rng(Rng::derive(seed, t));
    drawn.push_back(draw_transform(specs_[t], dims, rng));
  }
  return drawn;
}

Subject Pipeline::operator()(Subject subject, std::uint64_t seed,
                             std::vector<StageTime>* times) const {
  const auto drawn = draw(subject, seed);  // before `subject` is moved from
  return apply(std::move(subject), drawn, times);
}

Subject Pipeline::apply(Subject s, const std::vector<DrawnTransform>& drawn,
                        std::vector<StageTime>* times) const {
  if (drawn.size() != specs_.size()) throw Error("Pipeline::apply: one draw per transform");
  if (!s.image.defined() || s.image.dim() != 4)
    throw Error("augmentation: the image must be a (C, Z, Y, X) tensor");
  const auto dims = detail::dims_of(s.image);
  detail::GridComposer pending;
  auto flush = [&]() {
    if (pending.empty()) return;
    s = pending.resample(std::move(s), times);
    pending = detail::GridComposer();
  };
  for (size_t t = 0; t < specs_.size(); ++t) {
    if (!drawn[t].applied) continue;
    const auto& params = drawn[t].params;
    if (const auto* f = std::get_if<FlipParams>(&params)) {
      pending.add(detail::flip_matrix(*f));
      continue;
    }
    if (const auto* a = std::get_if<AffineParams>(&params)) {
      pending.add(detail::affine_matrix(*a, dims, s.spacing));
      continue;
    }
    if (const auto* e = std::get_if<ElasticParams>(&params)) {
      pending.add(*e);
      continue;
    }
    flush();
    const double t0 = now();
    if (const auto* m = std::get_if<MotionParams>(&params)) s = apply_motion(std::move(s), *m);
    if (const auto* b = std::get_if<BiasFieldParams>(&params))
      s = apply_bias_field(std::move(s), *b);
    if (const auto* n = std::get_if<NoiseParams>(&params)) s = apply_noise(std::move(s), *n);
    if (const auto* g = std::get_if<GammaParams>(&params)) s = apply_gamma(std::move(s), *g);
    if (std::holds_alternative<ZNormParams>(params))
      s = apply_znorm(std::move(s), std::get<ZNormOptions>(specs_[t].options));
    if (times) times->push_back({specs_[t].name, now() - t0});
  }
  flush();
  return s;
}

Subject apply_flip(Subject s, const FlipParams& p) {
  detail::GridComposer c;
  c.add(detail::flip_matrix(p));
  return c.resample(std::move(s), nullptr);
}

Subject apply_affine(Subject s, const AffineParams& p) {
  detail::GridComposer c;
  c.add(detail::affine_matrix(p, detail::dims_of(s.image), s.spacing));
  return c.resample(std::move(s), nullptr);
}

Subject apply_elastic(Subject s, const ElasticParams& p) {
  detail::GridComposer c;
  c.add(p);
  return c.resample(std::move(s), nullptr);
}

}  // namespace orch
