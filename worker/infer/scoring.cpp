#include "worker/infer/scoring.h"

#include <algorithm>

#include "common/status.h"
#include "worker/infer/surface_metrics.h"

namespace orch {

std::vector<ConfusionCounts> confusion_counts(const std::uint8_t* prediction,
                                              const std::uint8_t* reference, std::size_t n,
                                              int num_classes) {
  // joint[r][p] histogram, then counts per class from its rows and columns.
  const auto k = static_cast<std::size_t>(num_classes);
  std::vector<std::int64_t> joint(k * k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = reference[i], p = prediction[i];
    if (r < k && p < k) ++joint[r * k + p];
  }
  std::int64_t total = 0;
  for (auto v : joint) total += v;
  std::vector<ConfusionCounts> out(k);
  for (std::size_t c = 0; c < k; ++c) {
    std::int64_t ref_c = 0, pred_c = 0;
    for (std::size_t j = 0; j < k; ++j) {
      ref_c += joint[c * k + j];
      pred_c += joint[j * k + c];
    }
    auto& o = out[c];
    o.tp = joint[c * k + c];
    o.fn = ref_c - o.tp;
    o.fp = pred_c - o.tp;
    o.tn = total - o.tp - o.fn - o.fp;
  }
  return out;
}

SliceDice slice_dice(const std::uint8_t* prediction, const std::uint8_t* reference,
                     std::array<std::int64_t, 3> dims_ijk, int num_classes) {
  if (dims_ijk[0] < 0 || dims_ijk[1] < 0 || dims_ijk[2] < 0)
    throw Error("slice_dice: negative dimensions " + std::to_string(dims_ijk[0]) + "x" +
                std::to_string(dims_ijk[1]) + "x" + std::to_string(dims_ijk[2]));
  const auto k = static_cast<std::size_t>(num_classes);
  const auto plane = static_cast<std::size_t>(dims_ijk[0] * dims_ijk[1]);
  const auto slices = static_cast<std::size_t>(dims_ijk[2]);
  SliceDice out{std::vector<double>(k, nan_value()), std::vector<double>(k, nan_value())};
  if (slices == 0) return out;
  // Per slice and class: TP, and |P| + |R| = 2TP + FP + FN, over the voxels whose labels are both
  // < num_classes (the voxels confusion_counts counts).
  std::vector<double> sum(k, 0.0);  // of the non-empty slices' Dice; empty-empty ones add 0
  std::vector<std::int64_t> nonempty(k, 0), tp(k), sizes(k);
  for (std::size_t z = 0; z < slices; ++z) {
    std::fill(tp.begin(), tp.end(), 0);
    std::fill(sizes.begin(), sizes.end(), 0);
    const std::uint8_t* p = prediction + z * plane;
    const std::uint8_t* r = reference + z * plane;
    for (std::size_t v = 0; v < plane; ++v) {
      const std::size_t pv = p[v], rv = r[v];
      if (pv >= k || rv >= k) continue;
      ++sizes[pv];
      ++sizes[rv];
      if (pv == rv) ++tp[pv];
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (sizes[c] == 0) continue;  // empty-empty
      sum[c] += 2.0 * static_cast<double>(tp[c]) / static_cast<double>(sizes[c]);
      ++nonempty[c];
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    out.all[c] = sum[c] / static_cast<double>(slices);
    if (nonempty[c] > 0) out.nonempty[c] = sum[c] / static_cast<double>(nonempty[c]);
  }
  return out;
}

std::vector<CaseClassCounts> score_prediction(const std::string& case_id, const std::uint8_t* pred,
                                              const std::uint8_t* ref,
                                              std::array<std::int64_t, 3> dims_ijk,
                                              std::array<double, 3> spacing, int num_classes,
                                              double nsd_tolerance_mm, bool background) {
  if (num_classes < 1 || num_classes > 256)
    throw Error("score_prediction: case '" + case_id + "': num_classes " +
                std::to_string(num_classes) + " is outside 1..256");
  const auto n = static_cast<std::size_t>(dims_ijk[0] * dims_ijk[1] * dims_ijk[2]);
  const SliceDice slices = slice_dice(pred, ref, dims_ijk, num_classes);  // checks the dims
  const auto counts = confusion_counts(pred, ref, n, num_classes);
  const auto with_slices = [&](CaseClassCounts r) {
    r.dsc_slice = slices.all[static_cast<std::size_t>(r.label)];
    r.dsc_slice_nonempty = slices.nonempty[static_cast<std::size_t>(r.label)];
    return r;
  };
  std::vector<CaseClassCounts> out;
  if (background) out.push_back(with_slices(CaseClassCounts{case_id, 0, counts[0]}));
  for (int c = 1; c < num_classes; ++c) {
    CaseClassCounts r = with_slices({case_id, c, counts[static_cast<std::size_t>(c)]});
    const SurfaceMetrics s = surface_metrics_for_label(pred, ref, static_cast<std::uint8_t>(c),
                                                       dims_ijk, spacing, nsd_tolerance_mm);
    r.hd95 = s.hd95;
    r.assd = s.assd;
    r.nsd = s.nsd;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace orch
