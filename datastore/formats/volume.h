// In-memory image volumes and cases, in NIfTI's memory order so that files map onto them without
// reordering: voxel (i, j, k) of channel c sits at data[((c * nk + k) * nj + j) * ni + i]. As a
// torch tensor the same buffer is (C, K, J, I), i.e. (C, Z, Y, X) for an axial series.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace orch {

// 4x4 row-major affine mapping voxel indices (i, j, k, 1) to RAS+ world millimetres.
using Affine = std::array<std::array<double, 4>, 4>;

inline Affine identity_affine() {
  return {{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}};
}

struct Volume {
  std::array<std::int64_t, 3> dims{};      // (ni, nj, nk)
  std::int64_t channels = 1;               // a 4th NIfTI dimension becomes channels
  std::array<double, 3> spacing{1, 1, 1};  // mm along i, j, k
  Affine affine = identity_affine();       // voxel -> RAS world
  std::vector<float> data;                 // channels * nk * nj * ni values

  std::int64_t voxels() const { return dims[0] * dims[1] * dims[2]; }
};

// One labelled case of a dataset, as an adapter returns it.
struct Case {
  std::string id;                   // publisher's case id, e.g. "hepaticvessel_001"
  Volume image;                     // float intensities (HU for CT)
  std::vector<std::uint8_t> label;  // one class per voxel, same (ni, nj, nk) as image
};

}  // namespace orch
