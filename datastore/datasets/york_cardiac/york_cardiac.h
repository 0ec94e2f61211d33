// York cardiac MRI (docs/DATASETS.md section 3): sol_yxzt_patN.mat and manual_seg_32points_patN.mat
// read through matio; the LV wall is fill(epicardium) minus fill(endocardium).
//
// A case is one (patient, frame): id "patN_tTT" (TT = 1-based frame, two digits), group "patN", so
// that splits keep a patient's frames together. Only frames where some slice has a contour are
// cases. The image is that frame's Z slices with i = x (column), j = y (row), k = slice; label 1
// is the LV wall, slices without contours are all 0. The .mat files carry no spacing: it comes
// from the dataset option `spacing: [sx, sy, sz]` (mm, default kYorkDefaultSpacing).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/datasets/dataset.h"

namespace orch {

// Plausible for the real data (about 0.93-1.64 mm in-plane, 6-13 mm between slices; unverified).
inline constexpr std::array<double, 3> kYorkDefaultSpacing = {1.5, 1.5, 8.0};

// The value the real files store in a cell without a contour.
inline constexpr double kYorkMissingContour = -99999.0;

class YorkDataset : public DatasetAdapter {
 public:
  // Finds sol_yxzt_patN.mat / manual_seg_32points_patN.mat anywhere under `root` (flat, or in
  // the distribution's mrimages/ and manual_seg/ folders). Patients without both are skipped.
  YorkDataset(std::filesystem::path root, std::array<double, 3> spacing);
  std::vector<CaseRef> cases() const override;   // reads every segmentation file
  Case load(const CaseRef& ref) const override;  // reads one frame of the image

 private:
  std::filesystem::path root_;
  std::array<double, 3> spacing_;
};

// The LV-wall mask of one 65x2 contour cell (column-major MATLAB data: 65 x values, then 65 y
// values; 1-based). Row-major width x height result, 1 = fill(epi) minus fill(endo).
std::vector<std::uint8_t> york_wall_mask(const std::vector<double>& cell, int width, int height);

// For `orch inspect`: variables of a York .mat file (name, class, dims), and for a cell array the
// number of contoured and missing cells and the contoured cells per frame (column), for a numeric
// array min/max/mean. Throws orch::Error naming the file when it cannot be read.
nlohmann::json inspect_york_mat(const std::string& path);

// Writes a York phantom under `root`: for each of options.cases patients, sol_yxzt_patN.mat
// (double, size[1] x size[0] x Z x 20 with Z in 8..15) and manual_seg_32points_patN.mat (a Z x 20
// cell array of 65x2 contours, -99999 where a slice has none). MATLAB v5, uncompressed, with a
// fixed header text: the same options give the same bytes. Returns the number of labelled cases
// (patient frames).
int write_york_cardiac_phantom(const std::filesystem::path& root, const PhantomOptions& options);

DatasetKind york_cardiac_kind();

}  // namespace orch
