// Augmentation transforms with TorchIO's semantics (docs/MODELS.md section 11, TorchIO v0.20.4):
// flip, affine, elastic, motion, bias_field, noise, gamma and znorm, parsed from TorchIO-style
// strings such as `affine(scales=0.1,degrees=10,p=0.5)`.
//
// Layout. orch holds volumes as (C, Z, Y, X), NIfTI memory order reversed: voxel (i, j, k) of
// channel c is image[c][k][j][i]. TorchIO's tensors are (C, W, H, D) = (C, i, j, k), so TorchIO
// axis a (0, 1, 2) is our dim `ndim - 1 - a`. A 2-D slice is (C, 1, Y, X), TorchIO's (C, W, H, 1).
//
// Geometry. orch keeps no direction matrix here: rotations, translations and displacements act
// along the voxel axes in millimetres (spacing), about the image centre (index (n - 1) / 2). For an
// image whose affine is diagonal and positive (RAS+ canonical) this is exactly TorchIO's world
// geometry, including RandomAffine's RAS->LPS sign flips (see transforms_spatial.cpp). Motion and
// elastic parameters are symmetric random draws, so their LPS/RAS sign conventions change nothing
// in distribution; they are applied along +i, +j, +k.
//
// Speed. Consecutive spatial transforms (flip, affine, elastic) compose into ONE sampling grid and
// the subject is resampled once (image trilinear, label nearest), where TorchIO resamples after
// each. Every heavy step is a tensor op on the subject's device (CPU or CUDA).
//
// Known differences from TorchIO, all deliberate:
// - Composition: one resampling instead of one per spatial transform, so less blur; a point
//   that leaves the image in an intermediate step but maps back inside is not padded.
// - Motion rotates about the image centre as docs/MODELS.md says; TorchIO 0.20's Motion rebuilds
// its
//   Euler transforms from matrices and drops the centre, so it rotates about the world origin.
// - The random streams are orch::Rng's, not torch.rand's: same distributions, other numbers.
// - locked_borders = 2 zeroes control points 0, 1, n-2, n-1 on axes 0 and 1 (TorchIO's code), yet
//   border voxels still move: ITK's cubic B-spline gives a border voxel weight ~1/6 on control
//   point 2 (0.17 of its displacement for 144 voxels). TorchIO's "borders unmoved" is approximate.
//
// Randomness. A transform first draws one uniform for its probability p (it applies when
// u < p), then its parameters, all from an orch::Rng; Pipeline gives each transform its own
// stream derived from one seed, so the same seed gives the same bytes. Thread-safety: a Pipeline
// is immutable after construction; apply() may run concurrently on different subjects.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/rng.h"

