// Patch and slice samplers for training, after TorchIO v0.20.4 (docs/MODELS.md §11) and nnU-Net.
//
// Axis convention. Volumes are tensors (C, Z, Y, X): voxel (i, j, k) is image[c][k][j][i] and
// label[k][j][i]. Patch sizes and locations are written (i, j, k) like TorchIO's (W, H, D), so
// size[0] runs along X (tensor dim 3 of the image, 2 of the label) and size[2] along Z. A
// foreground linear index is l = (k * Y + j) * X + i, as the HDF5 cache stores it.
//
// Volumes smaller than the patch. On an axis where the volume is shorter than the patch, every
// sampler places the patch at the fixed start -floor((p - L) / 2): the whole axis lies inside it
// and crop() pads the rest (image: the channel's minimum, label: 0). The voxel a sampler aims
// at is therefore always inside the patch, on every axis.
//
// Randomness: every draw takes an orch::Rng; the same Rng state gives the same locations. The
// samplers hold no mutable state and may be shared between threads (each with its own Rng).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"

namespace orch {

using Index3 = std::array<int64_t, 3>;  // (i, j, k)

// One case as the samplers see it. The tensors are borrowed (torch handles share storage).
struct VolumeView {
  std::string id;       // named in errors
  torch::Tensor image;  // float32 (C, Z, Y, X)
  torch::Tensor label;  // uint8 (Z, Y, X)
  // Optional: fg[c] = ascending linear indices of the voxels of class c (c >= 1; fg[0] unused).
  // Empty means "not given": samplers then read the label instead (slower, same distribution).
  std::vector<std::vector<int64_t>> fg;
};

// Shape of a view as (i, j, k) = (X, Y, Z); checks that image and label agree (throws).
Index3 volume_shape(const VolumeView& v);

// fg lists from a label tensor (Z, Y, X) of case `case_id`: one ascending index list per class
// 1..max label (foreground_index, datastore/cache/foreground.h), fg[0] empty.
std::vector<std::vector<int64_t>> label_foreground(const torch::Tensor& label,
                                                   const std::string& case_id);

// Indices k of the slices that hold any foreground, ascending.
std::vector<int64_t> foreground_slices(const VolumeView& v);

struct PatchLocation {
  Index3 start{};  // (i, j, k) of the first voxel; negative where the patch overhangs (padding)
  Index3 size{};   // (i, j, k)
};

struct Patch {
  torch::Tensor image;  // float32 (C, size_k, size_j, size_i), contiguous, owns its memory
  torch::Tensor label;  // uint8 (size_k, size_j, size_i)
};

// Copies the patch at `where`; voxels outside the volume get the channel minimum / label 0.
Patch crop(const VolumeView& v, const PatchLocation& where);

class PatchSampler {
 public:
  virtual ~PatchSampler() = default;
  virtual PatchLocation draw(const VolumeView& v, Rng& rng) const = 0;
  // n draws from one volume; the default calls draw() n times. Overrides may share work.
  virtual std::vector<PatchLocation> draw_many(const VolumeView& v, int64_t n, Rng& rng) const;
};

// TorchIO UniformSampler: start_a ~ randint(0, L_a - p_a + 1), axes drawn in order i, j, k.
class UniformSampler : public PatchSampler {
 public:
  explicit UniformSampler(Index3 size);
  PatchLocation draw(const VolumeView& v, Rng& rng) const override;

 private:
  Index3 size_;
};

// TorchIO LabelSampler. The patch centre c is drawn from a probability map over voxels:
//   no class probabilities: label > 0, uniform over foreground voxels;
//   class probabilities q (index = class): each voxel of class c gets q_c / n_c (n_c = all
//   voxels of class c), so classes are chosen in proportion to q (among present classes).
// Then the borders are cleared: c_a must satisfy floor(p/2) <= c_a <= L - 1 - floor((p-1)/2),
// and start = c - floor(p/2), so the patch always fits. An empty map throws, naming the case.
//
// Two exact implementations of the same distribution: with v.fg given (and q_0 == 0) a class is
// chosen with weight q_c (or n_c), then a voxel uniformly among all n_c, and the pair is
// rejected if the voxel lies in a cleared border. Accepted voxels thus have probability
// proportional to q_c / n_c on valid voxels, which is the cleared and renormalised TorchIO map.
// After 64 rejections it counts the valid voxels of each class and draws directly, so a volume
// whose foreground sits mostly in the border costs one scan, never a long loop. Without v.fg
// it builds the TorchIO map from the label and inverts its CDF (binary search), as TorchIO does.
class LabelSampler : public PatchSampler {
 public:
  explicit LabelSampler(Index3 size, std::vector<double> class_probabilities = {});
  PatchLocation draw(const VolumeView& v, Rng& rng) const override;
  std::vector<PatchLocation> draw_many(const VolumeView& v, int64_t n, Rng& rng) const override;

