// Synthetic datasets written in their publishers' exact layouts and formats, so that the real
// readers are exercised end to end. Deterministic: the same options give the same bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/config.h"
#include "datastore/volume.h"

namespace orch {

// One hepatic-vessel phantom case in memory: CT-like HU values (integers, int16 range) and labels
// 0 background, 1 vessel, 2 tumour.
struct HepaticPhantomCase {
  Volume image;                     // HU, one channel
  std::vector<std::uint8_t> label;  // 0/1/2
};

// Generates case `index` of a phantom with `options` (size, seed).
HepaticPhantomCase make_hepatic_vessel_case(const PhantomOptions& options, int index);

// Writes an MSD Task08_HepaticVessel tree under `root`: imagesTr/hepaticvessel_NNN.nii.gz,
// labelsTr/hepaticvessel_NNN.nii.gz (int16 images, uint8 labels), a few unlabelled imagesTs/
// cases and dataset.json. Returns the number of labelled cases written.
int write_hepatic_vessel_phantom(const std::filesystem::path& root, const PhantomOptions& options);

}  // namespace orch