namespace orch {

struct Subject {
  torch::Tensor image;                     // float32 (C, Z, Y, X)
  torch::Tensor label;                     // uint8 (Z, Y, X) or (1, Z, Y, X); may be undefined
  std::array<double, 3> spacing{1, 1, 1};  // mm along i, j, k (X, Y, Z)
};

struct Range {
  double lo = 0, hi = 0;
};

// Options: TorchIO's keys and defaults. Ranges are already expanded the way TorchIO does it.
struct FlipOptions {
  std::vector<int> axes{0};       // TorchIO axes 0, 1, 2 = i, j, k
  double flip_probability = 0.5;  // each listed axis flips independently with this probability
};
struct AffineOptions {
  std::array<Range, 3> scales{{{0.9, 1.1}, {0.9, 1.1}, {0.9, 1.1}}};  // factor; > 1 magnifies
  std::array<Range, 3> degrees{{{-10, 10}, {-10, 10}, {-10, 10}}};    // about RAS axes
  std::array<Range, 3> translation{};                                 // mm, RAS
  bool isotropic = false;                                             // s_j = s_i for all axes
};
struct ElasticOptions {
  std::array<int, 3> num_control_points{7, 7, 7};         // per axis, >= 4
  std::array<double, 3> max_displacement{7.5, 7.5, 7.5};  // mm per component
  int locked_borders = 2;                                 // 0, 1 or 2 (axes 0 and 1 only)
};
struct MotionOptions {
  Range degrees{-10, 10};
  Range translation{-10, 10};  // mm
  int num_transforms = 2;
};
struct BiasFieldOptions {
  Range coefficients{-0.5, 0.5};
  int order = 3;
};
struct NoiseOptions {
  Range mean{0, 0};
  Range std{0, 0.25};
};
struct GammaOptions {
  Range log_gamma{-0.3, 0.3};
};
struct ZNormOptions {
  std::string masking_method;  // "" (all voxels), "label" (label > 0) or "mean" (x > mean)
};

using TransformOptions = std::variant<FlipOptions, AffineOptions, ElasticOptions, MotionOptions,
                                      BiasFieldOptions, NoiseOptions, GammaOptions, ZNormOptions>;

struct TransformSpec {
  std::string name;  // flip, affine, elastic, motion, bias_field, noise, gamma, znorm
  double p = 1.0;    // probability of applying
  TransformOptions options;
};

// Parses `NAME(key=value,...)`; values are numbers, tuples `(a,b,...)`, true/false or words.
// Throws orch::Error naming an unknown transform or key and listing the known ones.
TransformSpec parse_transform(const std::string& text);

// Drawn parameters: what one application of a transform did.
struct FlipParams {
  std::array<bool, 3> flip{};  // per TorchIO axis
};
struct AffineParams {
  std::array<double, 3> scales{1, 1, 1}, degrees{}, translation{};  // TorchIO axes, RAS
};
struct ElasticParams {
  torch::Tensor control_points;  // float64 CPU (n0, n1, n2, 3), mm, TorchIO axis order
};
struct MotionParams {
  std::vector<std::array<double, 3>> degrees, translation;  // one per motion
  std::vector<double> times;                                // in (0, 1), one per motion
};
struct BiasFieldParams {
  int order = 3;
  std::vector<double> coefficients;  // TorchIO's loop order: x^i y^j z^k, i outer, k inner
};
struct NoiseParams {
  double mean = 0, std = 0;
  std::uint64_t seed = 0;  // of the noise tensor (drawn on CPU, so CPU and CUDA agree)
};
struct GammaParams {
  double gamma = 1;
};
struct ZNormParams {};

using TransformParams = std::variant<FlipParams, AffineParams, ElasticParams, MotionParams,
                                     BiasFieldParams, NoiseParams, GammaParams, ZNormParams>;

struct DrawnTransform {
  bool applied = false;  // false when the p draw said skip
  TransformParams params;
};

// Draws one transform: one uniform for p, then the parameters. `dims` = (ni, nj, nk); a 2-D
// subject (nk == 1) gets TorchIO's 2-D rules (rotation about k only, no z scaling or motion).
DrawnTransform draw_transform(const TransformSpec& spec, const std::array<int64_t, 3>& dims,
                              Rng& rng);

// Wall time per stage of one apply(), for the benchmark ("resample" covers composed grids).
struct StageTime {
  std::string stage;
  double seconds = 0;
};

class Pipeline {
 public:
  explicit Pipeline(std::vector<TransformSpec> specs);

  // Draws every transform (stream t = Rng::derive(seed, t)) and applies them.
  Subject operator()(Subject subject, std::uint64_t seed,
                     std::vector<StageTime>* times = nullptr) const;
  std::vector<DrawnTransform> draw(const Subject& subject, std::uint64_t seed) const;
  // Deterministic: applies already drawn parameters (one per spec, in order).
  Subject apply(Subject subject, const std::vector<DrawnTransform>& drawn,
                std::vector<StageTime>* times = nullptr) const;

  const std::vector<TransformSpec>& specs() const { return specs_; }

 private:
  std::vector<TransformSpec> specs_;
};

// Single transforms with explicit parameters (the Pipeline uses these; tests check them).
Subject apply_flip(Subject s, const FlipParams& p);
Subject apply_affine(Subject s, const AffineParams& p);
Subject apply_elastic(Subject s, const ElasticParams& p);
Subject apply_motion(Subject s, const MotionParams& p);
Subject apply_bias_field(Subject s, const BiasFieldParams& p);
Subject apply_noise(Subject s, const NoiseParams& p);
Subject apply_gamma(Subject s, const GammaParams& p);
Subject apply_znorm(Subject s, const ZNormOptions& o);

// --- Building blocks, exposed for tests and the benchmark. ---

// ITK's cubic B-spline weights for an n-voxel axis and `control` control points (mesh
// control - 3), domain = voxel corners widened by 1/8 voxel: float64 (n, control); rows sum to 1.
torch::Tensor bspline_basis(int64_t n, int64_t control);

// The elastic displacement in voxels at every voxel: float32 (Z, Y, X, 3), components (i, j, k).
torch::Tensor elastic_displacement(const ElasticParams& p, const std::array<int64_t, 3>& dims,
                                   const std::array<double, 3>& spacing,
                                   const torch::TensorOptions& options);

// Motion's k-space mix of n + 1 (C, Z, Y, X) volumes (the original first, then each moved copy)
// per TorchIO: spectra sorted, segments along the last TorchIO axis (our Z). The fast path uses
// 1-D real FFTs along Z; the reference is TorchIO's full fftn/fftshift formulation.
torch::Tensor motion_kspace_mix(const std::vector<torch::Tensor>& volumes,
                                const std::vector<double>& times);
torch::Tensor motion_kspace_mix_reference(const std::vector<torch::Tensor>& volumes,
                                          const std::vector<double>& times);

}  // namespace orch
