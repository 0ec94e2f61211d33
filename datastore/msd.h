// Medical Segmentation Decathlon layout (DATASETS.md section 2): Task*/{imagesTr,labelsTr,
// imagesTs,dataset.json}. The training list of dataset.json names the labelled cases.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "datastore/dataset.h"

namespace orch {

class MsdDataset : public DatasetAdapter {
 public:
  explicit MsdDataset(std::filesystem::path root);
  std::vector<CaseRef> cases() const override;
  Case load(const CaseRef& ref) const override;

 private:
  std::filesystem::path root_;
};

// The hepatic_vessel kind: MSD Task08 with the hepatic-vessel phantom (phantom.h).
DatasetKind hepatic_vessel_kind();

// "./imagesTr/hepaticvessel_001.nii.gz" -> "hepaticvessel_001".
std::string msd_case_id(const std::string& path);

}  // namespace orch
