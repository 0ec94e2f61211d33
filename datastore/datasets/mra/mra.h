// Brain TOF-MRA in the TopCoW 2023 layout (docs/DATASETS.md section 4):
// imagesTr/topcow_mr_{id}_0000.nii.gz with cow_seg_labelsTr/topcow_mr_{id}.nii.gz. The label files
// hold Circle-of-Willis segments (kTopcowSegments); the adapter binarises them: vessel (1) wherever
// the value is > 0. Case ids are "topcow_mr_{id}" with the id as written (3 digits in the release;
// any width is accepted). Files whose names start with '.' or '_' and the CT images (topcow_ct_*)
// are skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "datastore/datasets/dataset.h"

namespace orch {

// TopCoW's multiclass label values (13 and 14 are unused in the MR labels).
inline const std::vector<std::pair<int, const char*>> kTopcowSegments = {
    {1, "BA"},     {2, "R-PCA"},  {3, "L-PCA"},  {4, "R-ICA"},  {5, "R-MCA"},
    {6, "L-ICA"},  {7, "L-MCA"},  {8, "R-Pcom"}, {9, "L-Pcom"}, {10, "Acom"},
    {11, "R-ACA"}, {12, "L-ACA"}, {15, "3rd-A2"}};

class MraDataset : public DatasetAdapter {
 public:
  explicit MraDataset(std::filesystem::path root);
  std::vector<CaseRef> cases() const override;   // throws when an image lacks its label
  Case load(const CaseRef& ref) const override;  // label: 0 background, 1 vessel

 private:
  std::filesystem::path root_;
};

// "topcow_mr_001_0000.nii.gz" -> "topcow_mr_001"; "" for any other name.
std::string topcow_case_id(const std::string& image_name);

// The kind "mra": the adapter above, its phantom, no options, random split only.
DatasetKind mra_kind();

// --- phantom (mra_phantom.cpp) ---

// One phantom case in memory: TOF-like int16 intensities and TopCoW segment labels (0 = none).
struct MraPhantomCase {
  Volume image;
  std::vector<std::uint8_t> label;
};

// Case `id` (1-based) of a phantom with `options` (size, seed). Vessels fill 0.45-0.75% of the
// volume from 64 voxels wide up (radii scale with the size); narrower volumes hold more (up to
// ~2% at 32x32x8), since no radius goes below one voxel. Sizes below 32x32x8 throw.
MraPhantomCase make_mra_case(const PhantomOptions& options, int id);

// Writes imagesTr/topcow_mr_NNN_0000.nii.gz (int16) and cow_seg_labelsTr/topcow_mr_NNN.nii.gz
// (uint8 segment values) for ids 1..cases under `root`. Returns the number of cases.
int write_mra_phantom(const std::filesystem::path& root, const PhantomOptions& options);

}  // namespace orch