 private:
  bool use_indices(const VolumeView& v) const;
  PatchLocation draw_from_indices(const VolumeView& v, Rng& rng) const;
  PatchLocation draw_exact_from_indices(const VolumeView& v, Rng& rng) const;
  PatchLocation location_of(int64_t linear, const Index3& shape) const;
  bool centre_fits(int64_t linear, const Index3& shape) const;

  Index3 size_;
  std::vector<double> probabilities_;  // empty: label > 0
};

// nnU-Net foreground oversampling: with probability `fraction` a class is chosen uniformly
// among the classes present, then one of its voxels uniformly, and the patch is placed with
// that voxel at its centre, shifted as little as needed to fit (so the voxel stays inside);
// otherwise (or for a volume without foreground) the patch is uniform.
class ForegroundOversampler : public PatchSampler {
 public:
  ForegroundOversampler(Index3 size, double fraction);
  PatchLocation draw(const VolumeView& v, Rng& rng) const override;

 private:
  Index3 size_;
  double fraction_;
};

// T consecutive whole slices (k0 .. k0+T-1, in order: crop() returns image (C, T, Y, X)), for
// Spider U-Net / FCN-RNN sequences; T = 1 gives plain 2D slices. With probability
// `foreground_fraction` the sequence is centred on a foreground slice s (k0 = s - floor(T/2)),
// chosen uniformly among the foreground slices where that fits, else among all foreground
// slices with k0 clamped into the volume; otherwise k0 is uniform over the Z - T + 1 starts.
class SliceSequenceSampler : public PatchSampler {
 public:
  SliceSequenceSampler(int64_t length, double foreground_fraction);
  PatchLocation draw(const VolumeView& v, Rng& rng) const override;

 private:
  int64_t length_;
  double fg_fraction_;
};

// TorchIO Queue(samples_per_volume=N, max_length, shuffle_subjects, shuffle_patches), written as
// a plan: one epoch is a list of (volume, location), built before any patch is cropped, so a
// loader can crop entry i in any thread and still deliver the same patches in the same order.
// Subjects are permuted (if shuffle_subjects); each contributes N consecutive draw_many() draws;
// the list is cut into windows of max_length patches, each shuffled (if shuffle_patches), the
// queue TorchIO fills and pops. (TorchIO may also let one window straddle two epochs; here
// windows end at the epoch, so every volume gives exactly N patches per epoch.)
struct QueueOptions {
  int64_t samples_per_volume = 10;  // N patches drawn from each volume per epoch
  int64_t max_length = 100;         // queue length: the window patches are shuffled within
  bool shuffle_subjects = true;     // a new volume order every epoch
  bool shuffle_patches = true;      // shuffle within each window
};

struct PlannedPatch {
  size_t volume = 0;  // index into the volumes given to plan_queue_epoch
  PatchLocation where;
};

std::vector<PlannedPatch> plan_queue_epoch(const std::vector<VolumeView>& volumes,
                                           const PatchSampler& sampler, const QueueOptions& options,
                                           Rng& rng);

// Sequential convenience over plan_queue_epoch: epoch e is planned with Rng(derive(seed, e)).
// Not thread-safe. `volumes` and `sampler` must outlive the queue.
class PatchQueue {
 public:
  PatchQueue(const std::vector<VolumeView>& volumes, const PatchSampler& sampler,
             QueueOptions options, uint64_t seed);
  struct Item {
    Patch patch;
    PlannedPatch plan;
    int64_t epoch = 0;
  };
  Item next();
  int64_t patches_per_epoch() const;

 private:
  const std::vector<VolumeView>& volumes_;
  const PatchSampler& sampler_;
  QueueOptions options_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  size_t cursor_ = 0;
  std::vector<PlannedPatch> plan_;
};

}  // namespace orch
