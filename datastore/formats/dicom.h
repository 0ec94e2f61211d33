// DICOM series reading through GDCM (docs/DATASETS.md, "NIfTI and DICOM rules"). A series is the
// set of files in a folder that share a SeriesInstanceUID. Slices are sorted by
// ImagePositionPatient projected on the slice normal (row cosine x column cosine); the slice
// spacing comes from those positions (the median step), never from SliceThickness, except for a
// one-slice series, which has no step and takes SliceThickness (else 1 mm). Pixel values are stored
// values x RescaleSlope + RescaleIntercept (HU for CT), decoded through GDCM for every transfer
// syntax it supports (RLE, JPEG lossless, JPEG-LS, JPEG 2000, both byte orders, implicit VR).
// Affines are RAS+: the LPS patient frame with its x and y rows negated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/formats/volume.h"

namespace orch {

// What to do when the positions are not evenly spaced (a gap, or a varying step).
enum class NonUniformPolicy {
  kWarn,      // log a warning and keep the slices as they are (spacing = median step)
  kResample,  // resample linearly onto an even grid at the median step
  kRefuse,    // throw orch::Error describing the positions
};

struct DicomSeriesOptions {
  std::string series_uid;  // the series to read; "" = the folder must hold exactly one series
  NonUniformPolicy non_uniform = NonUniformPolicy::kWarn;
  double tolerance = 0.01;  // relative difference from the median step that counts as uneven
};

struct DicomSlice {
  std::string file;                  // path
  std::string sop_instance_uid;      // SOPInstanceUID
  int instance_number = 0;           // InstanceNumber (0 when absent)
  std::array<double, 3> position{};  // ImagePositionPatient, LPS mm
  double normal_position = 0;        // position projected on the slice normal
};

struct DicomSeries {
  Volume volume;                   // (columns, rows, slices), rescaled values, RAS affine
  std::string series_uid;          // SeriesInstanceUID
  std::string study_uid;           // StudyInstanceUID
  std::string modality;            // e.g. "CT"
  std::string transfer_syntax;     // UID of the first file
  std::vector<DicomSlice> slices;  // kept slices, in sorted order (volume k index unless resampled)
  std::vector<double> steps;       // normal_position differences between consecutive slices
  double median_step = 0;          // median of `steps` (mean of the middle two for an even count)
  bool uniform = true;             // every step within tolerance of the median
  bool resampled = false;          // kResample rebuilt the volume on an even grid; then `slices`
                                   // and `steps` describe the source files, not the k index
  int duplicates_dropped = 0;      // slices sharing a position with a lower InstanceNumber
  std::vector<std::string> warnings;  // gaps, uneven steps, dropped duplicates
};

// One decoded DICOM image (a single file), for tests and for `orch inspect` on a file.
struct DicomImage {
  std::int64_t columns = 0, rows = 0, frames = 1;
  std::string transfer_syntax;  // UID
  std::string photometric;      // e.g. MONOCHROME2
  int bits_stored = 0, pixel_representation = 0;
  double slope = 1, intercept = 0;
  // Rescaled, row-major (column index fastest), frame after frame. MONOCHROME1 is not inverted:
  // the values keep their meaning, only the display differs.
  std::vector<float> values;
};

// Series UIDs found in `dir` (non-recursive), sorted. Files that are not DICOM are skipped.
std::vector<std::string> dicom_series_uids(const std::string& dir);

// Reads one series from `dir`. Throws orch::Error naming the folder (and file) when it holds no
// or several series without a chosen one, when the slices differ in orientation or size (not
// stackable), when a pixel format is unsupported, or as the non-uniform policy says.
DicomSeries read_dicom_series(const std::string& dir, const DicomSeriesOptions& options = {});

// Decodes a single file. Throws orch::Error naming the file.
DicomImage read_dicom_image(const std::string& path);

// Geometry and value facts of a series folder for `orch inspect`: series_uid, modality,
// transfer_syntax, shape, spacing, affine (RAS), slice positions, uniform, gaps (steps that
// differ from the median), min, max, mean and warnings.
nlohmann::json inspect_dicom(const std::string& dir);

// Writes `volume` (one channel, HU) as a CT series, one file per k slice, explicit VR little
// endian, int16 stored values with RescaleIntercept `intercept` and slope 1, positions and
// orientation taken from the RAS affine. Used by the LIDC phantom. Files are named
// "<prefix>NNNN.dcm" in `dir` (NNNN = k + 1, zero padded to 4 digits), created if missing;
// returns the SOPInstanceUIDs in k order. Stored values are round(value - intercept), clamped to
// int16. The affine's k column must be parallel to the slice normal (row x column direction),
// i.e. no sheared stacks; a k column along +normal reads back with the same affine, one along
// -normal reads back flipped in k (same world geometry). `volume.spacing` is not used: the
// affine carries the spacings.
// UIDs: study = `<uid_root>.1`, series = `<uid_root>.2` unless given, frame of reference =
// `<series>.0`, SOPInstanceUID = `<series>.<k+1>`; so give every series its own uid_root (or
// series_uid). Nothing depends on the clock, so the same input gives the same bytes. Throws
// orch::Error naming the file or the bad argument.
struct DicomWriteOptions {
  std::string uid_root = "1.2.826.0.1.3680043.10.1149";  // a UID prefix for generated UIDs
  std::string study_uid, series_uid;                     // "" = derived from uid_root
  std::string patient_id = "ORCH-PHANTOM";
  std::string prefix = "";                // file name prefix
  double intercept = -1024;               // RescaleIntercept
  bool reverse_instance_numbers = false;  // number slices from the top, as many scanners do
};
std::vector<std::string> write_dicom_series(const std::string& dir, const Volume& volume,
                                            const DicomWriteOptions& options = {});

}  // namespace orch
