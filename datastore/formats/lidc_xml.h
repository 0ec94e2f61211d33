// LIDC-IDRI reader XML (docs/DATASETS.md section 6): parsing, and the nodule label built from
// the readers' contours over a DICOM series' slices. The dataset adapter is in
// datastore/datasets/lidc/lidc.h.
//
// Label, following pylidc (Annotation.boolean_mask, Scan.cluster_annotations, utils.consensus):
//  1. Each reader's >= 3 mm nodule (a complete characteristics block) is one annotation. A roi is
//     placed on the slice with its imageSOP_UID, else on the slice whose ImagePositionPatient z
//     is nearest to imageZposition (within a quarter of the slice step); rois on no slice are
//     dropped with a warning.
//  2. Annotation mask, per slice: fill each inclusion polygon (edgeMap points are pixel indices,
//     x = column, y = row; fill_polygon's pixel-centre rule) and then clear the polygon's own
//     points, because LIDC outlines are drawn just outside the nodule; then clear the filled
//     interior and the points of each exclusion polygon.
//  3. Annotations are clustered into nodules: two are adjacent when some contour points lie
//     within `tol` mm (x, y scaled by the pixel spacing, z = imageZposition); clusters are the
//     connected components. tol starts at the in-plane pixel spacing and shrinks by 0.9 while a
//     cluster holds more annotations than the scan has readers (pylidc: more than 4).
//  4. Per cluster, a voxel is nodule when at least `consensus` of the cluster's annotations mark
//     it (pylidc consensus(clevel)); the label (0/1) is the union over clusters.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace orch {

// One contour of a nodule on one slice.
struct LidcRoi {
  double z = 0;                            // imageZposition (mm)
  std::string sop_uid;                     // imageSOP_UID
  bool inclusion = true;                   // inclusion TRUE (nodule) / FALSE (hole)
  std::vector<std::array<int, 2>> points;  // edgeMap (xCoord = column, yCoord = row), 0-based
};

// One reader's annotation of one nodule of >= 3 mm.
struct LidcNodule {
  std::string id;                              // noduleID, unique only within a reading session
  int reader = 0;                              // index of the readingSession in the file
  std::map<std::string, int> characteristics;  // the nine LIDC ratings
  std::vector<LidcRoi> rois;                   // rois with two or more edge points, file order
};

struct LidcRead {
  std::string series_uid;           // ResponseHeader/SeriesInstanceUid
  std::string study_uid;            // ResponseHeader/StudyInstanceUID
  int readers = 0;                  // readingSession elements
  std::vector<LidcNodule> nodules;  // >= 3 mm nodules only, in file order
  int small_nodules = 0;            // < 3 mm nodules skipped (no complete characteristics)
  int dropped_rois = 0;             // rois with one edge point or fewer
};

// The nine characteristics a >= 3 mm nodule carries.
const std::vector<std::string>& lidc_characteristics();

// Parses LIDC XML text; `source` names it in errors. Elements are matched by local name, so the
// default namespace (xmlns="http://www.nih.gov") and prefixed forms both parse. Throws
// orch::Error for malformed XML, another root element, or a bad number.
LidcRead parse_lidc_xml(const std::string& text, const std::string& source);
LidcRead read_lidc_xml(const std::filesystem::path& path);
// True when `path` is well-formed XML whose root element is LidcReadMessage.
bool is_lidc_xml(const std::filesystem::path& path);

// A slice of the volume, as rois are matched to it (k = index in the list).
struct LidcSlice {
  std::string sop_uid;  // SOPInstanceUID
  double z = 0;         // ImagePositionPatient z (mm)
};

// The geometry the masks are drawn on.
struct LidcGrid {
  int ni = 0, nj = 0;                         // columns, rows
  std::vector<LidcSlice> slices;              // nk slices in volume order
  std::array<double, 2> pixel_spacing{1, 1};  // mm along i (columns) and j (rows)
};

// The slice index a roi belongs to, or -1 (SOP UID first, then z within a quarter step).
int lidc_match_slice(const LidcRoi& roi, const LidcGrid& grid);

// Voxel indices ((k * nj + j) * ni + i, sorted, unique) of one annotation's mask (step 2 above).
// Rois that match no slice are skipped and counted in `*unmatched` when given.
std::vector<std::int64_t> lidc_annotation_mask(const LidcNodule& nodule, const LidcGrid& grid,
                                               int* unmatched = nullptr);

// Step 3: groups of indices into `nodules`, each group sorted, groups ordered by first index.
// `max_size` < 1 means 4, as in pylidc.
std::vector<std::vector<int>> lidc_cluster(const std::vector<LidcNodule>& nodules,
                                           const LidcGrid& grid, int max_size);

// Step 4 for one cluster: voxels present in at least `level` (0, 1] of `masks`, sorted.
std::vector<std::int64_t> lidc_consensus(const std::vector<std::vector<std::int64_t>>& masks,
                                         double level);

// Steps 1-4 per nodule: for each cluster of lidc_cluster (same order), the voxel indices of its
// consensus (sorted; empty when no voxel reaches `level`). lidc_label is their union.
std::vector<std::vector<std::int64_t>> lidc_nodules(const LidcRead& read, const LidcGrid& grid,
                                                    double level,
                                                    std::vector<std::string>* warnings = nullptr);

// Steps 1-4: the 0/1 label of `read` over `grid` (ni * nj * nk voxels).
std::vector<std::uint8_t> lidc_label(const LidcRead& read, const LidcGrid& grid, double level,
                                     std::vector<std::string>* warnings = nullptr);

// The 26-connected components of `voxels` (indices as above) over `grid`, each sorted, ordered by
// their first voxel.
std::vector<std::vector<std::int64_t>> lidc_components(const std::vector<std::int64_t>& voxels,
                                                       const LidcGrid& grid);

// The largest in-plane extent of `voxels` (indices as above) on any one slice, in mm: the largest
// distance between two points of the region's pixels on that slice, each pixel a pixel_spacing[0]
// x pixel_spacing[1] rectangle (so a single pixel spans its diagonal). 0 for no voxels. The
// slice-unit LIDC dataset takes it, over a component of a nodule's consensus, as its diameter.
double lidc_max_extent_mm(const std::vector<std::int64_t>& voxels, const LidcGrid& grid);

// Outlines of the 8-connected region holding the first set pixel (raster order) of the row-major
// w x h `mask`, traced clockwise (Moore-neighbour tracing) from that pixel, as closed chains of
// (x, y) pixels. outside = false: the region's own border pixels (an exclusion contour: filled
// and cleared, it removes exactly the region). outside = true: the background pixels bordering
// the region, in order (an inclusion contour as LIDC draws it, just outside the nodule: filled
// minus its own points, it gives back exactly the region when the region has no holes).
std::vector<std::array<int, 2>> lidc_outline(const std::vector<std::uint8_t>& mask, int w, int h,
                                             bool outside);

}  // namespace orch
