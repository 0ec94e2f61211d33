#include "worker/infer/scoring.h"

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

std::vector<CaseClassCounts> score_prediction(const std::string& case_id, const std::uint8_t* pred,
                                              const std::uint8_t* ref,
                                              std::array<std::int64_t, 3> dims_ijk,
                                              std::array<double, 3> spacing, int num_classes,
                                              double nsd_tolerance_mm, bool background) {
  if (num_classes < 1 || num_classes > 256)
    throw Error("score_prediction: case '" + case_id + "': num_classes " +
                std::to_string(num_classes) + " is outside 1..256");
  const auto n = static_cast<std::size_t>(dims_ijk[0] * dims_ijk[1] * dims_ijk[2]);
  const auto counts = confusion_counts(pred, ref, n, num_classes);
  std::vector<CaseClassCounts> out;
  if (background) out.push_back(CaseClassCounts{case_id, 0, counts[0]});
  for (int c = 1; c < num_classes; ++c) {
    CaseClassCounts r{case_id, c, counts[static_cast<std::size_t>(c)]};
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
