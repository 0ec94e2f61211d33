// LIDC-IDRI lung nodules (docs/DATASETS.md section 6): a chest CT DICOM series plus the LIDC XML
// of up to four readers; the label is the pylidc-style consensus of the readers' nodule masks.
//
// Layout (the TCIA download): root/LIDC-IDRI-NNNN/<study>/<series>/*.dcm with one XML file (whose
// root element is LidcReadMessage) in the series folder. A case is one such folder: id = the
// patient folder name ("LIDC-IDRI-0001"; a patient's further scans get "_2", "_3" in path order),
// group = the patient folder, files = the XML first, then the folder's other files, sorted. The
// XML's SeriesInstanceUid chooses the series among the folder's DICOM files.
//
// The label follows pylidc; the XML reader and the four steps that build it are in
// datastore/formats/lidc_xml.h.
#pragma once

#include <filesystem>
#include <vector>

#include "common/config/config.h"
#include "datastore/datasets/dataset.h"
#include "datastore/formats/lidc_xml.h"

namespace orch {

class LidcDataset : public DatasetAdapter {
 public:
  // `refuse_gaps`: a series with uneven slice positions is an error instead of a warning (the
  // masks follow the DICOM slices, so orch never resamples a LIDC series itself).
  LidcDataset(std::filesystem::path root, double consensus, bool refuse_gaps = false);
  std::vector<CaseRef> cases() const override;
  Case load(const CaseRef& ref) const override;

 private:
  std::filesystem::path root_;
  double consensus_;
  bool refuse_gaps_;
};

// Writes a LIDC phantom under `root`: per patient a chest CT series (int16, RescaleIntercept
// -1024) in root/LIDC-IDRI-NNNN/<study uid>/<series uid>/ with the XML of 1-4 readers beside it.
// The same options give the same bytes. Returns the number of cases (patients).
int write_lidc_phantom(const std::filesystem::path& root, const PhantomOptions& options);

// Dataset options: `consensus` in (0, 1], default 0.5; `slice_gaps`: warn (default) or refuse.
DatasetKind lidc_kind();

}  // namespace orch
