// The hepatic_vessel kind: the Medical Segmentation Decathlon's Task08_HepaticVessel in its
// release layout (docs/DATASETS.md section 2): Task*/{imagesTr,labelsTr,imagesTs,dataset.json}.
// The training list of dataset.json names the labelled cases. Labels: 0 background, 1 vessel,
// 2 tumour.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/datasets/dataset.h"
#include "datastore/formats/volume.h"

namespace orch {

class HepaticVesselDataset : public DatasetAdapter {
 public:
  explicit HepaticVesselDataset(std::filesystem::path root);
  std::vector<CaseRef> cases() const override;
  Case load(const CaseRef& ref) const override;

 private:
  std::filesystem::path root_;
};

// The hepatic_vessel kind: the adapter above, its phantom, no options, random split only.
DatasetKind hepatic_vessel_kind();

// "./imagesTr/hepaticvessel_001.nii.gz" -> "hepaticvessel_001" (MSD file name to case id).
std::string msd_case_id(const std::string& path);

// --- phantom (phantom.cpp) ---
// Synthetic data written in the publisher's exact layout and formats, so that the real reader
// is exercised end to end. Deterministic: the same options give the same bytes.

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
