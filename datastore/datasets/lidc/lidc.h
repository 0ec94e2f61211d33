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
//
// Slice unit (option `unit: slice`, the RB-CBAM paper's 2-D nodule images): a case is one axial
// slice k of a scan that holds part of a nodule whose diameter is >= `min_diameter_mm`. The XML
// carries no diameter, so: a nodule is a 26-connected component of one reader cluster's consensus
// (lidc_nodules, lidc_components; a cluster that pylidc's tolerance could not split, e.g. two
// touching nodules, gives its parts separately), and its diameter is the largest in-plane extent
// of its voxels over all its slices (lidc_max_extent_mm: the farthest two points of its pixels on
// one slice, each pixel its spacing wide). Every slice of a large enough nodule is a case, its
// thin end slices included. id = "<volume case id>_z<k>" (k zero-padded to 3 digits), group = the
// patient folder, files = the scan's files (as for the volume case). The loaded case is
// ni x nj x 1: slice k of the volume case's image and label (the label holds every nodule's
// consensus on that slice, smaller ones included), same spacing, the affine moved to slice k.
// cases() builds each scan's consensus once (remembered per scan by the adapter); load() keeps
// the last scan it read, so loading a scan's slices in id order reads the series once.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/datasets/dataset.h"
#include "datastore/formats/lidc_xml.h"

namespace orch {

enum class LidcUnit { kVolume, kSlice };

struct LidcOptions {
  double consensus = 0.5;  // pylidc clevel, (0, 1]
  // A series with uneven slice positions is an error instead of a warning (the masks follow the
  // DICOM slices, so orch never resamples a LIDC series itself).
  bool refuse_gaps = false;
  LidcUnit unit = LidcUnit::kVolume;
  double min_diameter_mm = 3.0;  // slice unit: the smallest nodule whose slices are cases
};

class LidcDataset : public DatasetAdapter {
 public:
  LidcDataset(std::filesystem::path root, LidcOptions options);
  LidcDataset(std::filesystem::path root, double consensus, bool refuse_gaps = false);
  std::vector<CaseRef> cases() const override;
  Case load(const CaseRef& ref) const override;

 private:
  struct Scan;  // a scan's volume case, grid and nodules (adapter.cpp)
  std::shared_ptr<Scan> read_scan(const std::string& xml, const std::string& id) const;
  std::vector<int> nodule_slices(const CaseRef& volume) const;

  std::filesystem::path root_;
  LidcOptions options_;
  mutable std::mutex mutex_;                                // guards the two below
  mutable std::map<std::string, std::vector<int>> slices_;  // XML path -> nodule slices
  mutable std::shared_ptr<const Scan> last_;                // the last scan load() read
};

// Writes a LIDC phantom under `root`: per patient a chest CT series (int16, RescaleIntercept
// -1024) in root/LIDC-IDRI-NNNN/<study uid>/<series uid>/ with the XML of 1-4 readers beside it.
// The same options give the same bytes. Returns the number of cases (patients).
int write_lidc_phantom(const std::filesystem::path& root, const PhantomOptions& options);

// Dataset options: `consensus` in (0, 1], default 0.5; `slice_gaps`: warn (default) or refuse;
// `unit`: volume (default, a case per scan) or slice (a case per nodule slice, above);
// `min_diameter_mm`: finite, >= 0, default 3.0, only with unit slice.
DatasetKind lidc_kind();

}  // namespace orch
