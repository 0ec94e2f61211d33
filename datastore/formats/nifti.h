// NIfTI-1 and NIfTI-2 reading and writing through niftilib (nifti2_io), `.nii` and `.nii.gz`,
// either byte order. The world affine follows nibabel's rule (docs/DATASETS.md): the sform if
// sform_code > 0, else the qform if qform_code > 0, else the pixdim diagonal. Values are scaled
// by scl_slope/scl_inter unless the slope is 0 or not finite.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "datastore/formats/volume.h"

namespace orch {

struct NiftiImage {
  std::vector<std::int64_t> shape;    // dim[1..ndim], file index order (i, j, k[, t])
  std::string dtype;                  // on-disk type as numpy names it: int16, uint8, float32, ...
  int version = 1;                    // 1 or 2
  std::array<double, 3> spacing{};    // pixdim[1..3], mm
  Affine affine{};                    // RAS world affine (nibabel rule)
  std::vector<float> data;            // scaled values in file memory order (i fastest)
  double min = 0, max = 0, mean = 0;  // of the scaled values, accumulated in double
};

// Reads header and data. Throws orch::Error naming the file on any failure.
NiftiImage read_nifti(const std::string& path);

// A 3D image becomes a one-channel volume; a 4D image's 4th dimension becomes channels.
Volume to_volume(NiftiImage image);

// Reads a label map: values must be whole numbers in 0..255 and the shape must equal `dims`
// (the image's). Throws orch::Error naming the file otherwise.
std::vector<std::uint8_t> read_nifti_label(const std::string& path,
                                           const std::array<std::int64_t, 3>& dims);

struct NiftiWriteOptions {
  std::string dtype = "float32";  // uint8, int16, int32, float32, float64
  int version = 1;                // 1 or 2
  double scl_slope = 0.0;         // 0: no scaling stored
  double scl_inter = 0.0;
  std::string description;  // header `descrip`, truncated to 79 characters
};

// Writes `data` (file memory order, already in the dtype's value range) with `affine` as both the
// sform and the qform (codes 1), through a temporary file and an atomic rename. The suffix of
// `path` (.nii or .nii.gz) selects compression. Throws orch::Error naming the file.
void write_nifti(const std::string& path, const std::vector<std::int64_t>& shape,
                 const std::vector<float>& data, const std::array<double, 3>& spacing,
                 const Affine& affine, const NiftiWriteOptions& options = {});

}  // namespace orch
