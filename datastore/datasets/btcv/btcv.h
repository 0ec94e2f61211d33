// BTCV / Synapse multi-organ abdominal CT (docs/DATASETS.md section 1):
// RawData/Training/img/img0001.nii.gz with RawData/Training/label/label0001.nii.gz (labels 0..13,
// see kBtcvLabels); RawData/Testing/img/ holds unlabelled images, which the adapter ignores.
// Case ids are the image names without suffix ("img0001"), so the id names the file it came from.
//
// Split schemes:
//   random   make_split over the labelled cases.
//   synapse  TransUNet's lists_Synapse: 18 train, 12 test. The lists have no validation part, but
//            the trainer needs one for early stopping: val takes the LAST cases (sorted ids) of the
//            train list present, SplitOptions.val of them (a count when >= 1, else a share of the
//            present train cases, rounded, at least one when val > 0 and at least one train case
//            stays). Seed-independent.
//   monai    MONAI's dataset_0.json: train 0001-0010 and 0021-0034, val 0035-0040. MONAI reports
//            its validation Dice, so test = val (the same six cases).
// Both published schemes keep only the cases present (named_split): the phantom numbers its
// cases so that any phantom of two or more cases holds cases of every part (btcv_phantom_numbers).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "datastore/datasets/dataset.h"

namespace orch {

// Label values 0..13 in file order.
inline const std::array<const char*, 14> kBtcvLabels = {"background",
                                                        "spleen",
                                                        "right kidney",
                                                        "left kidney",
                                                        "gallbladder",
                                                        "esophagus",
                                                        "liver",
                                                        "stomach",
                                                        "aorta",
                                                        "inferior vena cava",
                                                        "portal and splenic veins",
                                                        "pancreas",
                                                        "right adrenal gland",
                                                        "left adrenal gland"};

class BtcvDataset : public DatasetAdapter {
 public:
  // `root` holds RawData/ (or is the RawData folder itself).
  explicit BtcvDataset(std::filesystem::path root);
  std::vector<CaseRef> cases() const override;   // throws when an image lacks its label
  Case load(const CaseRef& ref) const override;  // throws on labels outside 0..13
  Split split(const std::vector<CaseRef>& cases, const SplitOptions& options) const override;

 private:
  std::filesystem::path training_;  // .../RawData/Training
};

// 5 -> "img0005".
std::string btcv_case_id(int number);

// The published lists as case numbers (docs/DATASETS.md section 1).
struct BtcvLists {
  std::vector<int> synapse_train, synapse_test, monai_train, monai_val;
};
const BtcvLists& btcv_lists();

// The kind "btcv": the adapter above, its phantom, no options, schemes random/synapse/monai.
DatasetKind btcv_kind();

// --- phantom (btcv_phantom.cpp) ---

// One phantom case in memory: int16-range HU values and labels 0..13.
struct BtcvPhantomCase {
  Volume image;
  std::vector<std::uint8_t> label;
};

// The case numbers of a phantom of `cases` labelled cases, sorted. They follow the real numbering
// (0001-0010, 0021-0040), drawn round-robin from the four (synapse part x monai part) groups so
// that every scheme finds train and test cases; beyond 30 cases 0041-0060 follow, which no list
// names. Throws orch::Error for fewer than 1 or more than 50 cases.
std::vector<int> btcv_phantom_numbers(int cases);

// Case `number` of a phantom with `options` (size, seed): an abdominal CT slab with the 13 organs,
// each present in every case (minimum radii in voxels keep the adrenals and the esophagus;
// checked over 1,200 cases at 64x64x24 and at sizes from 32x32x8). Sizes below 32x32x8 throw.
BtcvPhantomCase make_btcv_case(const PhantomOptions& options, int number);

// Writes RawData/Training/{img,label}/ and max(1, cases / 5) unlabelled RawData/Testing/img/
// images (img0061...) under `root`. Returns the number of labelled cases.
int write_btcv_phantom(const std::filesystem::path& root, const PhantomOptions& options);

}  // namespace orch
