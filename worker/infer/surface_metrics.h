// Surface-distance metrics of a predicted mask against a reference, in millimetres: HD95, ASSD and
// surface Dice (NSD) at a tolerance, following MONAI's HausdorffDistanceMetric /
// SurfaceDistanceMetric / compute_surface_dice on voxel borders (docs/MODELS.md section 12).
//
// Volumes are in NIfTI memory order (datastore/formats/volume.h): voxel (i, j, k) sits at
// data[(k * nj + j) * ni + i], dims = (ni, nj, nk), spacing = (si, sj, sk) mm.
//
// Definitions:
//   border(M)  = M XOR erosion(M) with the 6-neighbour cross, voxels outside the image counting
//                as background (SciPy's binary_erosion defaults), so a mask touching the image edge
//                has a border there.
//   d_pr       = for every pred border voxel, the Euclidean distance (mm) to the nearest reference
//                border voxel; d_rp the other way round.
//   HD95       = max(q95(d_pr), q95(d_rp)), q95 with linear interpolation (torch.quantile).
//   ASSD       = (sum d_pr + sum d_rp) / (n_pred_border + n_ref_border)  (both directions pooled).
//   NSD(tau)   = (#{d_rp <= tau} + #{d_pr <= tau}) / (n_ref_border + n_pred_border), unweighted
//                border-voxel counts (MONAI compute_surface_dice, use_subvoxels=False).
//
// Empty-mask policy (README.md "Metrics and the empty-mask policy", docs/MODELS.md section 12):
//   both masks empty      -> HD95, ASSD and NSD are NaN (undefined; aggregates skip them).
//   exactly one empty     -> HD95 = ASSD = +inf (no surface to reach), NSD = 0.
// +inf is stored as SQLite REAL Inf (sqlite3_bind_double keeps it) and carried in JSON as the
// string "inf"; means (mean_std) are taken over finite values only, and summaries also report how
// many values were infinite.
//
// Every function is pure and thread-safe; no state is kept between calls.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/metrics/confusion.h"

namespace orch {

using Dims3 = std::array<std::int64_t, 3>;  // (ni, nj, nk)
using Spacing3 = std::array<double, 3>;     // mm along i, j, k

struct SurfaceMetrics {
  double hd95 = nan_value();  // mm
  double assd = nan_value();  // mm
  double nsd = nan_value();   // surface Dice at the tolerance, in [0, 1]
};

// Border voxels (1) of a binary mask (nonzero = foreground), same layout as `mask`.
std::vector<std::uint8_t> border_voxels(const std::uint8_t* mask, const Dims3& dims);

// Exact squared Euclidean distance (mm^2) from every voxel to the nearest nonzero voxel of
// `sites`, by separable Felzenszwalb-Huttenlocher lower envelopes of parabolas along i, j, k with
// the spacing as weights. +inf everywhere when `sites` has no nonzero voxel.
std::vector<double> squared_edt(const std::uint8_t* sites, const Dims3& dims,
                                const Spacing3& spacing);

// The 95th (or any q in [0, 1]) percentile with linear interpolation between order statistics,
// like torch.quantile / numpy's default. NaN for an empty vector. Reorders `values`.
double quantile_linear(std::vector<double>& values, double q);

// Surface metrics of binary masks (nonzero = foreground). The work is cropped to the union
// bounding box plus a one-voxel margin, which changes no value (see the .cpp). Throws orch::Error
// on non-positive dims or spacing, or a negative or non-finite tolerance.
SurfaceMetrics surface_metrics(const std::uint8_t* pred, const std::uint8_t* ref, const Dims3& dims,
                               const Spacing3& spacing, double tolerance_mm);

// The same for one class of two label maps: foreground is voxel == label.
SurfaceMetrics surface_metrics_for_label(const std::uint8_t* pred_labels,
                                         const std::uint8_t* ref_labels, std::uint8_t label,
                                         const Dims3& dims, const Spacing3& spacing,
                                         double tolerance_mm);

}  // namespace orch
