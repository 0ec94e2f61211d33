// ISBI 2015 longitudinal MS lesions (docs/DATASETS.md section 5):
//   training/trainingNN/preprocessed/trainingNN_MM_{flair,mprage,pd,t2}_pp.nii
//   training/trainingNN/masks/trainingNN_MM_mask{1,2}.nii   (one mask per rater)
// A case is one (patient, timepoint), id "trainingNN_MM", group "trainingNN": a split never
// divides a patient. Patients and timepoints are discovered by listing, never assumed.
//
// Options (DatasetConfig.options):
//   channel: flair | mprage | t2 | pd (default flair), "all" (= [flair, mprage, t2, pd]), or a
//            list of distinct channel names; the image's channels follow the list's order.
//   rater:   1 | 2 (default 1) picks that rater's mask; "consensus" keeps only the voxels both
//            raters marked (the intersection).
// The label is 0 background, 1 lesion (any nonzero mask value is a lesion). Images are float as
// read (scaled values); geometry is the NIfTI's RAS affine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/datasets/dataset.h"

namespace orch {

DatasetKind isbi_ms_kind();

// The four preprocessed channels in the order "all" uses: flair, mprage, t2, pd.
const std::vector<std::string>& isbi_channels();

// "training" + two-digit number (wider when needed): isbi_patient(3) = "training03".
std::string isbi_patient(int number);
// root/training/<patient>/preprocessed/<patient>_<tp>_<channel>_pp.nii; tp is "01", "02", ...
std::filesystem::path isbi_image_path(const std::filesystem::path& root, const std::string& patient,
                                      const std::string& timepoint, const std::string& channel);
// root/training/<patient>/masks/<patient>_<tp>_mask<rater>.nii
std::filesystem::path isbi_mask_path(const std::filesystem::path& root, const std::string& patient,
                                     const std::string& timepoint, int rater);

// Writes an ISBI-layout phantom under `root`: options.cases patients with 2-5 timepoints each
// (deterministic per patient), four skull-stripped brain MRI channels (float32) with
// periventricular lesions that persist and grow across timepoints, and two rater masks (uint8) that
// differ slightly. The grid keeps the real field of view (181 x 217 x 181 mm, the MNI grid of the
// real data at 1 mm) with spacing FOV / size. Returns the number of labelled cases (timepoints).
// The same options give the same bytes. Throws orch::Error on bad options.
int write_isbi_ms_phantom(const std::filesystem::path& root, const PhantomOptions& options);

}  // namespace orch
